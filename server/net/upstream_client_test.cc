// The data plane's upstream client against real loopback upstreams (cpp-
// httplib servers, and raw sockets for byte-exact misbehaviour): pooling,
// errors, timeouts, cancellation, body limits, stale connections and TLS.
#include "server/net/upstream_client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "httplib.h"
#include "providers/common/api_error.h"

namespace aigw {
namespace {

namespace asio = boost::asio;

// Runs `task` on `loop` from this thread until it is done. Work it leaves
// (a pooled connection's watchdog) waits for the next call.
template <typename T>
T Run(asio::io_context& loop, asio::awaitable<T> task) {
  std::optional<T> result;
  std::exception_ptr error;
  bool done = false;
  asio::co_spawn(loop, std::move(task), [&](std::exception_ptr e, T value) {
    error = e;
    if (!e) result.emplace(std::move(value));
    done = true;
  });
  loop.restart();
  while (!done && loop.run_one() > 0) {
  }
  if (error) std::rethrow_exception(error);
  EXPECT_TRUE(done);
  return std::move(*result);
}

struct Answer {
  absl::Status status;
  std::string body;
  std::vector<std::pair<std::string, std::string>> rate_limit_headers;
};

// One exchange: Start, then the whole body.
asio::awaitable<Answer> Exchange(std::shared_ptr<UpstreamPool> pool,
                                 asio::io_context& loop,
                                 UpstreamRequest request, CancelToken* cancel,
                                 size_t max_bytes) {
  UpstreamExchange exchange(pool, loop, cancel);
  Answer answer;
  answer.status = co_await exchange.Start(request);
  answer.rate_limit_headers = exchange.rate_limit_headers();
  if (!answer.status.ok()) co_return answer;
  absl::StatusOr<std::string> body = co_await exchange.ReadAll(max_bytes);
  if (body.ok()) {
    answer.body = *std::move(body);
  } else {
    answer.status = body.status();
  }
  co_return answer;
}

// A pool and the loop its connections live on.
class Client {
 public:
  explicit Client(const std::string& origin, UpstreamOptions options = {}) {
    absl::StatusOr<UpstreamEndpoint> endpoint = ParseBaseUrl(origin);
    EXPECT_TRUE(endpoint.ok()) << endpoint.status();
    absl::StatusOr<std::shared_ptr<UpstreamPool>> pool =
        UpstreamPool::Create(*endpoint, std::move(options));
    EXPECT_TRUE(pool.ok()) << pool.status();
    if (pool.ok()) pool_ = *pool;
  }

  Answer Send(const UpstreamRequest& request, CancelToken* cancel = nullptr,
              size_t max_bytes = 64 << 20) {
    return aigw::Run(loop_, Exchange(pool_, loop_, request, cancel, max_bytes));
  }
  template <typename T>
  T Run(asio::awaitable<T> task) {
    return aigw::Run(loop_, std::move(task));
  }

  asio::io_context& loop() { return loop_; }
  const std::shared_ptr<UpstreamPool>& pool() const { return pool_; }

 private:
  asio::io_context loop_{1};  // outlives the pool's sockets
  std::shared_ptr<UpstreamPool> pool_;
};

// A real upstream on an ephemeral loopback port, served on its own thread.
class LocalServer {
 public:
  explicit LocalServer(std::unique_ptr<httplib::Server> server)
      : server_(std::move(server)) {
    port_ = server_->bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_->listen_after_bind(); });
    while (!server_->is_running()) std::this_thread::yield();
  }
  ~LocalServer() {
    server_->stop();
    thread_.join();
  }
  int port() const { return port_; }
  std::string url(const char* scheme = "http") const {
    return absl::StrCat(scheme, "://127.0.0.1:", port_);
  }

 private:
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

UpstreamRequest Post(const std::string& path) {
  UpstreamRequest request;
  request.path = path;
  request.body = "{}";
  request.headers.emplace("Content-Type", "application/json");
  return request;
}

// A port nothing listens on: bound, then closed again.
int ClosedPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  int port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

TEST(UpstreamClient, KeepAliveReusesOneConnection) {
  auto server = std::make_unique<httplib::Server>();
  std::set<int> client_ports;
  std::vector<std::string> hosts, bodies, queries;
  std::mutex mu;
  server->Post("/x", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu);
    client_ports.insert(req.remote_port);
    hosts.push_back(req.get_header_value("Host"));
    bodies.push_back(req.body);
    queries.push_back(req.get_param_value("n"));
    res.set_content("ok", "text/plain");
  });
  LocalServer upstream(std::move(server));
  Client client(upstream.url());
  for (int i = 0; i < 5; ++i) {
    Answer answer = client.Send(Post(absl::StrCat("/x?n=", i)));
    ASSERT_TRUE(answer.status.ok()) << answer.status;
    EXPECT_EQ(answer.body, "ok");
  }
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(client_ports.size(), 1u);
  EXPECT_EQ(hosts.back(), absl::StrCat("127.0.0.1:", upstream.port()));
  EXPECT_EQ(bodies.back(), "{}");
  EXPECT_EQ(queries, (std::vector<std::string>{"0", "1", "2", "3", "4"}));
}

TEST(UpstreamClient, ErrorStatusBecomesGatewayErrorWithRetryAfter) {
  auto server = std::make_unique<httplib::Server>();
  std::set<int> client_ports;
  std::mutex mu;
  server->Post("/x", [&](const httplib::Request& req, httplib::Response& res) {
    {
      std::lock_guard<std::mutex> lock(mu);
      client_ports.insert(req.remote_port);
    }
    res.status = 429;
    res.set_header("Retry-After", "7");
    res.set_header("x-ratelimit-remaining-requests", "0");
    res.set_header("X-RateLimit-Reset-Requests", "7s");
    res.set_header("x-other", "not relayed");
    res.set_content(R"({"error":{"message":"slow down","type":"requests"}})",
                    "application/json");
  });
  server->Post("/ok", [&](const httplib::Request& req, httplib::Response& res) {
    {
      std::lock_guard<std::mutex> lock(mu);
      client_ports.insert(req.remote_port);
    }
    res.set_content("fine", "text/plain");
  });
  LocalServer upstream(std::move(server));
  Client client(upstream.url());
  Answer answer = client.Send(Post("/x"));
  EXPECT_EQ(answer.status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(answer.status.message(), "slow down");
  EXPECT_EQ(GetErrorDetails(answer.status).http_status, 429);
  EXPECT_EQ(GetErrorDetails(answer.status).retry_after_ms, 7000);
  EXPECT_TRUE(answer.body.empty());
  EXPECT_EQ(answer.rate_limit_headers,
            (std::vector<std::pair<std::string, std::string>>{
                {"x-ratelimit-remaining-requests", "0"},
                {"X-RateLimit-Reset-Requests", "7s"}}));
  // The error body was read whole: the connection serves the next call.
  answer = client.Send(Post("/ok"));
  ASSERT_TRUE(answer.status.ok()) << answer.status;
  EXPECT_EQ(answer.body, "fine");
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(client_ports.size(), 1u);
}

TEST(UpstreamClient, UnauthorizedIsTheUpstreamsMessage) {
  auto server = std::make_unique<httplib::Server>();
  server->Post("/x", [](const httplib::Request&, httplib::Response& res) {
    res.status = 401;
    res.set_content(R"({"error":{"message":"bad key"}})", "application/json");
  });
  LocalServer upstream(std::move(server));
  Client client(upstream.url());
  Answer answer = client.Send(Post("/x"));
  EXPECT_EQ(answer.status.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(answer.status.message(), "bad key");
  EXPECT_LT(GetErrorDetails(answer.status).retry_after_ms, 0);
}

TEST(UpstreamClient, RefusedConnectionIs502) {
  Client client(absl::StrCat("http://127.0.0.1:", ClosedPort()));
  Answer answer = client.Send(Post("/x"));
  EXPECT_EQ(answer.status.code(), absl::StatusCode::kUnavailable)
      << answer.status;
  EXPECT_EQ(GetErrorDetails(answer.status).http_status, 502);
}

TEST(UpstreamClient, UnresolvableHostIs502) {
  Client client("http://no-such-host.invalid:1");
  Answer answer = client.Send(Post("/x"));
  EXPECT_EQ(answer.status.code(), absl::StatusCode::kUnavailable)
      << answer.status;
  EXPECT_EQ(GetErrorDetails(answer.status).http_status, 502);
}

TEST(UpstreamClient, SilentUpstreamIs504AfterReadTimeout) {
  auto server = std::make_unique<httplib::Server>();
  server->Post("/x", [](const httplib::Request&, httplib::Response& res) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    res.set_content("late", "text/plain");
  });
  LocalServer upstream(std::move(server));
  UpstreamOptions options;
  options.read_timeout = absl::Milliseconds(300);
  Client client(upstream.url(), options);
  absl::Time start = absl::Now();
  Answer answer = client.Send(Post("/x"));
  absl::Duration took = absl::Now() - start;
  EXPECT_EQ(answer.status.code(), absl::StatusCode::kDeadlineExceeded)
      << answer.status;
  EXPECT_EQ(GetErrorDetails(answer.status).http_status, 504);
  EXPECT_GE(took, absl::Milliseconds(250));
  EXPECT_LT(took, absl::Milliseconds(1200));
}

// Reads a stream until its end, counting the pieces; stops after `limit`
// pieces (a cancel that never lands) with Internal.
asio::awaitable<absl::Status> ReadStream(std::shared_ptr<UpstreamPool> pool,
                                         asio::io_context& loop,
                                         UpstreamRequest request,
                                         CancelToken* cancel,
                                         std::atomic<int>* pieces, int limit) {
  UpstreamExchange exchange(pool, loop, cancel);
  absl::Status status = co_await exchange.Start(request);
  if (!status.ok()) co_return status;
  while (pieces->load() < limit) {
    absl::StatusOr<absl::string_view> piece = co_await exchange.Read();
    if (!piece.ok()) co_return piece.status();
    if (piece->empty()) co_return absl::OkStatus();
    pieces->fetch_add(1);
  }
  co_return absl::InternalError("the stream was never cancelled");
}

TEST(UpstreamClient, CancelFromAnotherThreadClosesTheConnectionMidStream) {
  auto server = std::make_unique<httplib::Server>();
  absl::Notification upstream_saw_close;
  server->Post("/stream", [&](const httplib::Request&, httplib::Response& res) {
    res.set_chunked_content_provider(
        "text/event-stream", [&](size_t, httplib::DataSink& sink) {
          for (;;) {
            if (!sink.write("data: x\n\n", 9)) break;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
          }
          upstream_saw_close.Notify();
          return false;
        });
  });
  LocalServer upstream(std::move(server));
  Client client(upstream.url());
  CancelToken cancel;
  std::atomic<int> pieces{0};
  absl::Time cancelled_at;
  std::thread canceller([&] {
    while (pieces.load() < 2) std::this_thread::yield();
    cancelled_at = absl::Now();
    cancel.Cancel();
  });
  absl::Status status = client.Run(ReadStream(
      client.pool(), client.loop(), Post("/stream"), &cancel, &pieces, 1000));
  absl::Time returned = absl::Now();
  canceller.join();
  EXPECT_EQ(status.code(), absl::StatusCode::kCancelled) << status;
  EXPECT_LT(returned - cancelled_at, absl::Milliseconds(500));
  EXPECT_TRUE(
      upstream_saw_close.WaitForNotificationWithTimeout(absl::Seconds(1)));
}

TEST(UpstreamClient, AlreadyCancelledTokenSendsNothing) {
  auto server = std::make_unique<httplib::Server>();
  std::atomic<int> requests{0};
  server->Post("/x", [&](const httplib::Request&, httplib::Response& res) {
    requests++;
    res.set_content("ok", "text/plain");
  });
  LocalServer upstream(std::move(server));
  Client client(upstream.url());
  CancelToken cancel;
  cancel.Cancel();
  Answer answer = client.Send(Post("/x"), &cancel);
  EXPECT_EQ(answer.status.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(requests.load(), 0);
}

// The body arrives piece by piece: the first is handed over while the
// upstream still holds the rest back.
TEST(UpstreamClient, ReadHandsOverEachPieceAsItArrives) {
  auto server = std::make_unique<httplib::Server>();
  absl::Notification client_got_first;
  std::atomic<bool> waited_in_vain{false};
  server->Post("/stream", [&](const httplib::Request&, httplib::Response& res) {
    res.set_chunked_content_provider(
        "text/event-stream", [&](size_t, httplib::DataSink& sink) {
          sink.write("first;", 6);
          if (!client_got_first.WaitForNotificationWithTimeout(
                  absl::Seconds(5))) {
            waited_in_vain = true;
          }
          sink.write("second", 6);
          sink.done();
          return true;
        });
  });
  LocalServer upstream(std::move(server));
  Client client(upstream.url());
  std::vector<std::string> pieces;
  auto read = [&]() -> asio::awaitable<absl::Status> {
    UpstreamExchange exchange(client.pool(), client.loop(), nullptr);
    UpstreamRequest request = Post("/stream");
    absl::Status started = co_await exchange.Start(request);
    if (!started.ok()) co_return started;
    while (true) {
      absl::StatusOr<absl::string_view> piece = co_await exchange.Read();
      if (!piece.ok()) co_return piece.status();
      if (piece->empty()) co_return absl::OkStatus();
      pieces.emplace_back(*piece);
      if (!client_got_first.HasBeenNotified()) client_got_first.Notify();
    }
  };
  absl::Status status = client.Run(read());
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_FALSE(waited_in_vain.load());
  ASSERT_GE(pieces.size(), 2u);
  EXPECT_EQ(pieces.front(), "first;");
  EXPECT_EQ(absl::StrJoin(pieces, ""), "first;second");
}

TEST(UpstreamClient, ReadAllCollectsChunkedAndContentLengthBodies) {
  auto server = std::make_unique<httplib::Server>();
  server->Post("/chunked", [](const httplib::Request&, httplib::Response& res) {
    res.set_chunked_content_provider(
        "application/json", [](size_t, httplib::DataSink& sink) {
          for (const char* piece : {R"({"a":)", "1", "}"}) {
            sink.write(piece, std::strlen(piece));
          }
          sink.done();
          return true;
        });
  });
  std::string big(100 * 1000, 'x');  // many body reads
  server->Post("/length", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(big, "text/plain");
  });
  LocalServer upstream(std::move(server));
  Client client(upstream.url());
  Answer chunked = client.Send(Post("/chunked"));
  ASSERT_TRUE(chunked.status.ok()) << chunked.status;
  EXPECT_EQ(chunked.body, R"({"a":1})");
  Answer length = client.Send(Post("/length"));
  ASSERT_TRUE(length.status.ok()) << length.status;
  EXPECT_EQ(length.body, big);
}

TEST(UpstreamClient, ReadAllRejectsABodyOverTheLimit) {
  auto server = std::make_unique<httplib::Server>();
  server->Post("/x", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(2 << 20, 'x'), "text/plain");
  });
  LocalServer upstream(std::move(server));
  Client client(upstream.url());
  Answer answer = client.Send(Post("/x"), nullptr, /*max_bytes=*/1 << 20);
  ASSERT_FALSE(answer.status.ok());
  EXPECT_EQ(GetErrorDetails(answer.status).http_status, 502);
  EXPECT_EQ(answer.status.message(),
            "upstream sent a malformed answer: the answer exceeds 1 MiB");
  answer = client.Send(Post("/x"), nullptr, /*max_bytes=*/1000);
  EXPECT_EQ(answer.status.message(),
            "upstream sent a malformed answer: the answer exceeds 1000 bytes");
  // Exactly at the limit is fine.
  answer = client.Send(Post("/x"), nullptr, /*max_bytes=*/2 << 20);
  ASSERT_TRUE(answer.status.ok()) << answer.status;
  EXPECT_EQ(answer.body.size(), 2u << 20);
}

TEST(UpstreamClient, MissingCaFileIsAConfigError) {
  UpstreamOptions options;
  options.ca_file = "/nonexistent/ca.pem";
  absl::StatusOr<std::shared_ptr<UpstreamPool>> pool = UpstreamPool::Create(
      *ParseBaseUrl("https://127.0.0.1:1"), std::move(options));
  ASSERT_FALSE(pool.ok());
  EXPECT_TRUE(absl::StartsWith(pool.status().message(), "ca_file: "))
      << pool.status();
}

// A listening socket on an ephemeral loopback port.
struct LoopbackListener {
  LoopbackListener() {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    socklen_t len = sizeof(addr);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
    ::listen(fd, 8);
  }
  // Makes a blocked accept() return an error.
  void Close() {
    ::shutdown(fd, SHUT_RDWR);
    ::close(fd);
  }
  int fd = -1;
  int port = 0;
};

// Removes one whole request (head and Content-Length body) from the front
// of `buffer`; false while it has not all arrived.
bool TakeRequest(std::string* buffer) {
  size_t end = buffer->find("\r\n\r\n");
  if (end == std::string::npos) return false;
  std::string head = absl::AsciiStrToLower(buffer->substr(0, end));
  size_t length_at = head.find("content-length: ");
  size_t body = 0;
  if (length_at != std::string::npos) {
    body = std::stoul(head.substr(length_at + 16));
  }
  if (buffer->size() < end + 4 + body) return false;
  buffer->erase(0, end + 4 + body);
  return true;
}

// In a RawUpstream answer: a pause, so what follows arrives as a separate
// read (as a late, unsolicited answer would)...
constexpr char kPause = '\x01';
// ...and the upstream closing the connection (what follows is not sent).
constexpr char kClose = '\x02';

// A raw upstream that answers the requests it receives with the given
// bytes, one string per request whatever connection it came on, and counts
// the connections it accepted.
class RawUpstream {
 public:
  explicit RawUpstream(std::vector<std::string> answers)
      : answers_(std::move(answers)) {
    thread_ = std::thread([this] { Serve(); });
  }
  ~RawUpstream() {
    listener_.Close();
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (int c : clients_) ::shutdown(c, SHUT_RDWR);
    }
    thread_.join();
    for (int c : clients_) ::close(c);
  }
  std::string url() const {
    return absl::StrCat("http://127.0.0.1:", listener_.port);
  }
  int connections() const { return connections_.load(); }

 private:
  void Serve() {
    size_t next = 0;
    while (true) {
      int c = ::accept(listener_.fd, nullptr, nullptr);
      if (c < 0) return;
      connections_++;
      {
        std::lock_guard<std::mutex> lock(mu_);
        clients_.push_back(c);
      }
      std::string buffer;
      char chunk[4096];
      bool open = true;
      while (open && next < answers_.size()) {
        ssize_t n = ::recv(c, chunk, sizeof(chunk), 0);
        if (n <= 0) break;
        buffer.append(chunk, n);
        while (open && next < answers_.size() && TakeRequest(&buffer)) {
          for (absl::string_view part :
               absl::StrSplit(answers_[next++], kPause)) {
            size_t close_at = part.find(kClose);
            ::send(c, part.data(), std::min(part.size(), close_at),
                   MSG_NOSIGNAL);
            if (close_at != absl::string_view::npos) {
              ::shutdown(c, SHUT_RDWR);
              open = false;
              break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
          }
        }
      }
    }
  }

  std::vector<std::string> answers_;
  LoopbackListener listener_;
  std::atomic<int> connections_{0};
  std::mutex mu_;
  std::vector<int> clients_;
  std::thread thread_;
};

// A body without a length ends where the upstream closes the connection;
// that connection is not pooled.
TEST(UpstreamClient, BodyUntilCloseIsReadToTheEnd) {
  RawUpstream upstream({
      std::string("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil") +
          kPause + " the end" + kClose,
      "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond",
  });
  Client client(upstream.url());
  Answer first = client.Send(Post("/a"));
  ASSERT_TRUE(first.status.ok()) << first.status;
  EXPECT_EQ(first.body, "until the end");
  Answer second = client.Send(Post("/b"));
  ASSERT_TRUE(second.status.ok()) << second.status;
  EXPECT_EQ(second.body, "second");
  EXPECT_EQ(upstream.connections(), 2);
}

// The upstream closed a kept-alive connection just as the next request
// arrived on it (its idle timeout): no byte of an answer came, so the
// request is sent again on a new connection, once.
TEST(UpstreamClient, PooledConnectionClosedUnderTheRequestIsRetriedOnce) {
  RawUpstream upstream({
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst",
      std::string(1, kClose),
      "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond",
  });
  Client client(upstream.url());
  Answer first = client.Send(Post("/a"));
  ASSERT_TRUE(first.status.ok()) << first.status;
  EXPECT_EQ(first.body, "first");
  Answer second = client.Send(Post("/b"));
  ASSERT_TRUE(second.status.ok()) << second.status;
  EXPECT_EQ(second.body, "second");
  EXPECT_EQ(upstream.connections(), 2);
}

TEST(UpstreamClient, RetryOfAStaleConnectionHappensOnlyOnce) {
  RawUpstream upstream({
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst",
      std::string(1, kClose),
      std::string(1, kClose),
  });
  Client client(upstream.url());
  ASSERT_TRUE(client.Send(Post("/a")).status.ok());
  Answer second = client.Send(Post("/b"));
  EXPECT_EQ(second.status.code(), absl::StatusCode::kUnavailable)
      << second.status;
  EXPECT_EQ(GetErrorDetails(second.status).http_status, 502);
  EXPECT_EQ(upstream.connections(), 2);
}

// A new connection that closes without an answer is the upstream's
// failure, not a stale pool: no retry.
TEST(UpstreamClient, NewConnectionClosedWithoutAnAnswerIsNotRetried) {
  RawUpstream upstream({
      std::string(1, kClose),
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
  });
  Client client(upstream.url());
  Answer answer = client.Send(Post("/a"));
  EXPECT_EQ(answer.status.code(), absl::StatusCode::kUnavailable)
      << answer.status;
  EXPECT_EQ(upstream.connections(), 1);
}

// The upstream closed the idle connection well before the next request:
// the pool sees it and connects anew.
TEST(UpstreamClient, IdleConnectionTheUpstreamClosedIsNotUsed) {
  RawUpstream upstream({
      std::string("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst") +
          kPause + kClose,
      "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond",
  });
  Client client(upstream.url());
  Answer first = client.Send(Post("/a"));
  ASSERT_TRUE(first.status.ok()) << first.status;
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  Answer second = client.Send(Post("/b"));
  ASSERT_TRUE(second.status.ok()) << second.status;
  EXPECT_EQ(second.body, "second");
  EXPECT_EQ(upstream.connections(), 2);
}

// The body is longer than its Content-Length: the leftover bytes must not
// become the next request's answer (another client's content).
TEST(UpstreamClient, ConnectionWithLeftoverBytesIsNeverReused) {
  RawUpstream upstream({
      std::string("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst") +
          kPause +
          "SECRET-OF-A"
          "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstale",
      "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond",
  });
  Client client(upstream.url());
  Answer first = client.Send(Post("/a"));
  ASSERT_TRUE(first.status.ok()) << first.status;
  EXPECT_EQ(first.body, "first");
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  Answer second = client.Send(Post("/b"));
  ASSERT_TRUE(second.status.ok()) << second.status;
  EXPECT_EQ(second.body, "second");
  EXPECT_EQ(upstream.connections(), 2);
}

// An unsolicited response arriving while the connection sits idle.
TEST(UpstreamClient, IdleConnectionThatReceivedBytesIsDropped) {
  RawUpstream upstream({
      std::string("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok") + kPause +
          "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstale",
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfresh",
  });
  Client client(upstream.url());
  EXPECT_EQ(client.Send(Post("/a")).body, "ok");
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  EXPECT_EQ(client.Send(Post("/b")).body, "fresh");
  EXPECT_EQ(upstream.connections(), 2);
}

// The same in one read: whatever was buffered past the answer must not be
// served to the next request.
TEST(UpstreamClient, LeftoverBytesInTheSameReadNeverAnswerTheNextRequest) {
  RawUpstream upstream({
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst"
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstale",
      "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond",
  });
  Client client(upstream.url());
  EXPECT_EQ(client.Send(Post("/a")).body, "first");
  // The unusable connection is closed at once (this upstream serves one
  // connection at a time), not when its watchdog's wait runs out.
  absl::Time start = absl::Now();
  Answer second = client.Send(Post("/b"));
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  ASSERT_TRUE(second.status.ok()) << second.status;
  EXPECT_EQ(second.body, "second");
}

// A broken chunked body is an upstream error, and the connection it came on
// is closed, not pooled.
TEST(UpstreamClient, FramingErrorClosesTheConnection) {
  RawUpstream upstream({
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nbad\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond",
  });
  Client client(upstream.url());
  Answer first = client.Send(Post("/a"));
  EXPECT_EQ(first.status.code(), absl::StatusCode::kUnavailable)
      << first.status;
  Answer second = client.Send(Post("/b"));
  ASSERT_TRUE(second.status.ok()) << second.status;
  EXPECT_EQ(second.body, "second");
  EXPECT_EQ(upstream.connections(), 2);
}

// An answer cut short by the read timeout leaves its rest in flight: the
// connection is closed, never handed to the next request.
TEST(UpstreamClient, IncompleteAnswerClosesTheConnection) {
  RawUpstream upstream({
      "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello",
      "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond",
  });
  UpstreamOptions options;
  options.read_timeout = absl::Milliseconds(300);
  Client client(upstream.url(), options);
  Answer first = client.Send(Post("/a"));
  EXPECT_EQ(first.status.code(), absl::StatusCode::kDeadlineExceeded)
      << first.status;
  Answer second = client.Send(Post("/b"));
  ASSERT_TRUE(second.status.ok()) << second.status;
  EXPECT_EQ(second.body, "second");
  EXPECT_EQ(upstream.connections(), 2);
}

// A self-signed certificate for `san` (e.g. "IP:127.0.0.1"), made with the
// openssl CLI in the test's temporary directory.
struct Certificate {
  std::string cert, key;
};
Certificate MakeCertificate(const std::string& name, const std::string& san) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  std::string dir = tmp != nullptr ? tmp : "/tmp";
  Certificate made{absl::StrCat(dir, "/", name, ".crt"),
                   absl::StrCat(dir, "/", name, ".key")};
  std::string cmd = absl::StrCat(
      "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=", name,
      san.empty() ? "" : absl::StrCat(" -addext subjectAltName=", san),
      " -keyout ", made.key, " -out ", made.cert, " >/dev/null 2>&1");
  EXPECT_EQ(std::system(cmd.c_str()), 0) << "openssl is needed";
  return made;
}

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    certificate_ = MakeCertificate("aigw-test", "IP:127.0.0.1");
    Serve(certificate_);
  }
  void Serve(const Certificate& certificate) {
    upstream_.reset();
    auto server = std::make_unique<httplib::SSLServer>(certificate.cert.c_str(),
                                                       certificate.key.c_str());
    ASSERT_TRUE(server->is_valid());
    server->Post("/x",
                 [this](const httplib::Request& req, httplib::Response& res) {
                   std::lock_guard<std::mutex> lock(mu_);
                   client_ports_.insert(req.remote_port);
                   res.set_content("secure", "text/plain");
                 });
    upstream_ = std::make_unique<LocalServer>(std::move(server));
    origin_ = upstream_->url("https");
  }
  size_t connections() {
    std::lock_guard<std::mutex> lock(mu_);
    return client_ports_.size();
  }

  Certificate certificate_;
  std::string origin_;
  std::mutex mu_;
  std::set<int> client_ports_;
  std::unique_ptr<LocalServer> upstream_;
};

TEST_F(TlsTest, UntrustedCertificateIsRejected) {
  Client client(origin_);
  Answer answer = client.Send(Post("/x"));
  EXPECT_EQ(answer.status.code(), absl::StatusCode::kUnavailable)
      << answer.status;
  EXPECT_EQ(GetErrorDetails(answer.status).http_status, 502);
  EXPECT_TRUE(absl::StrContains(answer.status.message(), "TLS handshake"))
      << answer.status;
  EXPECT_TRUE(answer.body.empty());
  EXPECT_EQ(connections(), 0u);
}

TEST_F(TlsTest, TrustedCertificateWorksAndConnectionIsReused) {
  UpstreamOptions options;
  options.ca_file = certificate_.cert;
  Client client(origin_, options);
  for (int i = 0; i < 3; ++i) {
    Answer answer = client.Send(Post("/x"));
    ASSERT_TRUE(answer.status.ok()) << answer.status;
    EXPECT_EQ(answer.body, "secure");
  }
  EXPECT_EQ(connections(), 1u);  // one TLS handshake for three calls
}

// Trusted, but issued for another name than the one dialled.
TEST_F(TlsTest, CertificateForAnotherHostIsRejected) {
  Certificate other = MakeCertificate("other-host", "DNS:other.example");
  Serve(other);
  UpstreamOptions options;
  options.ca_file = other.cert;
  Client client(origin_, options);
  Answer answer = client.Send(Post("/x"));
  EXPECT_EQ(answer.status.code(), absl::StatusCode::kUnavailable)
      << answer.status;
  EXPECT_TRUE(absl::StrContains(answer.status.message(), "TLS handshake"))
      << answer.status;
  EXPECT_EQ(connections(), 0u);
}

// ca_file adds a CA: the system store (here SSL_CERT_FILE, which OpenSSL's
// default paths honour) still verifies the upstream.
TEST_F(TlsTest, CaFileAddsToTheSystemTrustStore) {
  Certificate other = MakeCertificate("other-ca", "");
  ASSERT_EQ(setenv("SSL_CERT_FILE", certificate_.cert.c_str(), 1), 0);
  UpstreamOptions options;
  options.ca_file = other.cert;  // does not sign the upstream's certificate
  Client client(origin_, options);
  unsetenv("SSL_CERT_FILE");
  Answer answer = client.Send(Post("/x"));
  ASSERT_TRUE(answer.status.ok()) << answer.status;
  EXPECT_EQ(answer.body, "secure");
}

// A TLS upstream that answers each request with the given bytes, each in
// one SSL_write (one TLS record), and counts the connections it accepted.
class TlsRawUpstream {
 public:
  explicit TlsRawUpstream(std::vector<std::string> answers)
      : answers_(std::move(answers)),
        certificate_(MakeCertificate("raw-upstream", "IP:127.0.0.1")) {
    ctx_ = SSL_CTX_new(TLS_server_method());
    EXPECT_EQ(SSL_CTX_use_certificate_file(ctx_, certificate_.cert.c_str(),
                                           SSL_FILETYPE_PEM),
              1);
    EXPECT_EQ(SSL_CTX_use_PrivateKey_file(ctx_, certificate_.key.c_str(),
                                          SSL_FILETYPE_PEM),
              1);
    thread_ = std::thread([this] { Serve(); });
  }
  ~TlsRawUpstream() {
    listener_.Close();
    thread_.join();
    SSL_CTX_free(ctx_);
  }
  std::string url() const {
    return absl::StrCat("https://127.0.0.1:", listener_.port);
  }
  const std::string& cert() const { return certificate_.cert; }
  int connections() const { return connections_.load(); }

 private:
  void Serve() {
    size_t next = 0;
    while (true) {
      int c = ::accept(listener_.fd, nullptr, nullptr);
      if (c < 0) return;
      connections_++;
      SSL* ssl = SSL_new(ctx_);
      SSL_set_fd(ssl, c);
      if (SSL_accept(ssl) == 1) {
        std::string buffer;
        char chunk[4096];
        while (next < answers_.size()) {
          int n = SSL_read(ssl, chunk, sizeof(chunk));
          if (n <= 0) break;
          buffer.append(chunk, n);
          if (!TakeRequest(&buffer)) continue;
          const std::string& answer = answers_[next++];
          SSL_write(ssl, answer.data(), static_cast<int>(answer.size()));
        }
      }
      SSL_free(ssl);
      ::close(c);
    }
  }

  std::vector<std::string> answers_;
  Certificate certificate_;
  SSL_CTX* ctx_ = nullptr;
  LoopbackListener listener_;
  std::atomic<int> connections_{0};
  std::thread thread_;
};

// Over TLS the leftover bytes of an over-long answer sit decrypted inside
// the TLS session, where a look at the socket cannot see them.
TEST(UpstreamClient, TlsConnectionWithLeftoverBytesIsNeverReused) {
  TlsRawUpstream upstream({
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst"
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstale",
      "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond",
  });
  UpstreamOptions options;
  options.ca_file = upstream.cert();
  Client client(upstream.url(), options);
  Answer first = client.Send(Post("/a"));
  ASSERT_TRUE(first.status.ok()) << first.status;
  EXPECT_EQ(first.body, "first");
  absl::Time start = absl::Now();  // closed at once, as above
  Answer second = client.Send(Post("/b"));
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  ASSERT_TRUE(second.status.ok()) << second.status;
  EXPECT_EQ(second.body, "second");
  EXPECT_EQ(upstream.connections(), 2);
}

}  // namespace
}  // namespace aigw
