// A provider's API keys, used round-robin. A key answered with 429 cools
// down (for the upstream's Retry-After, else an exponential backoff); a key
// answered with 401/403 leaves the rotation until the config is reloaded.
// When no key is usable the provider fails fast, so the gateway falls back.
#ifndef AIGW_PROVIDERS_COMMON_KEY_RING_H_
#define AIGW_PROVIDERS_COMMON_KEY_RING_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace aigw {

class KeyRing {
 public:
  using Clock = std::function<absl::Time()>;

  // `provider` names the provider in logs and errors (never a key).
  KeyRing(std::string provider, std::vector<std::string> keys,
          Clock clock = absl::Now);

  struct Lease {
    int index = -1;  // -1: a keyless provider
    std::string key;
  };
  // The next usable key; ResourceExhausted when every key is cooling down
  // or disabled. A keyless ring always answers an empty lease.
  absl::StatusOr<Lease> Acquire();
  // Feeds the upstream's answer for a lease back: 429 cools the key down,
  // 401/403 disables it, success resets its backoff.
  void Report(const Lease& lease, const absl::Status& result);

  // For redacting keys from upstream errors.
  const std::vector<std::string>& keys() const { return keys_; }

 private:
  struct KeyState {
    absl::Time cool_until = absl::InfinitePast();
    absl::Duration backoff = absl::ZeroDuration();
    bool disabled = false;
  };

  const std::string provider_;
  const std::vector<std::string> keys_;
  const Clock clock_;
  absl::Mutex mu_;
  std::vector<KeyState> states_ ABSL_GUARDED_BY(mu_);
  size_t next_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace aigw

#endif  // AIGW_PROVIDERS_COMMON_KEY_RING_H_
