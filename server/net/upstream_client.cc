#include "server/net/upstream_client.h"

#include <openssl/ssl.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <chrono>
#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "providers/common/api_error.h"
#include "server/net/response_head.h"

namespace aigw {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

namespace {

constexpr auto kAwait = asio::as_tuple(asio::use_awaitable);

absl::string_view View(boost::core::string_view s) {
  return absl::string_view(s.data(), s.size());
}

SteadyClock::duration ToChrono(absl::Duration d) {
  return std::chrono::duration_cast<SteadyClock::duration>(
      absl::ToChronoNanoseconds(d));
}

}  // namespace

class UpstreamConnection
    : public std::enable_shared_from_this<UpstreamConnection> {
 public:
  UpstreamConnection(asio::io_context& loop, asio::ssl::context* tls)
      : loop_(loop), watchdog_(loop), buffer_(kMaxResponseHead) {
    if (tls != nullptr) {
      secure_.emplace(loop, *tls);
    } else {
      plain_.emplace(loop);
    }
  }

  asio::io_context& loop() { return loop_; }
  tcp::socket& socket() { return secure_ ? secure_->next_layer() : *plain_; }
  std::optional<asio::ssl::stream<tcp::socket>>& secure() { return secure_; }
  beast::flat_buffer& buffer() { return buffer_; }
  std::optional<ResponseParser>& parser() { return parser_; }
  char* body_buffer() { return body_; }

  // The request head and body in one gathered write.
  auto Write(const std::array<asio::const_buffer, 2>& request) {
    return secure_ ? asio::async_write(*secure_, request, kAwait)
                   : asio::async_write(*plain_, request, kAwait);
  }
  auto ReadHeader() {
    return secure_
               ? http::async_read_header(*secure_, buffer_, *parser_, kAwait)
               : http::async_read_header(*plain_, buffer_, *parser_, kAwait);
  }
  auto ReadSome() {
    return secure_ ? http::async_read_some(*secure_, buffer_, *parser_, kAwait)
                   : http::async_read_some(*plain_, buffer_, *parser_, kAwait);
  }

  // The next operation must finish within `d`, else the socket is closed
  // and it fails (timed_out()). One timer per connection, re-armed only
  // when it fires early: arming is a store, not a timer operation.
  void Arm(absl::Duration d) {
    deadline_ = SteadyClock::now() + ToChrono(d);
    if (watching_ && watchdog_.expiry() <= deadline_) return;
    if (watching_) watchdog_.cancel();  // its handler ignores the abort
    Watch();
  }
  void Disarm() { deadline_ = SteadyClock::time_point::max(); }
  // Pooled: the pending wait lets go of the connection now.
  void StopWatching() {
    Disarm();
    if (watching_) watchdog_.cancel();
    watching_ = false;
  }

  // Also lets go of the watchdog's wait, which holds the connection (and
  // its buffers, TLS state) until it fires.
  void Close() {
    StopWatching();
    beast::error_code ignored;
    socket().shutdown(tcp::socket::shutdown_both, ignored);
    socket().close(ignored);
  }
  void Cancel() {
    cancelled_ = true;
    Close();
  }
  bool timed_out() const { return timed_out_; }
  bool cancelled() const { return cancelled_; }

  // Whether the next request may use the connection: open, with nothing
  // unread in our buffer, the TLS session or the socket. Bytes there (a
  // body longer than its Content-Length) would be read as the next,
  // unrelated request's answer; a peer that closed reads too.
  bool Clean() {
    if (!socket().is_open() || buffer_.size() != 0) return false;
    if (secure_ && SSL_pending(secure_->native_handle()) > 0) return false;
    char byte;
    ssize_t n =
        ::recv(socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }

 private:
  void Watch() {
    watching_ = true;
    watchdog_.expires_at(deadline_);
    watchdog_.async_wait(
        [self = shared_from_this()](const beast::error_code& ec) {
          if (ec == asio::error::operation_aborted) return;
          self->watching_ = false;
          if (self->deadline_ == SteadyClock::time_point::max()) return;
          if (SteadyClock::now() >= self->deadline_) {
            self->timed_out_ = true;
            self->Close();
            return;
          }
          self->Watch();
        });
  }

  asio::io_context& loop_;
  std::optional<tcp::socket> plain_;
  std::optional<asio::ssl::stream<tcp::socket>> secure_;
  asio::steady_timer watchdog_;
  SteadyClock::time_point deadline_ = SteadyClock::time_point::max();
  bool watching_ = false;
  bool timed_out_ = false;
  bool cancelled_ = false;
  beast::flat_buffer buffer_;
  std::optional<ResponseParser> parser_;
  char body_[kResponseBodyBuffer];
};

absl::StatusOr<std::shared_ptr<UpstreamPool>> UpstreamPool::Create(
    UpstreamEndpoint endpoint, UpstreamOptions options) {
  std::shared_ptr<UpstreamPool> pool(
      new UpstreamPool(std::move(endpoint), std::move(options)));
  if (pool->endpoint_.tls()) {
    pool->tls_ =
        std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
    beast::error_code ec;
    pool->tls_->set_default_verify_paths(ec);
    // ca_file adds to the system's trust store, never replaces it: a
    // private CA for one proxy must not make public endpoints untrusted.
    if (!pool->options_.ca_file.empty()) {
      pool->tls_->load_verify_file(pool->options_.ca_file, ec);
      if (ec) {
        return absl::InvalidArgumentError(
            absl::StrCat("ca_file: ", pool->options_.ca_file,
                         " does not load: ", ec.message()));
      }
    }
    pool->tls_->set_verify_mode(asio::ssl::verify_peer);
  }
  return pool;
}

UpstreamPool::UpstreamPool(UpstreamEndpoint endpoint, UpstreamOptions options)
    : endpoint_(std::move(endpoint)), options_(std::move(options)) {
  absl::string_view rest = endpoint_.origin;
  rest.remove_prefix(rest.find("://") + 3);
  port_ = endpoint_.tls() ? "443" : "80";
  size_t colon = rest.rfind(':');
  size_t bracket = rest.rfind(']');
  if (colon != absl::string_view::npos &&
      (bracket == absl::string_view::npos || colon > bracket)) {
    port_ = std::string(rest.substr(colon + 1));
    rest = rest.substr(0, colon);
  }
  if (absl::ConsumePrefix(&rest, "[")) absl::ConsumeSuffix(&rest, "]");
  host_ = std::string(rest);
}

// Idle connections have no operation pending: closing them here is safe.
UpstreamPool::~UpstreamPool() {
  absl::MutexLock lock(&mu_);
  for (auto& [loop, connections] : idle_) {
    for (auto& connection : connections) connection->Close();
  }
}

std::shared_ptr<UpstreamConnection> UpstreamPool::TakeIdle(
    asio::io_context& loop) {
  while (true) {
    std::shared_ptr<UpstreamConnection> connection;
    {
      absl::MutexLock lock(&mu_);
      auto it = idle_.find(&loop);
      if (it == idle_.end() || it->second.empty()) return nullptr;
      connection = std::move(it->second.back());
      it->second.pop_back();
    }
    // Checked again at reuse: bytes may have arrived since it was pooled.
    if (connection->Clean()) return connection;
    connection->Close();
  }
}

void UpstreamPool::PutIdle(std::shared_ptr<UpstreamConnection> connection) {
  // Closed here, not left to the last reference: the watchdog's pending
  // wait holds one until it expires (up to the read timeout), and the
  // socket would stay open, and the upstream waiting on it, until then.
  if (!connection->Clean()) {
    connection->Close();
    return;
  }
  connection->parser().reset();
  connection->buffer().shrink_to_fit();
  connection->StopWatching();
  {
    absl::MutexLock lock(&mu_);
    std::vector<std::shared_ptr<UpstreamConnection>>& idle =
        idle_[&connection->loop()];
    if (idle.size() < options_.max_idle_per_loop) {
      idle.push_back(std::move(connection));
      return;
    }
  }
  connection->Close();
}

UpstreamExchange::UpstreamExchange(std::shared_ptr<UpstreamPool> pool,
                                   asio::io_context& loop, CancelToken* cancel)
    : pool_(std::move(pool)), loop_(loop), cancel_(cancel) {}

UpstreamExchange::~UpstreamExchange() {
  if (cancel_ != nullptr) cancel_->ClearCanceller();
  if (connection_ == nullptr) return;
  std::optional<ResponseParser>& parser = connection_->parser();
  // A token cancelled just now may still have its close posted: such a
  // connection must not serve the next request.
  bool late_cancel = cancel_ != nullptr && cancel_->cancelled();
  if (done_ && parser && parser->is_done() && parser->keep_alive() &&
      !connection_->cancelled() && !connection_->timed_out() && !late_cancel) {
    pool_->PutIdle(std::move(connection_));
  } else {
    connection_->Close();
  }
}

absl::Status UpstreamExchange::Failure(const char* stage) const {
  const UpstreamEndpoint& endpoint = pool_->endpoint();
  if (connection_ != nullptr && connection_->cancelled()) {
    return absl::CancelledError("request cancelled: the client went away");
  }
  if (connection_ != nullptr && connection_->timed_out()) {
    bool connecting = absl::string_view(stage) == "connect";
    return UpstreamTimeout(absl::StrCat(
        "no answer from ", endpoint.origin, " within ",
        absl::FormatDuration(connecting ? pool_->options().connect_timeout
                                        : pool_->options().read_timeout)));
  }
  if (absl::string_view(stage) == "body") {
    return UpstreamUnreachable(
        absl::StrCat(endpoint.origin, " closed the connection mid-answer"));
  }
  return UpstreamUnreachable(absl::StrCat(
      endpoint.origin, ": could not ", stage,
      absl::string_view(stage) == "connect" ? " (connection refused or "
                                              "unreachable)"
                                            : ""));
}

void UpstreamExchange::WatchCancel() {
  if (cancel_ == nullptr) return;
  std::weak_ptr<UpstreamConnection> weak = connection_;
  asio::io_context* loop = &loop_;
  cancel_->SetCanceller([weak, loop] {
    asio::post(*loop, [weak] {
      if (auto connection = weak.lock()) connection->Cancel();
    });
  });
}

asio::awaitable<absl::Status> UpstreamExchange::Connect() {
  connection_ = std::make_shared<UpstreamConnection>(loop_, pool_->tls_.get());
  WatchCancel();  // a cancel during DNS, connect or TLS ends them too
  UpstreamConnection& c = *connection_;
  c.Arm(pool_->options().connect_timeout);
  beast::error_code ec;
  asio::ip::address address = asio::ip::make_address(pool_->host_, ec);
  if (!ec) {
    uint16_t port = 0;
    int parsed = 0;
    if (!absl::SimpleAtoi(pool_->port_, &parsed) || parsed <= 0 ||
        parsed > 65535) {
      co_return UpstreamUnreachable(
          absl::StrCat(pool_->endpoint().origin, ": bad port"));
    }
    port = static_cast<uint16_t>(parsed);
    auto [connect_ec] =
        co_await c.socket().async_connect(tcp::endpoint(address, port), kAwait);
    ec = connect_ec;
  } else {
    tcp::resolver resolver(loop_);
    auto [resolve_ec, results] =
        co_await resolver.async_resolve(pool_->host_, pool_->port_, kAwait);
    if (resolve_ec) {
      c.Disarm();
      co_return UpstreamUnreachable(absl::StrCat(pool_->endpoint().origin,
                                                 ": cannot resolve host (",
                                                 resolve_ec.message(), ")"));
    }
    if (c.cancelled() || c.timed_out()) co_return Failure("connect");
    auto [connect_ec, endpoint] =
        co_await asio::async_connect(c.socket(), results, kAwait);
    ec = connect_ec;
  }
  if (ec) co_return Failure("connect");
  c.socket().set_option(tcp::no_delay(true), ec);
  if (c.secure()) {
    asio::ssl::stream<tcp::socket>& tls = *c.secure();
    beast::error_code not_ip;
    asio::ip::make_address(pool_->host_, not_ip);
    if (not_ip)
      SSL_set_tlsext_host_name(tls.native_handle(), pool_->host_.c_str());
    tls.set_verify_callback(asio::ssl::host_name_verification(pool_->host_));
    auto [handshake_ec] =
        co_await tls.async_handshake(asio::ssl::stream_base::client, kAwait);
    if (handshake_ec) {
      if (c.cancelled() || c.timed_out()) co_return Failure("connect");
      co_return UpstreamUnreachable(absl::StrCat(pool_->endpoint().origin,
                                                 ": TLS handshake failed (",
                                                 handshake_ec.message(), ")"));
    }
  }
  c.Disarm();
  co_return absl::OkStatus();
}

asio::awaitable<absl::Status> UpstreamExchange::Start(
    const UpstreamRequest& request) {
  if (cancel_ != nullptr && cancel_->cancelled()) {
    co_return absl::CancelledError("request cancelled before it was sent");
  }
  // Written by hand: the adapter's fields are already what goes out.
  std::string out_head;
  out_head.reserve(256);
  absl::StrAppend(&out_head, request.method, " ",
                  request.path.empty() ? absl::string_view("/")
                                       : absl::string_view(request.path),
                  " HTTP/1.1\r\n");
  absl::string_view host = pool_->endpoint().origin;
  host.remove_prefix(host.find("://") + 3);
  absl::StrAppend(&out_head, "Host: ", host, "\r\n");
  for (const auto& [name, value] : request.headers) {
    if (absl::EqualsIgnoreCase(name, "Host") ||
        absl::EqualsIgnoreCase(name, "Content-Length")) {
      continue;
    }
    absl::StrAppend(&out_head, name, ": ", value, "\r\n");
  }
  if (!request.body.empty() || request.method != "GET") {
    absl::StrAppend(&out_head, "Content-Length: ", request.body.size(), "\r\n");
  }
  out_head.append("\r\n");
  const std::array<asio::const_buffer, 2> req = {asio::buffer(out_head),
                                                 asio::buffer(request.body)};

  // A pooled connection the upstream closed meanwhile fails before any
  // byte of an answer: that one is retried once on a new connection.
  for (int attempt = 0;; ++attempt) {
    connection_ = pool_->TakeIdle(loop_);
    bool reused = connection_ != nullptr;
    if (!reused) {
      absl::Status connected = co_await Connect();
      if (!connected.ok()) co_return connected;
    }
    if (reused) WatchCancel();
    UpstreamConnection& c = *connection_;
    c.buffer().max_size(kMaxResponseHead);  // a pooled one read a body last
    c.Arm(pool_->options().read_timeout);
    auto [write_ec, written] = co_await c.Write(req);
    beast::error_code ec = write_ec;
    bool stale = reused;
    if (!ec) {
      c.parser().emplace();
      ConfigureResponseParser(*c.parser());
      auto [read_ec, read] = co_await c.ReadHeader();
      ec = read_ec;
      stale = reused && !c.parser()->got_some();
    }
    c.Disarm();
    if (!ec) break;
    if (c.cancelled() || c.timed_out() || !stale || attempt > 0) {
      co_return Failure(write_ec ? "send the request" : "read the answer");
    }
    c.Close();
    connection_.reset();
  }

  // The head is in; its body is read a little at a time.
  connection_->buffer().max_size(
      std::max(kResponseBodyBuffer, connection_->buffer().size()));
  const http::response_header<>& head = connection_->parser()->get().base();
  for (const auto& field : head) {
    if (absl::StartsWithIgnoreCase(View(field.name_string()), "x-ratelimit-")) {
      rate_limit_headers_.emplace_back(std::string(View(field.name_string())),
                                       std::string(View(field.value())));
    }
  }
  int status = static_cast<int>(head.result_int());
  if (status >= 200 && status < 300) co_return absl::OkStatus();
  int64_t retry_after_ms = RetryAfterMs(View(head[http::field::retry_after]));
  std::string body;
  while (body.size() < kMaxResponseErrorBody) {
    absl::StatusOr<absl::string_view> piece = co_await Read();
    if (!piece.ok() || piece->empty()) break;
    body.append(piece->data(), piece->size());
  }
  co_return StatusFromUpstreamHttp(status, body, retry_after_ms);
}

asio::awaitable<absl::StatusOr<absl::string_view>> UpstreamExchange::Read() {
  if (done_ || connection_ == nullptr) co_return absl::string_view();
  UpstreamConnection& c = *connection_;
  ResponseParser& parser = *c.parser();
  while (true) {
    if (parser.is_done()) {
      done_ = true;
      co_return absl::string_view();
    }
    parser.get().body().data = c.body_buffer();
    parser.get().body().size = kResponseBodyBuffer;
    c.Arm(pool_->options().read_timeout);
    auto [ec, n] = co_await c.ReadSome();
    c.Disarm();
    size_t got = kResponseBodyBuffer - parser.get().body().size;
    if (ec == http::error::need_buffer) ec = {};
    if (ec) co_return Failure("body");
    if (got > 0) co_return absl::string_view(c.body_buffer(), got);
  }
}

asio::awaitable<absl::StatusOr<std::string>> UpstreamExchange::ReadAll(
    size_t max_bytes) {
  std::string body;
  while (true) {
    absl::StatusOr<absl::string_view> piece = co_await Read();
    if (!piece.ok()) co_return piece.status();
    if (piece->empty()) co_return body;
    if (body.size() + piece->size() > max_bytes) {
      // Named first: a ?: of class temporaries inside co_return is what
      // GCC 12 destroys twice.
      std::string what =
          max_bytes % (1 << 20) == 0
              ? absl::StrCat("the answer exceeds ", max_bytes >> 20, " MiB")
              : absl::StrCat("the answer exceeds ", max_bytes, " bytes");
      co_return MalformedUpstream(what);
    }
    body.append(piece->data(), piece->size());
  }
}

}  // namespace aigw
