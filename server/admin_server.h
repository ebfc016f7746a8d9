// The admin port: /healthz (process alive), /readyz (config loaded and
// every listener up), /metrics (Prometheus text format).
#ifndef AIGW_SERVER_ADMIN_SERVER_H_
#define AIGW_SERVER_ADMIN_SERVER_H_

#include <atomic>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "httplib.h"
#include "server/metrics.h"

namespace aigw {

class AdminServer {
 public:
  explicit AdminServer(const Metrics* metrics);
  ~AdminServer();

  absl::StatusOr<int> Bind(const std::string& host_port);
  void Start();
  void Stop();
  void SetReady(bool ready) { ready_.store(ready); }

 private:
  const Metrics* const metrics_;
  std::atomic<bool> ready_{false};
  httplib::Server server_;
  std::thread thread_;
};

}  // namespace aigw

#endif  // AIGW_SERVER_ADMIN_SERVER_H_
