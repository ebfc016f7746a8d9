// The data plane's event loops: a fixed number of threads (`threads:`,
// auto = cores), each running one io_context. Every connection, upstream
// exchange and timer of a request lives on one loop, so its state needs no
// locks.
#ifndef AIGW_SERVER_NET_IO_LOOPS_H_
#define AIGW_SERVER_NET_IO_LOOPS_H_

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <memory>
#include <thread>
#include <vector>

namespace aigw {

class IoLoops {
 public:
  // `threads` <= 0: one per core.
  explicit IoLoops(int threads);
  ~IoLoops();
  IoLoops(const IoLoops&) = delete;
  IoLoops& operator=(const IoLoops&) = delete;

  // Lets every loop's thread go; Stop() ends them (pending work is dropped).
  void Start();
  void Stop();

  int size() const { return static_cast<int>(loops_.size()); }
  boost::asio::io_context& at(int i) { return loops_[i]->context; }
  // Round robin, for work that has no loop of its own yet (gRPC calls).
  boost::asio::io_context& Next();

 private:
  struct Loop {
    boost::asio::io_context context{1};
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type>
        work = boost::asio::make_work_guard(context);
    std::thread thread;
  };
  std::vector<std::unique_ptr<Loop>> loops_;
  std::atomic<unsigned> next_{0};
  bool started_ = false;
};

}  // namespace aigw

#endif  // AIGW_SERVER_NET_IO_LOOPS_H_
