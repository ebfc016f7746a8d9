#include "providers/common/http_client_pool.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <set>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
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

}  // namespace
}  // namespace aigw
