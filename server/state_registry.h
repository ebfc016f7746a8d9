// State that must outlive a config reload (circuit breakers, limiter
// stores), kept beside the snapshots rather than inside them. An entry
// lives as long as some snapshot holds it: a reload builds the new
// snapshot while the old one still serves, finds the entry under the same
// key and shares it; state whose key no config names any more goes away
// with the last snapshot that used it.
#ifndef AIGW_SERVER_STATE_REGISTRY_H_
#define AIGW_SERVER_STATE_REGISTRY_H_

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace aigw {

class StateRegistry {
 public:
  // The live object under `key`, or a new one from `make`. One key holds
  // one type: callers put the type in the key ("breaker/...").
  template <typename T>
  std::shared_ptr<T> GetOrCreate(
      const std::string& key, const std::function<std::shared_ptr<T>()>& make) {
    absl::MutexLock lock(&mu_);
    for (auto it = entries_.begin(); it != entries_.end();) {
      it = it->second.expired() ? entries_.erase(it) : std::next(it);
    }
    // The last owner may let go without the lock: lock() decides.
    auto found = entries_.find(key);
    if (found != entries_.end()) {
      if (std::shared_ptr<void> live = found->second.lock()) {
        return std::static_pointer_cast<T>(live);
      }
    }
    std::shared_ptr<T> made = make();
    entries_[key] = made;
    return made;
  }

 private:
  absl::Mutex mu_;
  std::map<std::string, std::weak_ptr<void>> entries_ ABSL_GUARDED_BY(mu_);
};

}  // namespace aigw

#endif  // AIGW_SERVER_STATE_REGISTRY_H_
