// A provider's API keys, used round-robin. A key answered with 429 cools
// down (for the upstream's Retry-After, else an exponential backoff); a key
// answered with 401/403 leaves the rotation until the config is reloaded.
// When no key is usable the provider fails fast, so the gateway falls back.
#ifndef AIGW_PROVIDERS_COMMON_KEY_RING_H_
#define AIGW_PROVIDERS_COMMON_KEY_RING_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "providers/provider.h"

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
    std::string model;  // the upstream model it was acquired for
  };
  // The next key usable for `model` (the upstream model name);
  // ResourceExhausted `keys_exhausted`, with Retry-After until the first key
  // is usable again, when none is. A keyless ring always answers an empty
  // lease.
  absl::StatusOr<Lease> Acquire(absl::string_view model = "");
  // Feeds the upstream's answer for a lease back. Providers rate-limit and
  // grant access per model, so 429 (Retry-After, else a doubling back-off)
  // and 403 cool the key down for the lease's model only. 401 (a bad key)
  // takes it out for every model with a probing back-off: one request may
  // try it after 1 min, then 2, 4, ... 30 min; success restores it.
  void Report(const Lease& lease, const absl::Status& result);
  // Reports `result` and returns it with every key of the ring redacted:
  // what an adapter does with each upstream outcome.
  absl::Status ReportAndRedact(const Lease& lease, const absl::Status& result);
  template <typename T>
  absl::StatusOr<T> ReportAndRedact(const Lease& lease,
                                    absl::StatusOr<T> result) {
    absl::Status status = ReportAndRedact(lease, result.status());
    if (!status.ok()) return status;
    return result;
  }

  // For redacting keys from upstream errors.
  const std::vector<std::string>& keys() const { return keys_; }

 private:
  struct Cooldown {
    absl::Time until = absl::InfinitePast();
    absl::Duration backoff = absl::ZeroDuration();
  };
  struct KeyState {
    Cooldown auth;  // 401: every model
    // While a lease probes a key whose 401 back-off ended; a probe never
    // reported (a request that failed before its upstream call) lapses.
    absl::Time probing_until = absl::InfinitePast();
    std::map<std::string, Cooldown> models;  // 429 and 403, per model
  };

  const std::string provider_;
  const std::vector<std::string> keys_;
  const Clock clock_;
  absl::Mutex mu_;
  std::vector<KeyState> states_ ABSL_GUARDED_BY(mu_);
  size_t next_ ABSL_GUARDED_BY(mu_) = 0;
};

// The ring of a provider's api_keys. With `key_required`, no key is an error
// naming the config key: "api_keys: ...".
absl::StatusOr<std::unique_ptr<KeyRing>> MakeKeyRing(
    const ProviderConfig& config, bool key_required = true);

}  // namespace aigw

#endif  // AIGW_PROVIDERS_COMMON_KEY_RING_H_
