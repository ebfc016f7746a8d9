#include "providers/common/http_client_pool.h"

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <mutex>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "providers/common/api_error.h"

namespace aigw {
namespace {

constexpr size_t kMaxErrorBody = 64 * 1024;

void SetTimeout(absl::Duration d,
                const std::function<void(time_t, time_t)>& set) {
  int64_t us = absl::ToInt64Microseconds(d);
  set(static_cast<time_t>(us / 1000000), static_cast<time_t>(us % 1000000));
}

// Retry-After in seconds (the HTTP-date form is rare from APIs: ignored).
int64_t RetryAfterMs(const std::string& value) {
  double seconds = 0;
  if (value.empty() || !absl::SimpleAtod(value, &seconds) || seconds < 0) {
    return -1;
  }
  constexpr double kMaxSeconds = 24 * 3600;  // also keeps the cast defined
  return static_cast<int64_t>(std::min(seconds, kMaxSeconds) * 1000);
}

// The origin's host and port, as httplib's client constructors take them
// ("[::1]" without its brackets).
struct HostPort {
  std::string host;
  int port = 0;
};

HostPort SplitOrigin(const std::string& origin, bool tls) {
  absl::string_view rest = origin;
  rest.remove_prefix(rest.find("://") + 3);
  HostPort out;
  out.port = tls ? 443 : 80;
  size_t colon = rest.rfind(':');
  size_t bracket = rest.rfind(']');
  if (colon != absl::string_view::npos &&
      (bracket == absl::string_view::npos || colon > bracket)) {
    int port = 0;
    if (absl::SimpleAtoi(rest.substr(colon + 1), &port)) out.port = port;
    rest = rest.substr(0, colon);
  }
  if (absl::ConsumePrefix(&rest, "[")) absl::ConsumeSuffix(&rest, "]");
  out.host = std::string(rest);
  return out;
}

}  // namespace

class UpstreamConnection {
 public:
  virtual ~UpstreamConnection() = default;
  virtual httplib::ClientImpl& http() = 0;
  // Whether the next request may use the connection: no socket yet
  // (httplib connects on send), or one with nothing unread, neither in the
  // socket nor decrypted inside the TLS session. Bytes there (a body longer
  // than its Content-Length, an unsolicited second answer) would be read as
  // the next, unrelated request's answer; a peer that closed reads too.
  virtual bool Clean() const = 0;
};

namespace {

// httplib keeps a connection's socket and TLS session in protected
// members: deriving is the one way to look at them.
template <typename Client>
class PooledClient final : public Client, public UpstreamConnection {
 public:
  using Client::Client;

  httplib::ClientImpl& http() override { return *this; }

  bool Clean() const override {
    std::lock_guard<std::mutex> lock(this->socket_mutex_);
    if (!this->socket_.is_open()) return true;
    if (this->socket_.ssl != nullptr && SSL_has_pending(this->socket_.ssl)) {
      return false;
    }
    char byte;
    ssize_t n = ::recv(this->socket_.sock, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }
};

}  // namespace

HttpPoolOptions PoolOptionsFor(const ProviderConfig& config) {
  HttpPoolOptions options;
  options.connect_timeout = config.connect_timeout;
  options.read_timeout = config.read_timeout;
  options.ca_file = config.ca_file;
  return options;
}

HttpClientPool::HttpClientPool(UpstreamEndpoint endpoint,
                               HttpPoolOptions options)
    : endpoint_(std::move(endpoint)), options_(std::move(options)) {}

HttpClientPool::~HttpClientPool() = default;

std::unique_ptr<UpstreamConnection> HttpClientPool::Acquire() {
  while (true) {
    std::unique_ptr<UpstreamConnection> connection;
    {
      absl::MutexLock lock(&mu_);
      if (idle_.empty()) break;
      connection = std::move(idle_.back());
      idle_.pop_back();
    }
    // Checked again at reuse: bytes may have arrived since Release.
    if (connection->Clean()) return connection;
  }
  return Connect();
}

std::unique_ptr<UpstreamConnection> HttpClientPool::Connect() const {
  bool tls = absl::StartsWith(endpoint_.origin, "https://");
  HostPort origin = SplitOrigin(endpoint_.origin, tls);
  std::unique_ptr<UpstreamConnection> connection;
  if (tls) {
    auto client = std::make_unique<PooledClient<httplib::SSLClient>>(
        origin.host, origin.port);
    client->enable_server_certificate_verification(true);
    if (!options_.ca_file.empty()) {
      // ca_file adds to the system's trust store, never replaces it: a
      // private CA for one proxy must not make public endpoints untrusted.
      // Each client's TLS context takes ownership of its store.
      X509_STORE* store = X509_STORE_new();
      X509_STORE_set_default_paths(store);
      X509_STORE_load_locations(store, options_.ca_file.c_str(), nullptr);
      client->set_ca_cert_store(store);
    }
    connection = std::move(client);
  } else {
    connection = std::make_unique<PooledClient<httplib::ClientImpl>>(
        origin.host, origin.port);
  }
  httplib::ClientImpl& client = connection->http();
  client.set_keep_alive(true);
  client.set_tcp_nodelay(true);
  client.set_follow_location(false);
  client.set_decompress(true);
  SetTimeout(options_.connect_timeout, [&](time_t s, time_t us) {
    client.set_connection_timeout(s, us);
  });
  SetTimeout(options_.read_timeout,
             [&](time_t s, time_t us) { client.set_read_timeout(s, us); });
  client.set_write_timeout(30, 0);
  return connection;
}

void HttpClientPool::Release(std::unique_ptr<UpstreamConnection> connection) {
  if (!connection->Clean()) return;  // closed with the connection
  absl::MutexLock lock(&mu_);
  if (idle_.size() < options_.max_idle) idle_.push_back(std::move(connection));
}

absl::Status HttpClientPool::Send(
    const UpstreamRequest& request,
    const std::function<bool(absl::string_view)>& on_body,
    CancelToken* cancel) {
  return Send(request, on_body, cancel, nullptr);
}

absl::Status HttpClientPool::Send(
    const UpstreamRequest& request,
    const std::function<bool(absl::string_view)>& on_body, CancelToken* cancel,
    std::vector<std::pair<std::string, std::string>>* rate_limit_headers) {
  std::unique_ptr<UpstreamConnection> connection = Acquire();
  int status = 0;
  int64_t retry_after_ms = -1;
  std::string error_body;
  bool stopped_by_caller = false;
  absl::Time last_activity = absl::Now();

  httplib::Request req;
  req.method = request.method;
  req.path = request.path;
  req.headers =
      httplib::Headers(request.headers.begin(), request.headers.end());
  req.body = request.body;
  req.response_handler = [&](const httplib::Response& response) {
    status = response.status;
    retry_after_ms = RetryAfterMs(response.get_header_value("Retry-After"));
    if (rate_limit_headers != nullptr) {
      for (const auto& [name, value] : response.headers) {
        if (absl::StartsWithIgnoreCase(name, "x-ratelimit-")) {
          rate_limit_headers->emplace_back(name, value);
        }
      }
    }
    last_activity = absl::Now();
    return true;
  };
  req.content_receiver = [&](const char* data, size_t size, uint64_t,
                             uint64_t) {
    last_activity = absl::Now();
    if (status < 200 || status >= 300) {
      if (error_body.size() < kMaxErrorBody) error_body.append(data, size);
      return true;
    }
    if (!on_body(absl::string_view(data, size))) {
      stopped_by_caller = true;
      return false;
    }
    return true;
  };

  httplib::ClientImpl* raw = &connection->http();
  if (cancel != nullptr) {
    cancel->SetCanceller([raw] { raw->stop(); });
    // stop() on an idle client cannot prevent the send below.
    if (cancel->cancelled()) {
      cancel->ClearCanceller();
      return absl::CancelledError("request cancelled before it was sent");
    }
  }
  httplib::Response res;
  httplib::Error error = httplib::Error::Success;
  bool ok = raw->send(req, res, error);
  if (cancel != nullptr) cancel->ClearCanceller();

  if (cancel != nullptr && cancel->cancelled()) {
    return absl::CancelledError("request cancelled: the client went away");
  }
  if (stopped_by_caller) {
    // The caller stopped reading mid-body: the connection is not reusable.
    return absl::OkStatus();
  }
  if (!ok) {
    bool timed_out = error == httplib::Error::Read &&
                     absl::Now() - last_activity >=
                         options_.read_timeout - absl::Milliseconds(50);
    if (timed_out || error == httplib::Error::ConnectionTimeout) {
      return UpstreamTimeout(
          absl::StrCat("no answer from ", endpoint_.origin, " within ",
                       absl::FormatDuration(error == httplib::Error::Read
                                                ? options_.read_timeout
                                                : options_.connect_timeout)));
    }
    if (status != 0 && error == httplib::Error::Read) {
      return UpstreamUnreachable(
          absl::StrCat(endpoint_.origin, " closed the connection mid-answer"));
    }
    return UpstreamUnreachable(
        absl::StrCat(endpoint_.origin, ": ", httplib::to_string(error)));
  }
  Release(std::move(connection));
  if (status < 200 || status >= 300) {
    return StatusFromUpstreamHttp(status, error_body, retry_after_ms);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> HttpClientPool::SendForBody(
    const UpstreamRequest& request, CancelToken* cancel, size_t max_bytes) {
  std::string body;
  bool too_big = false;
  absl::Status status = Send(
      request,
      [&](absl::string_view bytes) {
        if (body.size() + bytes.size() > max_bytes) {
          too_big = true;
          return false;
        }
        body.append(bytes.data(), bytes.size());
        return true;
      },
      cancel);
  if (!status.ok()) return status;
  if (too_big) {
    return MalformedUpstream(
        max_bytes % (1 << 20) == 0
            ? absl::StrCat("the answer exceeds ", max_bytes >> 20, " MiB")
            : absl::StrCat("the answer exceeds ", max_bytes, " bytes"));
  }
  return body;
}

absl::StatusOr<std::unique_ptr<HttpClientPool>> MakeUpstreamPool(
    const ProviderConfig& config, absl::string_view default_base_url) {
  absl::StatusOr<UpstreamEndpoint> endpoint =
      EndpointFor(config, default_base_url);
  if (!endpoint.ok()) return endpoint.status();
  return std::make_unique<HttpClientPool>(std::move(*endpoint),
                                          PoolOptionsFor(config));
}

}  // namespace aigw
