// The admin port: /healthz (process alive), /readyz (config loaded, every
// listener up, standing contexts loaded), /metrics (Prometheus text
// format), POST /reload (reload the config file now; admin.token guards
// it, and browsers may not call it).
#ifndef AIGW_SERVER_ADMIN_SERVER_H_
#define AIGW_SERVER_ADMIN_SERVER_H_

#include <atomic>
#include <functional>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "httplib.h"
#include "server/gateway.h"
#include "server/metrics.h"
#include "server/protection/protection_state.h"

namespace aigw {

class AdminServer {
 public:
  using ReloadFn = std::function<absl::Status()>;

  // `protection` (may be null): /readyz says 503 while it sheds load.
  AdminServer(const Metrics* metrics, const Gateway* gateway,
              ProtectionState* protection, ReloadFn reload);
  ~AdminServer();

  absl::StatusOr<int> Bind(const std::string& host_port);
  void Start();
  void Stop();
  void SetReady(bool ready) { ready_.store(ready); }

 private:
  // No browser Origin; admin.token, when set, as a Bearer token. Writes
  // the refusal into `res` when not allowed.
  bool ReloadAllowed(const httplib::Request& req, httplib::Response& res) const;

  const Metrics* const metrics_;
  const Gateway* const gateway_;
  ProtectionState* const protection_;
  const ReloadFn reload_;
  std::atomic<bool> ready_{false};
  httplib::Server server_;
  std::thread thread_;
};

}  // namespace aigw

#endif  // AIGW_SERVER_ADMIN_SERVER_H_
