#include "providers/common/http_client_pool.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <set>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "providers/common/api_error.h"

namespace aigw {
namespace {

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
  httplib::Server& server() { return *server_; }
  int port() const { return port_; }

 private:
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

HttpClientPool MakePool(const std::string& origin, HttpPoolOptions options) {
  return HttpClientPool(UpstreamEndpoint{origin, ""}, options);
}

UpstreamRequest Post(const std::string& path) {
  UpstreamRequest request;
  request.path = path;
  request.body = "{}";
  request.headers.emplace("Content-Type", "application/json");
  return request;
}

absl::Status Collect(HttpClientPool& pool, const UpstreamRequest& request,
                     std::string* body, CancelToken* cancel = nullptr) {
  return pool.Send(
      request,
      [body](absl::string_view piece) {
        body->append(piece.data(), piece.size());
        return true;
      },
      cancel);
}

TEST(ParseBaseUrl, SplitsOriginAndPath) {
  absl::StatusOr<UpstreamEndpoint> e =
      ParseBaseUrl("https://h.example:8443/v1/");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->origin, "https://h.example:8443");
  EXPECT_EQ(e->path_prefix, "/v1");
  EXPECT_EQ(ParseBaseUrl("http://h")->path_prefix, "");
  EXPECT_FALSE(ParseBaseUrl("ftp://h").ok());
  EXPECT_FALSE(ParseBaseUrl("h/v1").ok());
  EXPECT_FALSE(ParseBaseUrl("http:///v1").ok());
}

TEST(HttpClientPool, KeepAliveReusesOneConnection) {
  auto server = std::make_unique<httplib::Server>();
  std::set<int> client_ports;
  std::mutex mu;
  server->Post("/x", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu);
    client_ports.insert(req.remote_port);
    res.set_content("ok", "text/plain");
  });
  LocalServer upstream(std::move(server));
  HttpClientPool pool =
      MakePool(absl::StrCat("http://127.0.0.1:", upstream.port()), {});
  for (int i = 0; i < 5; ++i) {
    std::string body;
    ASSERT_TRUE(Collect(pool, Post("/x"), &body).ok());
    EXPECT_EQ(body, "ok");
  }
  EXPECT_EQ(client_ports.size(), 1u);
}

TEST(HttpClientPool, ErrorStatusBecomesGatewayError) {
  auto server = std::make_unique<httplib::Server>();
  server->Post("/x", [](const httplib::Request&, httplib::Response& res) {
    res.status = 429;
    res.set_content(R"({"error":{"message":"slow down","type":"requests"}})",
                    "application/json");
  });
  LocalServer upstream(std::move(server));
  HttpClientPool pool =
      MakePool(absl::StrCat("http://127.0.0.1:", upstream.port()), {});
  std::string body;
  absl::Status status = Collect(pool, Post("/x"), &body);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(status.message(), "slow down");
  EXPECT_TRUE(body.empty());
}

TEST(HttpClientPool, RefusedConnectionIs502) {
  // Bind a port and close it again: nothing listens there now.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  int port = ntohs(addr.sin_port);
  ::close(fd);
  HttpClientPool pool = MakePool(absl::StrCat("http://127.0.0.1:", port), {});
  std::string body;
  absl::Status status = Collect(pool, Post("/x"), &body);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(GetErrorDetails(status).http_status, 502);
}

TEST(HttpClientPool, SilentUpstreamIs504AfterReadTimeout) {
  auto server = std::make_unique<httplib::Server>();
  server->Post("/x", [](const httplib::Request&, httplib::Response& res) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    res.set_content("late", "text/plain");
  });
  LocalServer upstream(std::move(server));
  HttpPoolOptions options;
  options.read_timeout = absl::Milliseconds(300);
  HttpClientPool pool =
      MakePool(absl::StrCat("http://127.0.0.1:", upstream.port()), options);
  std::string body;
  absl::Time start = absl::Now();
  absl::Status status = Collect(pool, Post("/x"), &body);
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
  EXPECT_EQ(GetErrorDetails(status).http_status, 504);
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(1200));
}

TEST(HttpClientPool, CancelClosesTheUpstreamConnectionMidStream) {
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
  HttpClientPool pool =
      MakePool(absl::StrCat("http://127.0.0.1:", upstream.port()), {});
  CancelToken cancel;
  std::atomic<int> pieces{0};
  std::thread canceller([&] {
    while (pieces.load() < 2) std::this_thread::yield();
    cancel.Cancel();
  });
  absl::Status status = pool.Send(
      Post("/stream"),
      [&](absl::string_view) {
        pieces.fetch_add(1);
        return true;
      },
      &cancel);
  canceller.join();
  EXPECT_EQ(status.code(), absl::StatusCode::kCancelled);
  EXPECT_TRUE(
      upstream_saw_close.WaitForNotificationWithTimeout(absl::Seconds(1)));
}

TEST(HttpClientPool, SendForBodyCollectsTheWholeBody) {
  auto server = std::make_unique<httplib::Server>();
  server->Post("/x", [](const httplib::Request&, httplib::Response& res) {
    res.set_chunked_content_provider(
        "application/json", [](size_t, httplib::DataSink& sink) {
          for (const char* piece : {R"({"a":)", "1", "}"}) {
            sink.write(piece, std::strlen(piece));
          }
          sink.done();
          return true;
        });
  });
  LocalServer upstream(std::move(server));
  HttpClientPool pool =
      MakePool(absl::StrCat("http://127.0.0.1:", upstream.port()), {});
  absl::StatusOr<std::string> body = pool.SendForBody(Post("/x"), nullptr);
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_EQ(*body, R"({"a":1})");
}

TEST(HttpClientPool, SendForBodyRejectsABodyOverTheLimit) {
  auto server = std::make_unique<httplib::Server>();
  server->Post("/x", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(2 << 20, 'x'), "text/plain");
  });
  LocalServer upstream(std::move(server));
  HttpClientPool pool =
      MakePool(absl::StrCat("http://127.0.0.1:", upstream.port()), {});
  absl::StatusOr<std::string> body =
      pool.SendForBody(Post("/x"), nullptr, /*max_bytes=*/1 << 20);
  ASSERT_FALSE(body.ok());
  EXPECT_EQ(GetErrorDetails(body.status()).http_status, 502);
  EXPECT_EQ(body.status().message(),
            "upstream sent a malformed answer: the answer exceeds 1 MiB");
  // Exactly at the limit is fine.
  body = pool.SendForBody(Post("/x"), nullptr, /*max_bytes=*/2 << 20);
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_EQ(body->size(), 2u << 20);
}

TEST(HttpClientPool, SendForBodyReturnsTheUpstreamError) {
  auto server = std::make_unique<httplib::Server>();
  server->Post("/x", [](const httplib::Request&, httplib::Response& res) {
    res.status = 401;
    res.set_content(R"({"error":{"message":"bad key"}})", "application/json");
  });
  LocalServer upstream(std::move(server));
  HttpClientPool pool =
      MakePool(absl::StrCat("http://127.0.0.1:", upstream.port()), {});
  absl::StatusOr<std::string> body = pool.SendForBody(Post("/x"), nullptr);
  EXPECT_EQ(body.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(body.status().message(), "bad key");
}

// Records what SendStream asks of a stream decoder.
struct FakeDecoder {
  bool Feed(absl::string_view bytes) {
    fed.append(bytes.data(), bytes.size());
    if (fed.size() >= stop_after) {
      client_gone_ = true;
      return false;
    }
    return true;
  }
  absl::Status Finish() {
    ++finished;
    return finish_result;
  }
  const absl::Status& error() const { return error_; }
  bool client_gone() const { return client_gone_; }

  std::string fed;
  size_t stop_after = std::string::npos;
  absl::Status error_;
  absl::Status finish_result;
  int finished = 0;
  bool client_gone_ = false;
};

class SendStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = std::make_unique<httplib::Server>();
    server->Post("/ok", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("data: 1\n\n", "text/event-stream");
    });
    server->Post("/429", [](const httplib::Request&, httplib::Response& res) {
      res.status = 429;
      res.set_content(R"({"error":{"message":"slow down"}})",
                      "application/json");
    });
    upstream_ = std::make_unique<LocalServer>(std::move(server));
    pool_ = std::make_unique<HttpClientPool>(
        UpstreamEndpoint{absl::StrCat("http://127.0.0.1:", upstream_->port()),
                         ""},
        HttpPoolOptions{});
  }

  std::unique_ptr<LocalServer> upstream_;
  std::unique_ptr<HttpClientPool> pool_;
};

TEST_F(SendStreamTest, FinishesAfterACleanStream) {
  FakeDecoder decoder;
  decoder.finish_result = absl::DataLossError("no finish_reason");
  absl::Status status = pool_->SendStream(Post("/ok"), decoder, nullptr);
  EXPECT_EQ(decoder.fed, "data: 1\n\n");
  EXPECT_EQ(decoder.finished, 1);
  EXPECT_EQ(status, decoder.finish_result);
}

TEST_F(SendStreamTest, TheDecodersErrorWinsOverTheHttpStatus) {
  FakeDecoder decoder;
  decoder.error_ = absl::UnauthenticatedError("bad key in-stream");
  absl::Status status = pool_->SendStream(Post("/429"), decoder, nullptr);
  EXPECT_EQ(status, decoder.error_);
  EXPECT_EQ(decoder.finished, 0);
}

TEST_F(SendStreamTest, AnHttpErrorIsReturnedWithoutFinishing) {
  FakeDecoder decoder;
  absl::Status status = pool_->SendStream(Post("/429"), decoder, nullptr);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(status.message(), "slow down");
  EXPECT_TRUE(decoder.fed.empty());
  EXPECT_EQ(decoder.finished, 0);
}

TEST_F(SendStreamTest, AGoneClientIsNotFinished) {
  FakeDecoder decoder;
  decoder.stop_after = 1;
  absl::Status status = pool_->SendStream(Post("/ok"), decoder, nullptr);
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(decoder.finished, 0);
}

TEST(MakeUpstreamPool, UsesTheDefaultAndNamesBaseUrlInErrors) {
  ProviderConfig config;
  config.type = "claude";
  config.read_timeout = absl::Seconds(7);
  absl::StatusOr<std::unique_ptr<HttpClientPool>> pool =
      MakeUpstreamPool(config, "https://api.example.com/v1/");
  ASSERT_TRUE(pool.ok()) << pool.status();
  EXPECT_EQ((*pool)->endpoint().origin, "https://api.example.com");
  EXPECT_EQ((*pool)->endpoint().path_prefix, "/v1");

  config.base_url = "http://127.0.0.1:9/x";
  pool = MakeUpstreamPool(config, "https://api.example.com/v1/");
  ASSERT_TRUE(pool.ok()) << pool.status();
  EXPECT_EQ((*pool)->endpoint().origin, "http://127.0.0.1:9");
  EXPECT_EQ((*pool)->endpoint().path_prefix, "/x");

  config.base_url = "ftp://h";
  pool = MakeUpstreamPool(config, "https://api.example.com");
  ASSERT_FALSE(pool.ok());
  EXPECT_EQ(pool.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(pool.status().message(),
            "base_url: 'ftp://h' must start with http:// or https://");

  config.base_url = "";
  pool = MakeUpstreamPool(config, "");
  ASSERT_FALSE(pool.ok());
  EXPECT_EQ(pool.status().message(),
            "base_url: the claude provider needs its base URL");
}

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    dir_ = tmp != nullptr ? tmp : "/tmp";
    cert_ = dir_ + "/upstream.crt";
    key_ = dir_ + "/upstream.key";
    std::string cmd = absl::StrCat(
        "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=aigw-test"
        " -addext subjectAltName=IP:127.0.0.1 -keyout ",
        key_, " -out ", cert_, " >/dev/null 2>&1");
    ASSERT_EQ(std::system(cmd.c_str()), 0) << "openssl is needed";
    auto server =
        std::make_unique<httplib::SSLServer>(cert_.c_str(), key_.c_str());
    ASSERT_TRUE(server->is_valid());
    server->Post("/x",
                 [this](const httplib::Request& req, httplib::Response& res) {
                   std::lock_guard<std::mutex> lock(mu_);
                   client_ports_.insert(req.remote_port);
                   res.set_content("secure", "text/plain");
                 });
    upstream_ = std::make_unique<LocalServer>(std::move(server));
    origin_ = absl::StrCat("https://127.0.0.1:", upstream_->port());
  }

  std::string dir_, cert_, key_, origin_;
  std::mutex mu_;
  std::set<int> client_ports_;
  std::unique_ptr<LocalServer> upstream_;
};

TEST_F(TlsTest, UntrustedCertificateIsRejected) {
  HttpClientPool pool = MakePool(origin_, {});
  std::string body;
  absl::Status status = Collect(pool, Post("/x"), &body);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_TRUE(body.empty());
}

TEST_F(TlsTest, TrustedCertificateWorksAndConnectionIsReused) {
  HttpPoolOptions options;
  options.ca_file = cert_;
  HttpClientPool pool = MakePool(origin_, options);
  for (int i = 0; i < 3; ++i) {
    std::string body;
    absl::Status status = Collect(pool, Post("/x"), &body);
    ASSERT_TRUE(status.ok()) << status;
    EXPECT_EQ(body, "secure");
  }
  EXPECT_EQ(client_ports_.size(), 1u);  // one TLS handshake for three calls
}

// ca_file adds a CA: the system store (here SSL_CERT_FILE, which OpenSSL's
// default paths honour) still verifies the upstream.
TEST_F(TlsTest, CaFileAddsToTheSystemTrustStore) {
  std::string other_key = dir_ + "/other.key";
  std::string other_cert = dir_ + "/other.crt";
  std::string cmd = absl::StrCat(
      "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=other-ca"
      " -keyout ",
      other_key, " -out ", other_cert, " >/dev/null 2>&1");
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  ASSERT_EQ(setenv("SSL_CERT_FILE", cert_.c_str(), 1), 0);
  HttpPoolOptions options;
  options.ca_file = other_cert;  // does not sign the upstream's certificate
  HttpClientPool pool = MakePool(origin_, options);
  std::string body;
  absl::Status status = Collect(pool, Post("/x"), &body);
  unsetenv("SSL_CERT_FILE");
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(body, "secure");
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
  size_t length_at = buffer->find("Content-Length: ");
  size_t body = 0;
  if (length_at != std::string::npos && length_at < end) {
    body = std::stoul(buffer->substr(length_at + 16));
  }
  if (buffer->size() < end + 4 + body) return false;
  buffer->erase(0, end + 4 + body);
  return true;
}

// A raw upstream that answers each accepted connection's requests with the
// given bytes, one string per request, and records how many connections it
// accepted.
class RawUpstream {
 public:
  explicit RawUpstream(std::vector<std::string> answers)
      : answers_(std::move(answers)) {
    thread_ = std::thread([this] { Serve(); });
  }
  ~RawUpstream() {
    listener_.Close();
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
      clients_.push_back(c);
      // Answer every request head that arrives on this connection.
      std::string buffer;
      char chunk[4096];
      while (next < answers_.size()) {
        ssize_t n = ::recv(c, chunk, sizeof(chunk), 0);
        if (n <= 0) break;
        buffer.append(chunk, n);
        while (next < answers_.size() && TakeRequest(&buffer)) {
          // "\x01" in an answer: a pause, so what follows arrives as a
          // separate read (as a late, unsolicited answer would).
          for (absl::string_view part :
               absl::StrSplit(answers_[next++], '\x01')) {
            ::send(c, part.data(), part.size(), MSG_NOSIGNAL);
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
          }
        }
      }
    }
  }

  std::vector<std::string> answers_;
  LoopbackListener listener_;
  std::atomic<int> connections_{0};
  std::vector<int> clients_;
  std::thread thread_;
};

UpstreamRequest PostTo(const std::string& path) {
  UpstreamRequest request;
  request.path = path;
  request.body = "{}";
  request.headers.emplace("Content-Type", "application/json");
  return request;
}

// The body is longer than its Content-Length: the leftover bytes must not
// become the next request's answer (another client's content).
TEST(HttpClientPool, ConnectionWithLeftoverBytesIsNeverReused) {
  RawUpstream upstream({
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst\x01SECRET-OF-A"
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstale",
      "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond",
  });
  HttpClientPool pool(*ParseBaseUrl(upstream.url()), HttpPoolOptions{});
  absl::StatusOr<std::string> first = pool.SendForBody(PostTo("/a"), nullptr);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(*first, "first");
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  absl::StatusOr<std::string> second = pool.SendForBody(PostTo("/b"), nullptr);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(*second, "second");
  EXPECT_EQ(upstream.connections(), 2);
}

// An unsolicited response arriving while the connection sits idle.
TEST(HttpClientPool, IdleConnectionThatReceivedBytesIsDropped) {
  RawUpstream upstream({
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok\x01"
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstale",
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfresh",
  });
  HttpClientPool pool(*ParseBaseUrl(upstream.url()), HttpPoolOptions{});
  ASSERT_EQ(*pool.SendForBody(PostTo("/a"), nullptr), "ok");
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  EXPECT_EQ(*pool.SendForBody(PostTo("/b"), nullptr), "fresh");
}

// A TLS upstream that answers each request with the given bytes, each in
// one SSL_write (one TLS record), and counts the connections it accepted.
class TlsRawUpstream {
 public:
  explicit TlsRawUpstream(std::vector<std::string> answers)
      : answers_(std::move(answers)) {
    const char* tmp = std::getenv("TEST_TMPDIR");
    std::string dir = tmp != nullptr ? tmp : "/tmp";
    cert_ = dir + "/raw-upstream.crt";
    std::string key = dir + "/raw-upstream.key";
    std::string cmd = absl::StrCat(
        "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=raw"
        " -addext subjectAltName=IP:127.0.0.1 -keyout ",
        key, " -out ", cert_, " >/dev/null 2>&1");
    EXPECT_EQ(std::system(cmd.c_str()), 0) << "openssl is needed";
    ctx_ = SSL_CTX_new(TLS_server_method());
    EXPECT_EQ(
        SSL_CTX_use_certificate_file(ctx_, cert_.c_str(), SSL_FILETYPE_PEM), 1);
    EXPECT_EQ(SSL_CTX_use_PrivateKey_file(ctx_, key.c_str(), SSL_FILETYPE_PEM),
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
  const std::string& cert() const { return cert_; }
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
  std::string cert_;
  SSL_CTX* ctx_ = nullptr;
  LoopbackListener listener_;
  std::atomic<int> connections_{0};
  std::thread thread_;
};

// Over TLS the leftover bytes of an over-long answer sit decrypted inside
// the TLS session, where a look at the socket cannot see them.
TEST(HttpClientPool, TlsConnectionWithLeftoverBytesIsNeverReused) {
  TlsRawUpstream upstream({
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst"
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstale",
      "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond",
  });
  HttpPoolOptions options;
  options.ca_file = upstream.cert();
  HttpClientPool pool(*ParseBaseUrl(upstream.url()), options);
  absl::StatusOr<std::string> first = pool.SendForBody(PostTo("/a"), nullptr);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(*first, "first");
  absl::StatusOr<std::string> second = pool.SendForBody(PostTo("/b"), nullptr);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(*second, "second");
  EXPECT_EQ(upstream.connections(), 2);
}

// The same in one read on a plain connection: whatever httplib buffered
// past the answer must not be served to the next request.
TEST(HttpClientPool, LeftoverBytesInTheSameReadNeverAnswerTheNextRequest) {
  RawUpstream upstream({
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst"
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstale",
      "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond",
  });
  HttpClientPool pool(*ParseBaseUrl(upstream.url()), HttpPoolOptions{});
  ASSERT_EQ(*pool.SendForBody(PostTo("/a"), nullptr), "first");
  absl::StatusOr<std::string> second = pool.SendForBody(PostTo("/b"), nullptr);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(*second, "second");
}

// A broken chunked body is an upstream error, and the connection it came on
// is closed, not pooled.
TEST(HttpClientPool, FramingErrorClosesTheConnection) {
  RawUpstream upstream({
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nbad\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond",
  });
  HttpClientPool pool(*ParseBaseUrl(upstream.url()), HttpPoolOptions{});
  absl::StatusOr<std::string> first = pool.SendForBody(PostTo("/a"), nullptr);
  EXPECT_EQ(first.status().code(), absl::StatusCode::kUnavailable)
      << first.status();
  absl::StatusOr<std::string> second = pool.SendForBody(PostTo("/b"), nullptr);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(*second, "second");
  EXPECT_EQ(upstream.connections(), 2);
}

// An answer cut short by the read timeout leaves its rest in flight: the
// connection is closed, never handed to the next request.
TEST(HttpClientPool, IncompleteAnswerClosesTheConnection) {
  RawUpstream upstream({
      "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello",
      "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond",
  });
  HttpPoolOptions options;
  options.read_timeout = absl::Milliseconds(300);
  HttpClientPool pool(*ParseBaseUrl(upstream.url()), options);
  absl::StatusOr<std::string> first = pool.SendForBody(PostTo("/a"), nullptr);
  EXPECT_EQ(first.status().code(), absl::StatusCode::kDeadlineExceeded)
      << first.status();
  absl::StatusOr<std::string> second = pool.SendForBody(PostTo("/b"), nullptr);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(*second, "second");
  EXPECT_EQ(upstream.connections(), 2);
}

}  // namespace
}  // namespace aigw
