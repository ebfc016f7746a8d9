// Skips a provider that keeps failing. Closed: requests flow and failures in
// a row are counted. Open (after `failures` in a row): requests skip the
// provider for `cooldown`. Half-open (cooldown over): one live request
// probes it; success closes the breaker, failure opens it again.
#ifndef AIGW_SERVER_CIRCUIT_BREAKER_H_
#define AIGW_SERVER_CIRCUIT_BREAKER_H_

#include <functional>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace aigw {

class CircuitBreaker {
 public:
  using Clock = std::function<absl::Time()>;
  enum class State { kClosed, kOpen, kHalfOpen };

  CircuitBreaker(int failures, absl::Duration cooldown,
                 Clock clock = absl::Now);

  // Whether a request may use the provider now. In half-open state only
  // the first caller gets true (the probe) until its result is recorded.
  bool Allow();
  void RecordSuccess();
  void RecordFailure();
  // An outcome that says nothing about the provider (the client left): it
  // only frees the half-open probe slot.
  void RecordNeutral();
  State state() const;
  // How long until a request may try the provider again (a rejected
  // caller's Retry-After): the rest of the cooldown when open, a second
  // while a half-open probe runs, zero when closed.
  absl::Duration RetryAfter() const;

 private:
  const int failures_to_open_;
  const absl::Duration cooldown_;
  const Clock clock_;
  mutable absl::Mutex mu_;
  State state_ ABSL_GUARDED_BY(mu_) = State::kClosed;
  int failures_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time open_until_ ABSL_GUARDED_BY(mu_);
  bool probing_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace aigw

#endif  // AIGW_SERVER_CIRCUIT_BREAKER_H_
