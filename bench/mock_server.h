// The bench's mock upstream server: Boost.Asio + Boost.Beast, event-driven.
//
// Every connection is a chain of asynchronous operations on one
// io_context (read a request with Beast's parser, write the answer, wait on
// an asio::steady_timer between stream steps, read the next request), so
// one thread serves tens of thousands of concurrent streams; with more
// threads calling io_context::run() a connection still has one operation
// in flight at a time and needs no strand. Keep-alive is unlimited, the
// listen backlog is SOMAXCONN, TCP_NODELAY is set. What it answers is in
// mock_protocol.h.

#ifndef AIGW_BENCH_MOCK_SERVER_H_
#define AIGW_BENCH_MOCK_SERVER_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/steady_timer.hpp"

namespace bench::mock {

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;            // 0 = ephemeral
  int delay_ms = 0;        // before an answer (a stream's head and first event)
  int chunks = 10;         // stream steps, see StreamPlan
  int chunk_delay_ms = 0;  // between stream steps
};

struct Counters {
  std::atomic<uint64_t> connections{0};
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> next_id{1};
};

class Server {
 public:
  Server(boost::asio::io_context& io, Options options);

  // Binds and listens; false (with error()) when that fails.
  bool Listen();
  // Starts accepting; connections run on the io_context.
  void Start();
  uint16_t port() const { return port_; }
  const std::string& error() const { return error_; }
  const Options& options() const { return options_; }
  Counters& counters() { return counters_; }

 private:
  void Accept();

  boost::asio::io_context& io_;
  Options options_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer retry_;  // accept back-off after EMFILE & co.
  Counters counters_;
  uint16_t port_ = 0;
  std::string error_;
};

}  // namespace bench::mock

#endif  // AIGW_BENCH_MOCK_SERVER_H_
