// The client-facing HTTP/1.1 server of the data plane (Boost.Beast) on the
// shared event loops: no thread per connection or stream. It owns what
// every request needs before a handler sees it: bounded heads (431),
// unambiguous framing (400 and close), body limits (413), the head, body,
// idle and write timeouts, keep-alive and pipelining (answered in order),
// and noticing a client that leaves mid-request (its cancel token).
#ifndef AIGW_SERVER_NET_HTTP_SERVER_H_
#define AIGW_SERVER_NET_HTTP_SERVER_H_

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "providers/common/cancel_token.h"
#include "server/config.h"
#include "server/metrics.h"
#include "server/net/io_loops.h"
#include "server/protection/protection_state.h"

namespace aigw {

// Header lines: the name as sent, the value trimmed.
using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  boost::beast::http::request<boost::beast::http::string_body> message;
  std::string peer_ip;
  int peer_port = 0;
  // Who the client is: the peer, or the address X-Forwarded-For names
  // when the peer is a trusted proxy.
  std::string client_ip;

  absl::string_view method() const;
  absl::string_view target() const;
  absl::string_view path() const;  // target without the query
  // The first value of header `name` (any case); "" when absent.
  absl::string_view header(absl::string_view name) const;
  // Every value of header `name`, in order.
  std::vector<absl::string_view> headers(absl::string_view name) const;
  const std::string& body() const { return message.body(); }
};

struct HttpResponse {
  int status = 200;
  HttpHeaders headers;
  std::string body;
  bool close = false;  // ends the connection after this response
};

// What a handler answers through; every call returns false once the
// client is gone (the rest of the exchange should be abandoned).
class HttpResponder {
 public:
  virtual ~HttpResponder() = default;
  // A whole response, with its Content-Length.
  virtual boost::asio::awaitable<bool> Send(HttpResponse response) = 0;
  // A chunked response: the head with `head.body` as its first bytes, then
  // pieces, then the end (its own last bytes, then the final chunk). One
  // socket write each.
  virtual boost::asio::awaitable<bool> StartChunked(HttpResponse head) = 0;
  virtual boost::asio::awaitable<bool> WriteChunk(absl::string_view data) = 0;
  virtual boost::asio::awaitable<bool> EndChunked(absl::string_view last) = 0;
  // The loop this request runs on, and its token: cancelled when the client
  // closes its connection while the request is being handled.
  virtual boost::asio::io_context& loop() = 0;
  virtual const std::shared_ptr<CancelToken>& cancel() = 0;
};

class HttpHandler {
 public:
  virtual ~HttpHandler() = default;
  // Must answer through `responder` (or find the client gone).
  virtual boost::asio::awaitable<void> Handle(HttpRequest& request,
                                              HttpResponder& responder) = 0;
  // The body limit now (limits.max_body_bytes can change on reload).
  virtual size_t MaxBodyBytes() = 0;
  // `protection:` now (timeouts, trusted proxies); read per connection.
  virtual std::shared_ptr<const ProtectionConfig> Protection() = 0;
  // An answer in the handler's format (OpenAI error JSON) for a request
  // the server itself refuses before it could be read: `status` 400, 408,
  // 413 or 431, or 500 when Handle threw.
  virtual HttpResponse Refusal(int status, absl::string_view message) = 0;
  // Answers, through `responder` and as the handler records its requests,
  // one the server refuses once it was read: `status` 429 (the client's
  // request rate or streams in flight) or 503 (overload), to be retried
  // after `retry_after`. The request's own id and trace are kept.
  virtual boost::asio::awaitable<void> Refuse(HttpRequest& request,
                                              HttpResponder& responder,
                                              int status,
                                              absl::string_view message,
                                              absl::Duration retry_after) = 0;
};

class HttpSession;  // http_server.cc

class HttpServer {
 public:
  // `protection` (connection caps, rates, load) and `metrics` are the
  // process's and outlive the server.
  HttpServer(IoLoops& loops, HttpHandler* handler, ProtectionState* protection,
             Metrics* metrics);
  // Closes every connection and waits for their sessions to end.
  ~HttpServer();

  // Binds host:port (port 0 = any free one); returns the port.
  absl::StatusOr<int> Bind(const std::string& host_port);
  void Start();
  // Closes the listening socket and idle keep-alive connections; requests
  // in flight finish and their connections close after them.
  void StopAccepting();
  // Every connection is done (after StopAccepting).
  bool stopped() const;
  int connections() const { return connections_.load(); }

 private:
  friend class HttpSession;
  boost::asio::awaitable<void> AcceptLoop();
  void Register(const std::shared_ptr<HttpSession>& session);
  void Unregister(HttpSession* session);

  IoLoops& loops_;
  // Refuses a connection at accept (a cap, or overload) and closes it.
  void TurnAway(boost::asio::ip::tcp::socket socket, int status,
                absl::string_view message);

  HttpHandler* const handler_;
  ProtectionState* const protection_;
  Metrics* const metrics_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::atomic<bool> accepting_{false};
  std::atomic<bool> accept_loop_done_{true};
  std::atomic<int> connections_{0};
  absl::Mutex mu_;
  absl::flat_hash_map<HttpSession*, std::weak_ptr<HttpSession>> sessions_
      ABSL_GUARDED_BY(mu_);
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace aigw

#endif  // AIGW_SERVER_NET_HTTP_SERVER_H_
