#include "server/net/io_loops.h"

#include <exception>

#include "absl/strings/str_cat.h"
#include "providers/common/log.h"

namespace aigw {

IoLoops::IoLoops(int threads) {
  if (threads <= 0) {
    threads = static_cast<int>(std::thread::hardware_concurrency());
  }
  if (threads <= 0) threads = 1;
  for (int i = 0; i < threads; ++i) loops_.push_back(std::make_unique<Loop>());
}

IoLoops::~IoLoops() { Stop(); }

void IoLoops::Start() {
  if (started_) return;
  started_ = true;
  for (auto& loop : loops_) {
    Loop* raw = loop.get();
    raw->thread = std::thread([raw] {
      // A handler that throws must not end the loop (and every connection
      // on it): log and go on.
      while (true) {
        try {
          raw->context.run();
          return;
        } catch (const std::exception& e) {
          Log(LogLevel::kError, absl::StrCat("event loop: ", e.what()),
              {{"error", e.what()}});
        }
      }
    });
  }
}

void IoLoops::Stop() {
  for (auto& loop : loops_) {
    loop->work.reset();
    loop->context.stop();
  }
  for (auto& loop : loops_) {
    if (loop->thread.joinable()) loop->thread.join();
  }
}

boost::asio::io_context& IoLoops::Next() {
  return loops_[next_.fetch_add(1, std::memory_order_relaxed) % loops_.size()]
      ->context;
}

}  // namespace aigw
