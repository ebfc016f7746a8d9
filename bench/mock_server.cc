#include "bench/mock_server.h"

#include <chrono>
#include <optional>
#include <string_view>
#include <utility>

#include "bench/mock_protocol.h"
#include "boost/asio/write.hpp"
#include "boost/beast/core/flat_buffer.hpp"
#include "boost/beast/http/parser.hpp"
#include "boost/beast/http/read.hpp"
#include "boost/beast/http/string_body.hpp"

namespace bench::mock {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

bool IContains(std::string_view hay, std::string_view needle) {
  if (needle.size() > hay.size()) return false;
  for (size_t i = 0; i + needle.size() <= hay.size(); ++i) {
    if (IEquals(hay.substr(i, needle.size()), needle)) return true;
  }
  return false;
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, const Options& options, Counters& counters)
      : socket_(std::move(socket)),
        timer_(socket_.get_executor()),
        options_(options),
        counters_(counters) {}

  void Start() { Read(); }

 private:
  void Read() {
    parser_.emplace();
    parser_->header_limit(64 * 1024);
    parser_->body_limit(16 * 1024 * 1024);
    http::async_read(socket_, buffer_, *parser_,
                     [self = shared_from_this()](error_code ec, size_t) {
                       self->OnRequest(ec);
                     });
  }

  void OnRequest(error_code ec) {
    if (ec) return Close();  // EOF, reset or a malformed request
    counters_.requests.fetch_add(1, std::memory_order_relaxed);
    const auto& req = parser_->get();
    keep_alive_ = req.keep_alive();
    std::string_view target(req.target().data(), req.target().size());
    std::string_view path = target.substr(0, target.find('?'));
    const std::string& body = req.body();

    if (req.method() == http::verb::get && path == "/healthz") {
      return Send(Simple(200, "OK", "text/plain", "ok\n", keep_alive_));
    }
    const bool post = req.method() == http::verb::post;
    std::optional<Protocol> protocol;
    if (post && EndsWith(path, "/chat/completions")) {
      protocol = Protocol::kOpenAI;
    } else if (post && EndsWith(path, kDashScopeTextPath)) {
      protocol = Protocol::kDashScope;
    }
    if (!protocol) {
      return Send(Simple(404, "Not Found", "application/json",
                         "{\"error\":{\"message\":\"mock: no such route\","
                         "\"type\":\"invalid_request_error\"}}",
                         keep_alive_));
    }
    const uint64_t n =
        counters_.next_id.fetch_add(1, std::memory_order_relaxed);
    bool stream;
    if (*protocol == Protocol::kDashScope) {
      stream = false;
      for (const auto& field : req) {
        if ((IEquals(field.name_string(), "X-DashScope-SSE") &&
             IEquals(field.value(), "enable")) ||
            (field.name() == http::field::accept &&
             IContains(field.value(), "text/event-stream"))) {
          stream = true;
        }
      }
    } else {
      stream = BoolField(body, "stream");
    }
    if (!stream) {
      std::string answer =
          *protocol == Protocol::kDashScope
              ? DashScopeCompletion(RequestId(n))
              : OpenAICompletion(CompletionId(n), ModelField(body));
      std::string wire =
          Simple(200, "OK", "application/json", answer, keep_alive_);
      return After(options_.delay_ms, [this, wire = std::move(wire)]() mutable {
        Send(std::move(wire));
      });
    }
    plan_.emplace(
        *protocol, options_.chunks,
        *protocol == Protocol::kDashScope ? RequestId(n) : CompletionId(n),
        ModelField(body), BoolField(body, "include_usage"));
    step_ = 0;
    After(options_.delay_ms, [this] { WriteStep(); });
  }

  // Runs `fn` after `ms` on the connection's timer (right away for 0).
  template <typename Fn>
  void After(int ms, Fn fn) {
    if (ms <= 0) return fn();
    timer_.expires_after(std::chrono::milliseconds(ms));
    timer_.async_wait(
        [self = shared_from_this(), fn = std::move(fn)](error_code ec) mutable {
          if (!ec) fn();
        });
  }

  void WriteStep() {
    out_.clear();
    if (step_ == 0) {
      out_ = Head(200, "OK", plan_->ContentType(), 0, true, keep_alive_);
    }
    plan_->AppendStep(step_, &out_);
    ++step_;
    asio::async_write(socket_, asio::buffer(out_),
                      [self = shared_from_this()](error_code ec, size_t) {
                        if (ec) return self->Close();
                        if (self->step_ < self->plan_->steps()) {
                          self->After(self->options_.chunk_delay_ms,
                                      [s = self.get()] { s->WriteStep(); });
                        } else {
                          self->Done();
                        }
                      });
  }

  void Send(std::string wire) {
    out_ = std::move(wire);
    asio::async_write(socket_, asio::buffer(out_),
                      [self = shared_from_this()](error_code ec, size_t) {
                        if (ec) return self->Close();
                        self->Done();
                      });
  }

  void Done() {
    if (!keep_alive_) return Close();
    Read();
  }

  void Close() {
    error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
    socket_.close(ignored);
  }

  tcp::socket socket_;
  asio::steady_timer timer_;
  const Options& options_;
  Counters& counters_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<StreamPlan> plan_;
  int step_ = 0;
  bool keep_alive_ = true;
  std::string out_;
};

}  // namespace

Server::Server(asio::io_context& io, Options options)
    : io_(io), options_(std::move(options)), acceptor_(io), retry_(io) {}

bool Server::Listen() {
  error_code ec;
  auto address = asio::ip::make_address(options_.host, ec);
  if (ec) {
    error_ = "bad host " + options_.host;
    return false;
  }
  tcp::endpoint endpoint(address, static_cast<uint16_t>(options_.port));
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    error_ = "cannot listen on " + options_.host + ":" +
             std::to_string(options_.port) + ": " + ec.message();
    return false;
  }
  port_ = acceptor_.local_endpoint().port();
  return true;
}

void Server::Start() { Accept(); }

void Server::Accept() {
  acceptor_.async_accept([this](error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec == asio::error::operation_aborted) return;
      // Out of descriptors or similar: back off briefly, keep serving.
      retry_.expires_after(std::chrono::milliseconds(10));
      retry_.async_wait([this](error_code wait_ec) {
        if (!wait_ec) Accept();
      });
      return;
    }
    counters_.connections.fetch_add(1, std::memory_order_relaxed);
    error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    std::make_shared<Session>(std::move(socket), options_, counters_)->Start();
    Accept();
  });
}

}  // namespace bench::mock
