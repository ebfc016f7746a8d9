// The three listeners (REST, gRPC, admin) and what a reload may change in
// them: a listener whose address changed is bound anew before the old one
// stops accepting; the old one finishes its in-flight requests and streams
// in the background.
#ifndef AIGW_SERVER_LISTENERS_H_
#define AIGW_SERVER_LISTENERS_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "server/admin_server.h"
#include "server/config.h"
#include "server/drain.h"
#include "server/gateway.h"
#include "server/grpc_reflection_v1.h"
#include "server/grpc_service.h"
#include "server/metrics.h"
#include "server/net/io_loops.h"
#include "server/protection/protection_state.h"
#include "server/rest_server.h"

namespace grpc {
class Server;
}  // namespace grpc

namespace aigw {

class Listeners {
 public:
  Listeners(Gateway* gateway, IoLoops* loops, Drain* drain,
            ProtectionState* protection, Metrics* metrics,
            const RequestObserver* observer, AdminServer::ReloadFn reload);
  ~Listeners();

  absl::Status Start(const ListenConfig& listen);
  // Rebinds the listeners whose address changed. On error nothing changed.
  absl::Status Rebind(const ListenConfig& listen);
  // "http=HOST:PORT grpc=HOST:PORT admin=HOST:PORT" (real ports).
  std::string Describe() const;
  void SetReady(bool ready);
  // SIGTERM: REST and gRPC stop accepting (gRPC health says NOT_SERVING);
  // calls in flight go on, gRPC's until `grpc_deadline`. The admin port
  // keeps answering, so /readyz can say 503.
  void StopAccepting(absl::Time grpc_deadline);
  // After StopAccepting: every REST connection and gRPC call is done.
  bool StoppedServing() const;
  // Stops accepting, then gives in-flight requests up to `grace`.
  void Stop(absl::Duration grace);

 private:
  struct Grpc {
    std::unique_ptr<ChatCompletionsService> service;
    std::unique_ptr<ReflectionV1Service> reflection;
    std::unique_ptr<grpc::Server> server;  // destroyed before the services
    int port = 0;
  };
  absl::StatusOr<std::unique_ptr<RestServer>> StartRest(
      const std::string& address, int* port);
  absl::StatusOr<std::unique_ptr<AdminServer>> StartAdmin(
      const std::string& address, int* port);
  absl::StatusOr<Grpc> StartGrpc(const std::string& address);

  Gateway* const gateway_;
  IoLoops* const loops_;
  ProtectionState* const protection_;
  Drain* const drain_;
  Metrics* const metrics_;
  const RequestObserver* const observer_;
  const AdminServer::ReloadFn reload_;

  mutable absl::Mutex mu_;
  ListenConfig listen_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<RestServer> rest_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<AdminServer> admin_ ABSL_GUARDED_BY(mu_);
  Grpc grpc_ ABSL_GUARDED_BY(mu_);
  int rest_port_ ABSL_GUARDED_BY(mu_) = 0;
  int admin_port_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;  // no rebinding then
  std::thread grpc_shutdown_ ABSL_GUARDED_BY(mu_);
  std::atomic<bool> grpc_stopped_{false};
};

}  // namespace aigw

#endif  // AIGW_SERVER_LISTENERS_H_
