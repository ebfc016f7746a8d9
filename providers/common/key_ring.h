// A provider's API keys, used round-robin. Providers rate-limit and grant
// access per model, so a 429 (for the upstream's Retry-After, else a
// doubling back-off) or a 403 cools a key down for that upstream model only.
// A 401 (a bad key) takes it out for every model with a probing back-off.
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
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "providers/provider.h"

namespace aigw {

class KeyRing {
 public:
  using Clock = std::function<absl::Time()>;
  // The keys' cool-downs; shared by the rings of successive config
  // snapshots (see MakeKeyRing), so a reload does not forget them.
  struct State;

  // `provider` names the provider in logs and errors (never a key).
  KeyRing(std::string provider, std::vector<std::string> keys,
          Clock clock = absl::Now);
  // A ring over existing `state` (made for the same keys).
  KeyRing(std::string provider, std::vector<std::string> keys,
          std::shared_ptr<State> state, Clock clock = absl::Now);

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
  // Feeds the upstream's answer for a lease back: 429 and 403 cool the key
  // down for the lease's model; 401 takes it out for every model, and after
  // 1 min (then 2, 4, ... at most 30) lets one request probe it; success
  // restores it. Leaving and rejoining the rotation is logged once each.
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

  const std::shared_ptr<State>& state() const { return state_; }

 private:
  const std::string provider_;
  const std::vector<std::string> keys_;
  const Clock clock_;
  const std::shared_ptr<State> state_;
};

// The ring of a provider's api_keys. With `key_required`, no key is an error
// naming the config key: "api_keys: ...". While a ring of a provider with
// the same name, type, base_url and keys is alive (the previous config
// snapshot's, during a reload), the new ring shares its cool-downs; a
// provider whose keys or base_url changed starts afresh.
absl::StatusOr<std::unique_ptr<KeyRing>> MakeKeyRing(
    const ProviderConfig& config, bool key_required = true);

}  // namespace aigw

#endif  // AIGW_PROVIDERS_COMMON_KEY_RING_H_
