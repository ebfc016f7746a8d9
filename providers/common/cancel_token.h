// Lets the consumer of a stream (a front door whose client left) stop the
// producer (a provider blocked on its upstream) from another thread.
#ifndef AIGW_PROVIDERS_COMMON_CANCEL_TOKEN_H_
#define AIGW_PROVIDERS_COMMON_CANCEL_TOKEN_H_

#include <functional>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace aigw {

class CancelToken {
 public:
  // Idempotent. Runs the registered canceller (e.g. closing an upstream
  // socket) once, outside the lock. `reason` is what the cancelled call
  // should report (a timeout says DeadlineExceeded); the default is
  // Cancelled, the client went away.
  void Cancel();
  void Cancel(absl::Status reason);
  bool cancelled() const;
  absl::Status reason() const;
  // What Cancel() must do to unblock the current operation; runs at once if
  // already cancelled. Replaces any previous canceller.
  void SetCanceller(std::function<void()> canceller);
  // Also waits for a canceller that is running right now to finish.
  void ClearCanceller();
  // Sleeps for `d` unless cancelled first; returns false when cancelled.
  bool SleepFor(absl::Duration d);

 private:
  mutable absl::Mutex mu_;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status reason_ ABSL_GUARDED_BY(mu_);
  std::function<void()> canceller_ ABSL_GUARDED_BY(mu_);
  bool canceller_running_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace aigw

#endif  // AIGW_PROVIDERS_COMMON_CANCEL_TOKEN_H_
