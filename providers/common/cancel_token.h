// Lets the consumer of a stream (a front door whose client left) stop the
// producer (a provider blocked on its upstream) from another thread.
#ifndef AIGW_PROVIDERS_COMMON_CANCEL_TOKEN_H_
#define AIGW_PROVIDERS_COMMON_CANCEL_TOKEN_H_

#include <functional>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace aigw {

class CancelToken {
 public:
  // Idempotent. Runs the registered canceller (e.g. closing an upstream
  // socket) once, outside the lock.
  void Cancel();
  bool cancelled() const;
  // What Cancel() must do to unblock the current operation; runs at once if
  // already cancelled. Replaces any previous canceller.
  void SetCanceller(std::function<void()> canceller);
  void ClearCanceller();
  // Sleeps for `d` unless cancelled first; returns false when cancelled.
  bool SleepFor(absl::Duration d);

 private:
  mutable absl::Mutex mu_;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  std::function<void()> canceller_ ABSL_GUARDED_BY(mu_);
};

}  // namespace aigw

#endif  // AIGW_PROVIDERS_COMMON_CANCEL_TOKEN_H_
