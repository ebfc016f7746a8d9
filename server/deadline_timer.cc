#include "server/deadline_timer.h"

namespace aigw {

DeadlineTimer::DeadlineTimer() : thread_([this] { Loop(); }) {}

DeadlineTimer::~DeadlineTimer() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  thread_.join();
}

uint64_t DeadlineTimer::Arm(absl::Time when, std::function<void()> callback) {
  absl::MutexLock lock(&mu_);
  uint64_t id = next_id_++;
  pending_.emplace(std::make_pair(when, id), std::move(callback));
  when_[id] = when;
  return id;
}

void DeadlineTimer::Disarm(uint64_t id) {
  absl::MutexLock lock(&mu_);
  auto it = when_.find(id);
  if (it != when_.end()) {
    pending_.erase({it->second, id});
    when_.erase(it);
  }
  auto not_running = [this, id]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return running_ != id;
  };
  mu_.Await(absl::Condition(&not_running));
}

void DeadlineTimer::Loop() {
  absl::MutexLock lock(&mu_);
  while (!stop_) {
    absl::Time next = pending_.empty() ? absl::InfiniteFuture()
                                       : pending_.begin()->first.first;
    absl::Duration wait = std::min(next - absl::Now(), absl::Milliseconds(100));
    if (wait > absl::ZeroDuration()) {
      mu_.AwaitWithTimeout(absl::Condition(&stop_), wait);
      continue;
    }
    auto first = pending_.begin();
    uint64_t id = first->first.second;
    std::function<void()> callback = std::move(first->second);
    pending_.erase(first);
    when_.erase(id);
    running_ = id;
    mu_.Unlock();
    callback();
    mu_.Lock();
    running_ = 0;
  }
}

}  // namespace aigw
