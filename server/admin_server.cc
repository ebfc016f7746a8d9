#include "server/admin_server.h"

#include <openssl/crypto.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "server/elastic_thread_pool.h"
#include "server/filters/auth/config.h"
#include "server/http_listener.h"
#include "server/observability/build_info.h"
#include "server/observability/process_metrics.h"

namespace aigw {
namespace {

constexpr size_t kMaxAdminConnections = 256;
constexpr int kAdminReadTimeoutSeconds = 5;

}  // namespace

AdminServer::AdminServer(const Metrics* metrics, const Gateway* gateway,
                         ProtectionState* protection, ReloadFn reload)
    : metrics_(metrics),
      gateway_(gateway),
      protection_(protection),
      reload_(std::move(reload)) {
  // Probes must get through while slow or idle connections sit on the
  // port: a thread per connection (up to a cap, released when idle), a
  // short read timeout for a request that dribbles in, and no long
  // keep-alive. (A liveness probe that times out restarts the pod.)
  server_.new_task_queue = [] {
    return new ElasticThreadPool(kMaxAdminConnections, absl::Seconds(10));
  };
  server_.set_read_timeout(kAdminReadTimeoutSeconds, 0);
  server_.set_write_timeout(kAdminReadTimeoutSeconds, 0);
  server_.set_keep_alive_timeout(2);
  server_.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  server_.Get("/readyz", [this](const httplib::Request&,
                                httplib::Response& res) {
    if (!ready_.load()) {
      res.status = 503;
      res.set_content("not ready\n", "text/plain");
      return;
    }
    if (protection_ != nullptr) {
      if (std::optional<LoadShedder::Pressure> pressure =
              protection_->load().Overloaded()) {
        res.status = 503;
        res.set_content(absl::StrCat("not ready: shedding load (",
                                     PressureName(*pressure), ")\n"),
                        "text/plain");
        return;
      }
    }
    // Stale standing contexts still serve (200, reported); one that
    // never loaded makes its requests fail (503).
    std::string body = "ready\n";
    for (const std::string& problem : gateway_->snapshot()->ContextProblems()) {
      absl::StrAppend(&body, problem, "\n");
      if (absl::StrContains(problem, "no copy loaded")) res.status = 503;
    }
    res.set_content(body, "text/plain");
  });
  server_.Post(
      "/reload", [this](const httplib::Request& req, httplib::Response& res) {
        if (!ReloadAllowed(req, res)) return;
        absl::Status status = reload_();
        nlohmann::json body =
            status.ok()
                ? nlohmann::json{{"status", "reloaded"}}
                : nlohmann::json{
                      {"error", {{"message", std::string(status.message())}}}};
        res.status = status.ok() ? 200 : 400;
        res.set_content(body.dump(), "application/json");
      });
  server_.Get("/metrics",
              [this](const httplib::Request&, httplib::Response& res) {
                std::string text = metrics_->RenderPrometheus();
                AppendProcessMetrics(&text);
                AppendBuildInfo(&text);
                res.set_content(text, "text/plain; version=0.0.4");
              });
}

AdminServer::~AdminServer() { Stop(); }

bool AdminServer::ReloadAllowed(const httplib::Request& req,
                                httplib::Response& res) const {
  auto refuse = [&res](int status, const std::string& message) {
    res.status = status;
    res.set_content(nlohmann::json{{"error", {{"message", message}}}}.dump(),
                    "application/json");
    return false;
  };
  // A web page can POST here (no preflight for a simple request); no
  // browser has any business changing the gateway's state.
  if (req.has_header("Origin")) {
    return refuse(403, "POST /reload does not accept browser requests");
  }
  const std::string& token = gateway_->snapshot()->config.admin.token;
  if (token.empty()) return true;
  const std::string authorization = req.get_header_value("Authorization");
  absl::string_view presented = authorization;
  bool bearer = absl::StartsWithIgnoreCase(presented, "bearer ");
  if (bearer) presented.remove_prefix(strlen("bearer "));
  if (!bearer ||
      CRYPTO_memcmp(Sha256(presented).data(), Sha256(token).data(), 32) != 0) {
    res.set_header("WWW-Authenticate", "Bearer");
    return refuse(401,
                  "POST /reload needs Authorization: Bearer <admin.token>");
  }
  return true;
}

absl::StatusOr<int> AdminServer::Bind(const std::string& host_port) {
  return BindHttpServer(server_, host_port);
}

void AdminServer::Start() {
  thread_ = std::thread([this] { server_.listen_after_bind(); });
}

void AdminServer::Stop() {
  server_.stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace aigw
