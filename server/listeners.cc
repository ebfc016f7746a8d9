#include "server/listeners.h"

#include <grpcpp/grpcpp.h>

#include <thread>

#include "absl/strings/str_cat.h"

namespace aigw {
namespace {

std::string HostOf(const std::string& host_port) {
  return host_port.substr(0, host_port.rfind(':'));
}

// The largest request the gRPC server accepts; limits.max_body_bytes of the
// current config is checked per call (grpc_service.cc).
constexpr int kMaxGrpcMessageBytes = 64 << 20;

// Old listeners finish their in-flight work off the reloading thread.
template <typename T>
void RetireInBackground(std::unique_ptr<T> old) {
  if (old == nullptr) return;
  std::thread([old = std::move(old)]() mutable { old->Stop(); }).detach();
}

}  // namespace

Listeners::Listeners(Gateway* gateway, DisconnectWatch* disconnect_watch,
                     Metrics* metrics, AdminServer::ReloadFn reload)
    : gateway_(gateway),
      disconnect_watch_(disconnect_watch),
      metrics_(metrics),
      reload_(std::move(reload)) {}

Listeners::~Listeners() { Stop(absl::ZeroDuration()); }

absl::StatusOr<std::unique_ptr<RestServer>> Listeners::StartRest(
    const std::string& address, int* port) {
  auto rest = std::make_unique<RestServer>(gateway_, disconnect_watch_);
  absl::StatusOr<int> bound = rest->Bind(address);
  if (!bound.ok()) {
    return absl::UnavailableError(
        absl::StrCat("listen.http: ", bound.status().message()));
  }
  rest->Start();
  *port = *bound;
  return rest;
}

absl::StatusOr<std::unique_ptr<AdminServer>> Listeners::StartAdmin(
    const std::string& address, int* port) {
  auto admin = std::make_unique<AdminServer>(metrics_, gateway_, reload_);
  absl::StatusOr<int> bound = admin->Bind(address);
  if (!bound.ok()) {
    return absl::UnavailableError(
        absl::StrCat("listen.admin: ", bound.status().message()));
  }
  admin->Start();
  *port = *bound;
  return admin;
}

absl::StatusOr<Listeners::Grpc> Listeners::StartGrpc(
    const std::string& address) {
  Grpc grpc;
  grpc.service =
      std::make_unique<ChatCompletionsService>(gateway_, disconnect_watch_);
  grpc::ServerBuilder builder;
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(),
                           &grpc.port);
  builder.RegisterService(grpc.service.get());
  builder.SetMaxReceiveMessageSize(kMaxGrpcMessageBytes);
  grpc.server = builder.BuildAndStart();
  if (grpc.server == nullptr || grpc.port == 0) {
    return absl::UnavailableError(
        absl::StrCat("listen.grpc: cannot listen on ", address));
  }
  return grpc;
}

absl::Status Listeners::Start(const ListenConfig& listen) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<std::unique_ptr<RestServer>> rest =
      StartRest(listen.http, &rest_port_);
  if (!rest.ok()) return rest.status();
  absl::StatusOr<std::unique_ptr<AdminServer>> admin =
      StartAdmin(listen.admin, &admin_port_);
  if (!admin.ok()) return admin.status();
  absl::StatusOr<Grpc> grpc = StartGrpc(listen.grpc);
  if (!grpc.ok()) return grpc.status();
  rest_ = std::move(*rest);
  admin_ = std::move(*admin);
  grpc_ = std::move(*grpc);
  listen_ = listen;
  return absl::OkStatus();
}

absl::Status Listeners::Rebind(const ListenConfig& listen) {
  absl::MutexLock lock(&mu_);
  // Bind every new address first, so a failure leaves everything as it was.
  std::unique_ptr<RestServer> rest;
  std::unique_ptr<AdminServer> admin;
  Grpc grpc;
  int rest_port = rest_port_;
  int admin_port = admin_port_;
  if (listen.http != listen_.http) {
    absl::StatusOr<std::unique_ptr<RestServer>> started =
        StartRest(listen.http, &rest_port);
    if (!started.ok()) return started.status();
    rest = std::move(*started);
  }
  if (listen.admin != listen_.admin) {
    absl::StatusOr<std::unique_ptr<AdminServer>> started =
        StartAdmin(listen.admin, &admin_port);
    if (!started.ok()) return started.status();
    admin = std::move(*started);
  }
  if (listen.grpc != listen_.grpc) {
    absl::StatusOr<Grpc> started = StartGrpc(listen.grpc);
    if (!started.ok()) return started.status();
    grpc = std::move(*started);
  }
  if (rest != nullptr) {
    std::swap(rest, rest_);
    rest_port_ = rest_port;
    RetireInBackground(std::move(rest));
  }
  if (admin != nullptr) {
    admin->SetReady(true);
    std::swap(admin, admin_);
    admin_port_ = admin_port;
    // The /reload request that got us here may be running on the old one.
    RetireInBackground(std::move(admin));
  }
  if (grpc.server != nullptr) {
    std::swap(grpc, grpc_);
    std::thread([old = std::move(grpc)]() mutable {
      // In-flight calls get the time a stream may need to finish.
      old.server->Shutdown(std::chrono::system_clock::now() +
                           std::chrono::hours(1));
    }).detach();
  }
  listen_ = listen;
  return absl::OkStatus();
}

std::string Listeners::Describe() const {
  absl::MutexLock lock(&mu_);
  return absl::StrCat("http=", HostOf(listen_.http), ":", rest_port_,
                      " grpc=", HostOf(listen_.grpc), ":", grpc_.port,
                      " admin=", HostOf(listen_.admin), ":", admin_port_);
}

void Listeners::SetReady(bool ready) {
  absl::MutexLock lock(&mu_);
  if (admin_ != nullptr) admin_->SetReady(ready);
}

void Listeners::Stop(absl::Duration grace) {
  absl::MutexLock lock(&mu_);
  if (grpc_.server != nullptr) {
    grpc_.server->Shutdown(absl::ToChronoTime(absl::Now() + grace));
    grpc_.server.reset();
  }
  // Idle keep-alive connections and in-flight requests get the grace
  // period; the process exits after it either way (see main.cc).
  if (rest_ != nullptr) RetireInBackground(std::move(rest_));
  if (admin_ != nullptr) RetireInBackground(std::move(admin_));
}

}  // namespace aigw
