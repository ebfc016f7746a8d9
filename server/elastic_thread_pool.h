// A thread pool that grows with demand. Streams are long-lived, so a fixed
// pool would cap concurrent streams at its size (cpp-httplib's default is
// 8); idle threads are reused and exit after a while.
#ifndef AIGW_SERVER_ELASTIC_THREAD_POOL_H_
#define AIGW_SERVER_ELASTIC_THREAD_POOL_H_

#include <deque>
#include <functional>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "httplib.h"

namespace aigw {

class ElasticThreadPool : public httplib::TaskQueue {
 public:
  explicit ElasticThreadPool(size_t max_threads,
                             absl::Duration idle_exit = absl::Seconds(60));
  ~ElasticThreadPool() override;

  void enqueue(std::function<void()> task) override;
  // Runs the queued tasks, then waits for every thread to exit.
  void shutdown() override;

  size_t threads() const;

 private:
  void WorkerLoop();

  const size_t max_threads_;
  const absl::Duration idle_exit_;
  mutable absl::Mutex mu_;
  std::deque<std::function<void()>> tasks_ ABSL_GUARDED_BY(mu_);
  size_t threads_ ABSL_GUARDED_BY(mu_) = 0;
  size_t idle_ ABSL_GUARDED_BY(mu_) = 0;
  bool shutdown_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace aigw

#endif  // AIGW_SERVER_ELASTIC_THREAD_POOL_H_
