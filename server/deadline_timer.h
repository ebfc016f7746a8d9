// One thread that runs callbacks at deadlines (first-byte and total
// timeouts cancel upstream calls with it). Cheap to arm and disarm.
#ifndef AIGW_SERVER_DEADLINE_TIMER_H_
#define AIGW_SERVER_DEADLINE_TIMER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace aigw {

class DeadlineTimer {
 public:
  DeadlineTimer();
  ~DeadlineTimer();

  // Runs `callback` on the timer thread at `when`, unless disarmed first.
  uint64_t Arm(absl::Time when, std::function<void()> callback);
  // After Disarm() returns the callback is not running and never will.
  void Disarm(uint64_t id);

 private:
  void Loop();

  absl::Mutex mu_;
  std::map<std::pair<absl::Time, uint64_t>, std::function<void()>> pending_
      ABSL_GUARDED_BY(mu_);
  std::map<uint64_t, absl::Time> when_ ABSL_GUARDED_BY(mu_);
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  uint64_t running_ ABSL_GUARDED_BY(mu_) = 0;  // id of the callback running
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace aigw

#endif  // AIGW_SERVER_DEADLINE_TIMER_H_
