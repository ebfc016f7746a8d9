#include "server/circuit_breaker.h"

#include <algorithm>

namespace aigw {

CircuitBreaker::CircuitBreaker(int failures, absl::Duration cooldown,
                               Clock clock)
    : failures_to_open_(failures),
      cooldown_(cooldown),
      clock_(std::move(clock)) {}

bool CircuitBreaker::Allow() {
  absl::MutexLock lock(&mu_);
  switch (state_) {
    case State::kClosed:
      return true;
    case State::kOpen:
      if (clock_() < open_until_) return false;
      state_ = State::kHalfOpen;
      probing_ = true;
      return true;
    case State::kHalfOpen:
      if (probing_) return false;
      probing_ = true;
      return true;
  }
  return true;
}

void CircuitBreaker::RecordSuccess() {
  absl::MutexLock lock(&mu_);
  state_ = State::kClosed;
  failures_ = 0;
  probing_ = false;
}

void CircuitBreaker::RecordFailure() {
  absl::MutexLock lock(&mu_);
  probing_ = false;
  if (state_ == State::kHalfOpen || ++failures_ >= failures_to_open_) {
    state_ = State::kOpen;
    open_until_ = clock_() + cooldown_;
    failures_ = 0;
  }
}

void CircuitBreaker::RecordNeutral() {
  absl::MutexLock lock(&mu_);
  probing_ = false;
}

CircuitBreaker::State CircuitBreaker::state() const {
  absl::MutexLock lock(&mu_);
  return state_;
}

absl::Duration CircuitBreaker::RetryAfter() const {
  absl::MutexLock lock(&mu_);
  switch (state_) {
    case State::kClosed:
      return absl::ZeroDuration();
    case State::kOpen:
      return std::max(open_until_ - clock_(), absl::ZeroDuration());
    case State::kHalfOpen:
      return probing_ ? absl::Seconds(1) : absl::ZeroDuration();
  }
  return absl::ZeroDuration();
}

}  // namespace aigw
