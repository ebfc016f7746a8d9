#include "server/listeners.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <thread>

#include "absl/strings/str_cat.h"

namespace aigw {
namespace {

std::string HostOf(const std::string& host_port) {
  return host_port.substr(0, host_port.rfind(':'));
}

constexpr char kChatService[] = "aigw.v1.ChatCompletions";

// The largest request the gRPC server accepts; limits.max_body_bytes of the
// current config is checked per call (grpc_service.cc).
constexpr int kMaxGrpcMessageBytes = 64 << 20;
constexpr int kMaxGrpcStreamsPerConnection = 100;
constexpr int kGrpcIdleConnectionMs = 5 * 60 * 1000;

// Old listeners finish their in-flight work off the reloading thread.
template <typename T>
void RetireInBackground(std::unique_ptr<T> old) {
  if (old == nullptr) return;
  std::thread([old = std::move(old)]() mutable { old->Stop(); }).detach();
}

}  // namespace

Listeners::Listeners(Gateway* gateway, IoLoops* loops, Drain* drain,
                     ProtectionState* protection, Metrics* metrics,
                     const RequestObserver* observer,
                     AdminServer::ReloadFn reload)
    : gateway_(gateway),
      loops_(loops),
      protection_(protection),
      drain_(drain),
      metrics_(metrics),
      observer_(observer),
      reload_(std::move(reload)) {}

Listeners::~Listeners() { Stop(absl::ZeroDuration()); }

absl::StatusOr<std::unique_ptr<RestServer>> Listeners::StartRest(
    const std::string& address, int* port) {
  auto rest = std::make_unique<RestServer>(gateway_, loops_, drain_,
                                           protection_, metrics_, observer_);
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
  auto admin =
      std::make_unique<AdminServer>(metrics_, gateway_, protection_, reload_);
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
  grpc.service = std::make_unique<ChatCompletionsService>(
      gateway_, loops_, drain_, observer_,
      gateway_->snapshot()->config.protection.write_timeout);
  // list_services of reflection v1; v1alpha (the library's plugin) lists
  // the same from the server.
  grpc.reflection = std::make_unique<ReflectionV1Service>(
      std::vector<std::string>{kChatService, "grpc.health.v1.Health",
                               "grpc.reflection.v1.ServerReflection",
                               "grpc.reflection.v1alpha.ServerReflection"});
  grpc::ServerBuilder builder;
  // gRPC sets SO_REUSEPORT by default: a second aigw would share the port
  // and get half the calls instead of failing to start.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(),
                           &grpc.port);
  builder.RegisterService(grpc.service.get());
  builder.RegisterService(grpc.reflection.get());
  builder.SetMaxReceiveMessageSize(kMaxGrpcMessageBytes);
  // One HTTP/2 connection may not hold unbounded calls; a connection with
  // no call for a while is closed (clients reconnect on their next call);
  // clients may ping no more often than every 10 s without calls in
  // flight (more is a flood: the connection is closed after 2 strikes).
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                             kMaxGrpcStreamsPerConnection);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS,
                             kGrpcIdleConnectionMs);
  builder.AddChannelArgument(
      GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 2);
  grpc.server = builder.BuildAndStart();
  if (grpc.server == nullptr || grpc.port == 0) {
    return absl::UnavailableError(
        absl::StrCat("listen.grpc: cannot listen on ", address,
                     ": address in use or not available"));
  }
  // The default health service answers only "" until told of others.
  if (grpc::HealthCheckServiceInterface* health =
          grpc.server->GetHealthCheckService()) {
    health->SetServingStatus(kChatService, true);
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
  if (stopping_) {
    return absl::UnavailableError("shutting down: no listener is rebound");
  }
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

void Listeners::StopAccepting(absl::Time grpc_deadline) {
  absl::MutexLock lock(&mu_);
  stopping_ = true;
  if (rest_ != nullptr) rest_->StopAccepting();
  if (grpc_.server == nullptr || grpc_shutdown_.joinable()) {
    grpc_stopped_.store(true);
    return;
  }
  if (grpc::HealthCheckServiceInterface* health =
          grpc_.server->GetHealthCheckService()) {
    health->SetServingStatus(false);
  }
  // Shutdown() blocks until the calls finish (or the deadline cancels
  // them): off this thread, which keeps watching the grace period.
  grpc::Server* server = grpc_.server.get();
  grpc_shutdown_ = std::thread([this, server, grpc_deadline] {
    server->Shutdown(absl::ToChronoTime(grpc_deadline));
    grpc_stopped_.store(true);
  });
}

bool Listeners::StoppedServing() const {
  absl::MutexLock lock(&mu_);
  return (rest_ == nullptr || rest_->stopped()) && grpc_stopped_.load();
}

void Listeners::Stop(absl::Duration grace) {
  absl::MutexLock lock(&mu_);
  if (grpc_shutdown_.joinable()) grpc_shutdown_.join();
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
