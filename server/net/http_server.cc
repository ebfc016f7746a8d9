#include "server/net/http_server.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <chrono>
#include <cstdio>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "providers/common/log.h"
#include "server/http_listener.h"
#include "server/net/request_head.h"
#include "server/protection/client_address.h"

namespace aigw {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

namespace {

constexpr auto kAwait = asio::as_tuple(asio::use_awaitable);
// What the watch read takes at once: a whole small request.
constexpr size_t kWatchRead = 1024;

absl::string_view View(boost::core::string_view s) {
  return absl::string_view(s.data(), s.size());
}

SteadyClock::duration ToChrono(absl::Duration d) {
  return std::chrono::duration_cast<SteadyClock::duration>(
      absl::ToChronoNanoseconds(d));
}

void AppendHead(std::string* out, int status, const HttpHeaders& headers) {
  absl::StrAppend(
      out, "HTTP/1.1 ", status, " ",
      View(http::obsolete_reason(static_cast<http::status>(status))), "\r\n");
  for (const auto& [name, value] : headers) {
    absl::StrAppend(out, name, ": ", value, "\r\n");
  }
}

void AppendChunk(std::string* out, absl::string_view data) {
  if (data.empty()) return;
  char size[24];
  int n = std::snprintf(size, sizeof(size), "%zx\r\n", data.size());
  out->append(size, n);
  out->append(data.data(), data.size());
  out->append("\r\n");
}

// 127.0.0.0/8 (v4-mapped) or ::1.
bool IsLoopback(const IpAddress& ip) {
  const IpAddress::Bytes& b = ip.bytes();
  if (ip.is_v4()) return b[12] == 127;
  for (int i = 0; i < 15; ++i) {
    if (b[i] != 0) return false;
  }
  return b[15] == 1;
}

}  // namespace

absl::string_view HttpRequest::method() const {
  return View(message.method_string());
}

absl::string_view HttpRequest::target() const { return View(message.target()); }

absl::string_view HttpRequest::path() const {
  absl::string_view t = target();
  return t.substr(0, t.find('?'));
}

absl::string_view HttpRequest::header(absl::string_view name) const {
  auto it = message.find(boost::core::string_view(name.data(), name.size()));
  if (it == message.end()) return "";
  return absl::StripAsciiWhitespace(View(it->value()));
}

std::vector<absl::string_view> HttpRequest::headers(
    absl::string_view name) const {
  std::vector<absl::string_view> out;
  auto range =
      message.equal_range(boost::core::string_view(name.data(), name.size()));
  for (auto it = range.first; it != range.second; ++it) {
    out.push_back(absl::StripAsciiWhitespace(View(it->value())));
  }
  return out;
}

class HttpSession : public std::enable_shared_from_this<HttpSession>,
                    public HttpResponder {
 public:
  HttpSession(HttpServer& server, tcp::socket socket, IpAddress peer,
              IpTable::Slot slot)
      : server_(server),
        protection_(server.handler_->Protection()),
        limits_(protection_.get()),
        socket_(std::move(socket)),
        loop_(static_cast<asio::io_context&>(socket_.get_executor().context())),
        peer_(peer),
        connection_slot_(std::move(slot)),
        buffer_(kMaxRequestHeadBytes + 4096),
        watchdog_(loop_),
        event_(loop_) {}

  // `self` keeps the session alive while it runs.
  asio::awaitable<void> Run(std::shared_ptr<HttpSession> self);

  // After StopAccepting: an idle connection closes now, a busy one after
  // its response (which says Connection: close).
  void Drain() {
    draining_ = true;
    if (idle_) Close();
  }
  void Close() {
    beast::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

  asio::awaitable<bool> Send(HttpResponse response) override;
  asio::awaitable<bool> StartChunked(HttpResponse head) override;
  asio::awaitable<bool> WriteChunk(absl::string_view data) override;
  asio::awaitable<bool> EndChunked(absl::string_view last) override;
  asio::io_context& loop() override { return loop_; }
  const std::shared_ptr<CancelToken>& cancel() override { return cancel_; }

 private:
  // The watchdog: one timer per connection, re-armed only when it fires
  // early, so arming it per read or write is a store.
  // `reason` is what a timeout counts as.
  void Arm(absl::Duration d, RejectReason reason) {
    timeout_reason_ = reason;
    deadline_ = SteadyClock::now() + ToChrono(d);
    if (watching_ && watchdog_.expiry() <= deadline_) return;
    if (watching_) watchdog_.cancel();
    Watch();
  }
  void Disarm() { deadline_ = SteadyClock::time_point::max(); }
  void Watch() {
    watching_ = true;
    watchdog_.expires_at(deadline_);
    watchdog_.async_wait([self =
                              shared_from_this()](const beast::error_code& ec) {
      if (ec == asio::error::operation_aborted) return;
      self->watching_ = false;
      if (self->deadline_ == SteadyClock::time_point::max()) return;
      if (SteadyClock::now() >= self->deadline_) {
        self->timed_out_ = true;
        self->Reject(self->timeout_reason_);
        // A request that stopped arriving is told so (408, then the
        // close); a stalled writer or an idle connection is closed.
        bool reading = self->timeout_reason_ == RejectReason::kHeadTimeout ||
                       self->timeout_reason_ == RejectReason::kBodyTimeout;
        if (reading && !self->idle_) {
          beast::error_code ignored;
          self->socket_.cancel(ignored);
        } else {
          self->Close();
        }
        return;
      }
      self->Watch();
    });
  }

  // Counts a refusal (a metric) and tells the offender log (a line per
  // offender and interval). A kept-alive connection closing while idle is
  // counted, never logged.
  void Reject(RejectReason reason) {
    server_.metrics_->RecordProtectionRejected(reason);
    if (reason != RejectReason::kIdleTimeout) {
      server_.protection_->offenders().Record(client_, reason, absl::Now());
    }
  }

  // A read that runs while a request is handled (and while the connection
  // waits for the next one), into the empty buffer: it completes when the
  // client closes (the request is cancelled at once) or sends its next
  // request, whose first bytes it keeps (one recv, not two).
  void StartWatch() {
    watch_pending_ = true;
    watch_done_ = false;
    socket_.async_read_some(
        buffer_.prepare(kWatchRead),
        [self = shared_from_this()](const beast::error_code& ec, size_t n) {
          self->watch_pending_ = false;
          self->watch_done_ = true;
          self->watch_ec_ = ec;
          self->watch_got_ = n;
          if (!ec && n > 0) self->buffer_.commit(n);
          bool left = (ec || n == 0) && ec != asio::error::operation_aborted;
          if (left && self->handling_) {
            self->client_gone_ = true;
            self->cancel_->Cancel();
          }
          self->event_.cancel();
        });
  }
  asio::awaitable<void> WaitWatch() {
    if (!watch_pending_) co_return;
    event_.expires_at(SteadyClock::time_point::max());
    co_await event_.async_wait(kAwait);
  }
  // The watch read's bytes are in the buffer already: done with it.
  void TakeWatchByte() {
    watch_done_ = false;
    watch_got_ = 0;
  }

  asio::awaitable<bool> Write(std::string bytes);
  // Answers a request the server refuses and closes the connection.
  asio::awaitable<void> Refuse(int status, absl::string_view message);
  void AddConnectionHeader(HttpHeaders* headers, bool close);

  HttpServer& server_;
  const std::shared_ptr<const ProtectionConfig> protection_;
  const ProtectionConfig* const limits_;
  tcp::socket socket_;
  asio::io_context& loop_;
  const IpAddress peer_;
  IpAddress client_ = peer_;
  IpTable::Slot connection_slot_;
  RejectReason timeout_reason_ = RejectReason::kHeadTimeout;
  beast::flat_buffer buffer_;
  asio::steady_timer watchdog_;
  SteadyClock::time_point deadline_ = SteadyClock::time_point::max();
  bool watching_ = false;
  bool timed_out_ = false;
  asio::steady_timer event_;
  bool watch_pending_ = false;
  bool watch_done_ = false;
  beast::error_code watch_ec_;
  size_t watch_got_ = 0;
  std::shared_ptr<CancelToken> cancel_ = std::make_shared<CancelToken>();
  bool handling_ = false;
  bool idle_ = false;
  bool draining_ = false;
  bool client_gone_ = false;
  bool close_after_ = false;  // this response ends the connection
  bool head_request_ = false;
  bool http10_ = false;
  bool keep_alive_ = true;  // what the request asked for
  bool responded_ = false;
};

void HttpSession::AddConnectionHeader(HttpHeaders* headers, bool close) {
  if (close || draining_ || !keep_alive_) {
    close_after_ = true;
    headers->emplace_back("Connection", "close");
  } else if (http10_) {
    headers->emplace_back("Connection", "keep-alive");
  }
}

asio::awaitable<bool> HttpSession::Write(std::string bytes) {
  if (client_gone_) co_return false;
  // write_timeout bounds a time without progress: each slice of a large
  // answer gets the whole timeout again.
  constexpr size_t kSlice = 64 * 1024;
  for (size_t offset = 0; offset < bytes.size();) {
    size_t size = std::min(kSlice, bytes.size() - offset);
    Arm(limits_->write_timeout, RejectReason::kWriteTimeout);
    auto [ec, n] = co_await asio::async_write(
        socket_, asio::buffer(bytes.data() + offset, size), kAwait);
    Disarm();
    if (ec) {
      client_gone_ = true;
      cancel_->Cancel();
      co_return false;
    }
    offset += n;
  }
  co_return true;
}

asio::awaitable<bool> HttpSession::Send(HttpResponse response) {
  responded_ = true;
  std::string out;
  out.reserve(256 + response.body.size());
  AddConnectionHeader(&response.headers, response.close);
  if (response.status != 204 && response.status != 304) {
    response.headers.emplace_back("Content-Length",
                                  std::to_string(response.body.size()));
  }
  AppendHead(&out, response.status, response.headers);
  out.append("\r\n");
  if (!head_request_) out.append(response.body);
  co_return co_await Write(std::move(out));
}

asio::awaitable<bool> HttpSession::StartChunked(HttpResponse head) {
  responded_ = true;
  std::string out;
  // An HTTP/1.0 client cannot read chunks: the body ends with the
  // connection.
  AddConnectionHeader(&head.headers, head.close || http10_);
  if (!http10_) head.headers.emplace_back("Transfer-Encoding", "chunked");
  AppendHead(&out, head.status, head.headers);
  out.append("\r\n");
  if (http10_) {
    out.append(head.body);
  } else {
    AppendChunk(&out, head.body);
  }
  co_return co_await Write(std::move(out));
}

asio::awaitable<bool> HttpSession::WriteChunk(absl::string_view data) {
  if (data.empty()) co_return !client_gone_;
  std::string out;
  if (http10_) {
    out.assign(data.data(), data.size());
  } else {
    out.reserve(data.size() + 16);
    AppendChunk(&out, data);
  }
  co_return co_await Write(std::move(out));
}

asio::awaitable<bool> HttpSession::EndChunked(absl::string_view last) {
  std::string out;
  if (http10_) {
    out.assign(last.data(), last.size());
  } else {
    AppendChunk(&out, last);
    out.append("0\r\n\r\n");
  }
  co_return co_await Write(std::move(out));
}

asio::awaitable<void> HttpSession::Refuse(int status,
                                          absl::string_view message) {
  HttpResponse response = server_.handler_->Refusal(status, message);
  response.close = true;
  co_await Send(std::move(response));
}

asio::awaitable<void> HttpSession::Run(std::shared_ptr<HttpSession> self) {
  beast::error_code ec;
  tcp::endpoint peer = socket_.remote_endpoint(ec);
  std::string peer_ip = ec ? "" : peer.address().to_string();
  int peer_port = ec ? 0 : peer.port();
  bool first = true;
  while (!client_gone_ && socket_.is_open()) {
    // Wait for a request's first byte: the head timeout on a new
    // connection, the idle timeout between kept-alive requests.
    if (buffer_.size() == 0) {
      if (!watch_pending_ && !watch_done_) StartWatch();
      if (draining_) break;
      idle_ = true;
      if (first) {
        Arm(limits_->head_timeout, RejectReason::kHeadTimeout);
      } else {
        Arm(limits_->idle_timeout, RejectReason::kIdleTimeout);
      }
      co_await WaitWatch();
      idle_ = false;
      Disarm();
      if (watch_ec_ || watch_got_ == 0) break;  // closed, or timed out
      TakeWatchByte();
    } else if (watch_done_) {
      TakeWatchByte();
    }
    first = false;
    responded_ = false;
    close_after_ = false;
    timed_out_ = false;
    head_request_ = false;
    http10_ = false;
    keep_alive_ = true;
    cancel_ = std::make_shared<CancelToken>();

    buffer_.max_size(kMaxRequestHeadBytes + 4096);  // a body read cut it
    RequestParser parser;
    ConfigureRequestParser(parser);
    Arm(limits_->head_timeout, RejectReason::kHeadTimeout);
    auto [head_ec, head_n] =
        co_await http::async_read_header(socket_, buffer_, parser, kAwait);
    Disarm();
    if (head_ec) {
      if (timed_out_ && head_ec == asio::error::operation_aborted) {
        co_await Refuse(408, "The request head did not arrive in time.");
      } else if (head_ec == http::error::header_limit) {
        Reject(RejectReason::kHeadTooLarge);
        {
          std::string message = absl::StrCat("The request head exceeds ",
                                             kMaxRequestHeadBytes, " bytes.");
          co_await Refuse(431, message);
        }
      } else if (head_ec != http::error::end_of_stream &&
                 head_ec != asio::error::eof &&
                 head_ec != asio::error::connection_reset &&
                 head_ec != http::error::partial_message &&
                 head_ec != asio::error::operation_aborted) {
        Reject(RejectReason::kBadFraming);
        std::string message =
            absl::StrCat("Malformed request: ", head_ec.message(), ".");
        co_await Refuse(400, message);
      }
      break;
    }
    const http::request_header<>& head = parser.get().base();
    http10_ = head.version() < 11;
    head_request_ = head.method() == http::verb::head;
    keep_alive_ = parser.get().keep_alive();
    size_t max_body = server_.handler_->MaxBodyBytes();
    HeadVerdict verdict = CheckRequestHead(parser, max_body);
    if (verdict.status != 0) {
      // A body over the limit is a plain 413, not an offense.
      if (verdict.status != 413) Reject(verdict.reason);
      co_await Refuse(verdict.status, verdict.message);
      break;
    }
    parser.body_limit(max_body);
    // The body is read through a few KiB at a time: Beast re-scans an open
    // quoted chunk extension over the whole buffer on every read, which a
    // client dribbling bytes into a 64 KiB buffer makes quadratic.
    buffer_.max_size(std::max<size_t>(8192, buffer_.size()));
    if (!parser.is_done()) {
      if (absl::EqualsIgnoreCase(View(head[http::field::expect]),
                                 "100-continue")) {
        std::string proceed = "HTTP/1.1 100 Continue\r\n\r\n";
        if (!co_await Write(std::move(proceed))) break;
      }
      Arm(limits_->body_timeout, RejectReason::kBodyTimeout);
      auto [body_ec, body_n] =
          co_await http::async_read(socket_, buffer_, parser, kAwait);
      Disarm();
      if (body_ec) {
        if (timed_out_ && body_ec == asio::error::operation_aborted) {
          co_await Refuse(408, "The request body did not arrive in time.");
        } else if (body_ec == http::error::body_limit) {
          {
            std::string message = absl::StrCat(
                "Request body exceeds the limit "
                "of ",
                max_body, " bytes.");
            co_await Refuse(413, message);
          }
        } else if (body_ec != http::error::end_of_stream &&
                   body_ec != asio::error::eof &&
                   body_ec != asio::error::connection_reset) {
          {
            std::string message = absl::StrCat(
                "Malformed request body: ", body_ec.message(), ".");
            co_await Refuse(400, message);
          }
        }
        break;
      }
    }
    HttpRequest request;
    request.message = parser.release();
    request.peer_ip = peer_ip;
    request.peer_port = peer_port;
    bool keep_alive = request.message.keep_alive();
    if (buffer_.size() == 0) buffer_.shrink_to_fit();

    // Who the client is (behind trusted proxies), and whether it may be
    // served now: not when the process is near its descriptor or memory
    // limit, over its request rate, or at its cap of requests in flight.
    std::vector<absl::string_view> forwarded =
        request.headers("X-Forwarded-For");
    client_ = ClientAddress(peer_, absl::MakeConstSpan(forwarded),
                            limits_->trusted_proxies);
    request.client_ip = client_.ToString();
    bool exempt = limits_->exempt_loopback && IsLoopback(client_);
    IpTable::Slot stream_slot;
    int refused = 0;
    std::string refusal;
    absl::Duration retry_after = absl::Seconds(1);
    if (std::optional<LoadShedder::Pressure> pressure =
            server_.protection_->load().Overloaded()) {
      Reject(RejectReason::kOverload);
      refused = 503;
      refusal = absl::StrCat("The gateway is overloaded (",
                             PressureName(*pressure), "); retry shortly.");
    } else if (RequestRateLimiter::Decision rate =
                   exempt ? RequestRateLimiter::Decision()
                          : server_.protection_->request_rate().Admit(
                                client_, absl::Now());
               !rate.ok) {
      Reject(RejectReason::kRequestRate);
      refused = 429;
      refusal = "Too many requests from this address; slow down.";
      retry_after = rate.retry_after;
    } else if (!exempt) {
      stream_slot = server_.protection_->clients().OpenStream(client_);
      if (!stream_slot.ok()) {
        Reject(stream_slot.reason());
        refused = 429;
        refusal = "Too many requests in flight from this address.";
      }
    }
    if (refused != 0) {
      // Read already: the handler answers it (keeping its request id) and
      // records it. A request that did not ask to keep the connection
      // closes it (keep_alive_).
      co_await server_.handler_->Refuse(request, *this, refused, refusal,
                                        retry_after);
      if (client_gone_ || close_after_ || !responded_) break;
      continue;
    }

    // While the request is handled, a client that closes cancels it.
    if (buffer_.size() == 0 && !watch_pending_) StartWatch();
    handling_ = true;
    bool failed = false;
    try {
      co_await server_.handler_->Handle(request, *this);
    } catch (const std::exception& e) {
      Log(LogLevel::kError,
          absl::StrCat("internal error serving ", request.method(), " ",
                       request.path(), ": ", e.what()),
          {{"method", request.method()},
           {"path", request.path()},
           {"error", e.what()}});
      failed = true;
    }
    if (failed && !responded_) {
      HttpResponse failure = server_.handler_->Refusal(500, "Internal error.");
      failure.close = true;
      co_await Send(std::move(failure));
    }
    handling_ = false;
    // After a failure the response may be cut mid-body: no next request.
    if (failed || client_gone_ || close_after_ || !keep_alive || !responded_) {
      break;
    }
    // A pipelined request already in the buffer comes next: the watch read
    // must end first (one read at a time).
    if (watch_pending_ && buffer_.size() > 0) {
      beast::error_code ignored;
      socket_.cancel(ignored);
      co_await WaitWatch();
    }
    if (watch_done_ && watch_ec_ &&
        watch_ec_ != asio::error::operation_aborted) {
      break;
    }
  }
  // The last bytes (an error answer) reach the client before the close.
  beast::error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_send, ignored);
  if (watch_pending_) {
    socket_.cancel(ignored);
    co_await WaitWatch();
  }
  Close();
  watchdog_.cancel();
  server_.Unregister(this);
}

HttpServer::HttpServer(IoLoops& loops, HttpHandler* handler,
                       ProtectionState* protection, Metrics* metrics)
    : loops_(loops),
      handler_(handler),
      protection_(protection),
      metrics_(metrics),
      acceptor_(loops.at(0)) {}

void HttpServer::TurnAway(tcp::socket socket, int status,
                          absl::string_view message) {
  HttpResponse answer = handler_->Refusal(status, message);
  std::string out;
  answer.headers.emplace_back("Retry-After", "1");
  answer.headers.emplace_back("Connection", "close");
  answer.headers.emplace_back("Content-Length",
                              std::to_string(answer.body.size()));
  AppendHead(&out, answer.status, answer.headers);
  out.append("\r\n");
  out.append(answer.body);
  // A new socket's send buffer is empty: this small write does not block.
  beast::error_code ignored;
  socket.non_blocking(true, ignored);
  socket.write_some(asio::buffer(out), ignored);
  socket.shutdown(tcp::socket::shutdown_both, ignored);
  socket.close(ignored);
}

HttpServer::~HttpServer() {
  StopAccepting();
  {
    absl::MutexLock lock(&mu_);
    for (auto& [raw, weak] : sessions_) {
      if (std::shared_ptr<HttpSession> session = weak.lock()) {
        asio::post(session->loop(), [session] { session->Close(); });
      }
    }
  }
  while (connections_.load() > 0 || !accept_loop_done_.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

absl::StatusOr<int> HttpServer::Bind(const std::string& host_port) {
  std::string host;
  int port = 0;
  if (!SplitHostPort(host_port, &host, &port)) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", host_port, "' is not HOST:PORT"));
  }
  beast::error_code ec;
  asio::ip::address address = asio::ip::make_address(host, ec);
  if (ec) {
    tcp::resolver resolver(loops_.at(0));
    auto results = resolver.resolve(host, std::to_string(port), ec);
    if (ec || results.empty()) {
      return absl::UnavailableError(
          absl::StrCat("cannot listen on ", host_port, ": unknown host"));
    }
    address = results.begin()->endpoint().address();
  }
  tcp::endpoint endpoint(address, static_cast<uint16_t>(port));
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", host_port,
                                               ": address in use or "
                                               "not available"));
  }
  return acceptor_.local_endpoint().port();
}

void HttpServer::Start() {
  accepting_ = true;
  accept_loop_done_ = false;
  asio::co_spawn(loops_.at(0), AcceptLoop(), asio::detached);
}

asio::awaitable<void> HttpServer::AcceptLoop() {
  asio::steady_timer pause(loops_.at(0));
  while (accepting_.load()) {
    asio::io_context& loop = loops_.Next();
    auto [ec, socket] = co_await acceptor_.async_accept(loop, kAwait);
    if (ec) {
      if (!accepting_.load() || ec == asio::error::operation_aborted ||
          ec == asio::error::bad_descriptor) {
        break;
      }
      // Out of descriptors: a short pause instead of a busy loop.
      pause.expires_after(std::chrono::milliseconds(20));
      co_await pause.async_wait(kAwait);
      continue;
    }
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    tcp::endpoint remote = socket.remote_endpoint(ignored);
    IpAddress peer = IpAddress::FromSockaddr(remote.data())
                         .value_or(IpAddress::FromV4Bytes({0, 0, 0, 0}));
    // Overload and the connection caps are decided before any byte is read.
    if (std::optional<LoadShedder::Pressure> pressure =
            protection_->load().Overloaded()) {
      metrics_->RecordProtectionRejected(RejectReason::kOverload);
      protection_->offenders().Record(peer, RejectReason::kOverload,
                                      absl::Now());
      TurnAway(std::move(socket), 503,
               absl::StrCat("The gateway is overloaded (",
                            PressureName(*pressure), "); retry shortly."));
      continue;
    }
    std::shared_ptr<const ProtectionConfig> config = handler_->Protection();
    bool exempt = config->exempt_loopback && IsLoopback(peer);
    IpTable::Slot slot = protection_->clients().OpenConnection(
        peer, exempt || config->trusted_proxies.Contains(peer));
    if (!slot.ok()) {
      metrics_->RecordProtectionRejected(slot.reason());
      protection_->offenders().Record(peer, slot.reason(), absl::Now());
      bool global = slot.reason() == RejectReason::kMaxConnections;
      TurnAway(std::move(socket), global ? 503 : 429,
               global ? "The gateway is at its connection limit; retry "
                        "shortly."
                      : "Too many connections from this address.");
      continue;
    }
    auto session = std::make_shared<HttpSession>(*this, std::move(socket), peer,
                                                 std::move(slot));
    Register(session);
    asio::co_spawn(loop, session->Run(session), asio::detached);
  }
  accept_loop_done_ = true;
}

void HttpServer::StopAccepting() {
  bool was = accepting_.exchange(false);
  if (was) {
    asio::post(loops_.at(0), [this] {
      beast::error_code ignored;
      acceptor_.close(ignored);
    });
  }
  absl::MutexLock lock(&mu_);
  draining_ = true;
  for (auto& [raw, weak] : sessions_) {
    if (std::shared_ptr<HttpSession> session = weak.lock()) {
      asio::post(session->loop(), [session] { session->Drain(); });
    }
  }
}

bool HttpServer::stopped() const {
  return !accepting_.load() && accept_loop_done_.load() &&
         connections_.load() == 0;
}

void HttpServer::Register(const std::shared_ptr<HttpSession>& session) {
  connections_.fetch_add(1);
  metrics_->ConnectionOpened();
  absl::MutexLock lock(&mu_);
  sessions_[session.get()] = session;
  if (draining_) {
    asio::post(session->loop(), [session] { session->Drain(); });
  }
}

void HttpServer::Unregister(HttpSession* session) {
  {
    absl::MutexLock lock(&mu_);
    sessions_.erase(session);
  }
  metrics_->ConnectionClosed();
  connections_.fetch_sub(1);
}

}  // namespace aigw
