#include "server/elastic_thread_pool.h"

#include <thread>

namespace aigw {

ElasticThreadPool::ElasticThreadPool(size_t max_threads,
                                     absl::Duration idle_exit)
    : max_threads_(max_threads), idle_exit_(idle_exit) {}

ElasticThreadPool::~ElasticThreadPool() { shutdown(); }

void ElasticThreadPool::enqueue(std::function<void()> task) {
  absl::MutexLock lock(&mu_);
  tasks_.push_back(std::move(task));
  // Every queued task needs a thread of its own: a task may block for the
  // whole life of a stream.
  if (idle_ < tasks_.size() && threads_ < max_threads_ && !shutdown_) {
    ++threads_;
    std::thread([this] { WorkerLoop(); }).detach();
  }
}

void ElasticThreadPool::shutdown() {
  absl::MutexLock lock(&mu_);
  shutdown_ = true;
  auto all_exited = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return threads_ == 0;
  };
  mu_.Await(absl::Condition(&all_exited));
}

size_t ElasticThreadPool::threads() const {
  absl::MutexLock lock(&mu_);
  return threads_;
}

void ElasticThreadPool::WorkerLoop() {
  absl::MutexLock lock(&mu_);
  auto has_work = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !tasks_.empty() || shutdown_;
  };
  for (;;) {
    ++idle_;
    bool woke = mu_.AwaitWithTimeout(absl::Condition(&has_work), idle_exit_);
    --idle_;
    if (tasks_.empty()) {
      if (shutdown_ || !woke) break;
      continue;
    }
    std::function<void()> task = std::move(tasks_.front());
    tasks_.pop_front();
    mu_.Unlock();
    task();
    task = nullptr;
    mu_.Lock();
  }
  --threads_;
}

}  // namespace aigw
