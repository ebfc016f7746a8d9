// The data plane's HTTP/1.1 client (Boost.Beast): kept-alive connections
// to one upstream origin, plain or TLS (verified against the system's
// trust store plus an optional CA file), pooled per event loop. An
// exchange reads its answer piece by piece as the caller asks for it, so
// a caller that stops asking (a slow client) stops the upstream too.
#ifndef AIGW_SERVER_NET_UPSTREAM_CLIENT_H_
#define AIGW_SERVER_NET_UPSTREAM_CLIENT_H_

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "providers/common/cancel_token.h"
#include "providers/upstream_request.h"

namespace aigw {

struct UpstreamOptions {
  absl::Duration connect_timeout = absl::Seconds(10);  // TCP + TLS
  absl::Duration read_timeout = absl::Seconds(300);    // max silence
  std::string ca_file;  // added to the system's trust store
  size_t max_idle_per_loop = 64;
};

class UpstreamConnection;  // upstream_client.cc

class UpstreamPool {
 public:
  // Errors: a CA file that does not load ("ca_file: ...").
  static absl::StatusOr<std::shared_ptr<UpstreamPool>> Create(
      UpstreamEndpoint endpoint, UpstreamOptions options);
  ~UpstreamPool();

  const UpstreamEndpoint& endpoint() const { return endpoint_; }
  const UpstreamOptions& options() const { return options_; }

 private:
  friend class UpstreamExchange;
  UpstreamPool(UpstreamEndpoint endpoint, UpstreamOptions options);

  // An idle connection of `loop` with nothing unread, or null.
  std::shared_ptr<UpstreamConnection> TakeIdle(boost::asio::io_context& loop);
  void PutIdle(std::shared_ptr<UpstreamConnection> connection);

  const UpstreamEndpoint endpoint_;
  const UpstreamOptions options_;
  std::string host_;  // without brackets
  std::string port_;
  std::unique_ptr<boost::asio::ssl::context> tls_;  // null: plain HTTP
  absl::Mutex mu_;
  absl::flat_hash_map<boost::asio::io_context*,
                      std::vector<std::shared_ptr<UpstreamConnection>>>
      idle_ ABSL_GUARDED_BY(mu_);
};

// One request and its answer, on the calling coroutine's loop. `cancel`
// (may be null) aborts it from any thread: the socket is closed on its
// loop and the pending operation fails.
class UpstreamExchange {
 public:
  UpstreamExchange(std::shared_ptr<UpstreamPool> pool,
                   boost::asio::io_context& loop, CancelToken* cancel);
  // Pools the connection when its answer was read to the end.
  ~UpstreamExchange();
  UpstreamExchange(const UpstreamExchange&) = delete;
  UpstreamExchange& operator=(const UpstreamExchange&) = delete;

  // Sends `request` and reads the answer's head. A non-2xx answer is read
  // whole and returned as the gateway error for it (with its Retry-After).
  // Connect failures are 502, silence past the timeouts 504.
  boost::asio::awaitable<absl::Status> Start(const UpstreamRequest& request);

  // The answer's x-ratelimit-* headers (after Start).
  const std::vector<std::pair<std::string, std::string>>& rate_limit_headers()
      const {
    return rate_limit_headers_;
  }

  // The next piece of the 2xx body; empty at its end. The view is valid
  // until the next call.
  boost::asio::awaitable<absl::StatusOr<absl::string_view>> Read();
  // The rest of the body; over `max_bytes` is a malformed answer (502).
  boost::asio::awaitable<absl::StatusOr<std::string>> ReadAll(
      size_t max_bytes = 64 << 20);

 private:
  boost::asio::awaitable<absl::Status> Connect();
  // Lets `cancel_` close the current connection, from any thread.
  void WatchCancel();
  // A failure of the connection, as the client's status.
  absl::Status Failure(const char* stage) const;

  std::shared_ptr<UpstreamPool> pool_;
  boost::asio::io_context& loop_;
  CancelToken* const cancel_;
  std::shared_ptr<UpstreamConnection> connection_;
  std::vector<std::pair<std::string, std::string>> rate_limit_headers_;
  bool done_ = false;
};

}  // namespace aigw

#endif  // AIGW_SERVER_NET_UPSTREAM_CLIENT_H_
