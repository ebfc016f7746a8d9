#include "server/admin_server.h"

#include "server/http_listener.h"

namespace aigw {

AdminServer::AdminServer(const Metrics* metrics) : metrics_(metrics) {
  server_.new_task_queue = [] { return new httplib::ThreadPool(4); };
  server_.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  server_.Get(
      "/readyz", [this](const httplib::Request&, httplib::Response& res) {
        bool ready = ready_.load();
        res.status = ready ? 200 : 503;
        res.set_content(ready ? "ready\n" : "not ready\n", "text/plain");
      });
  server_.Get("/metrics", [this](const httplib::Request&,
                                 httplib::Response& res) {
    res.set_content(metrics_->RenderPrometheus(), "text/plain; version=0.0.4");
  });
}

AdminServer::~AdminServer() { Stop(); }

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
