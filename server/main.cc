// aigw: an AI gateway. OpenAI-compatible REST and aigw.v1 gRPC in front of
// many LLM providers.
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <signal.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/admin_server.h"
#include "server/config.h"
#include "server/disconnect_watch.h"
#include "server/gateway.h"
#include "server/grpc_service.h"
#include "server/metrics.h"
#include "server/rest_server.h"

namespace {

constexpr char kUsage[] = R"(usage: aigw [--config=PATH] [--check]

  --config=PATH  YAML config (${VAR} and ${VAR:-default} are expanded).
                 Without it a built-in config serves the echo provider on
                 127.0.0.1:8080 (REST), :9090 (gRPC) and :9901 (admin).
  --check        Validate the config and exit (0 when valid).
  --help         Show this help.
)";

struct Flags {
  std::string config_path;
  bool check = false;
};

bool ParseFlags(int argc, char** argv, Flags* flags) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else if (absl::StartsWith(arg, "--config=")) {
      flags->config_path = arg.substr(strlen("--config="));
    } else if (arg == "--config" && i + 1 < argc) {
      flags->config_path = argv[++i];
    } else if (arg == "--check") {
      flags->check = true;
    } else {
      std::fprintf(stderr, "aigw: unknown flag '%s'\n%s", arg.c_str(), kUsage);
      return false;
    }
  }
  return true;
}

int Fail(const std::string& message) {
  std::fprintf(stderr, "aigw: %s\n", message.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  if (!ParseFlags(argc, argv, &flags)) return 2;

  absl::StatusOr<aigw::GatewayConfig> config =
      flags.config_path.empty() ? aigw::ParseConfig(aigw::kDefaultConfigYaml)
                                : aigw::LoadConfigFile(flags.config_path);
  if (!config.ok()) {
    return Fail(absl::StrCat("config error: ", config.status().message()));
  }
  aigw::ListenConfig listen = config->listen;
  size_t max_body_bytes = config->limits.max_body_bytes;
  absl::StatusOr<std::shared_ptr<const aigw::GatewaySnapshot>> snapshot =
      aigw::BuildSnapshot(std::move(*config));
  if (!snapshot.ok()) {
    return Fail(absl::StrCat("config error: ", snapshot.status().message()));
  }
  if (flags.check) {
    std::fputs("aigw: config is valid\n", stdout);
    return 0;
  }

  // Sockets whose peer left must give errors, not kill the process.
  signal(SIGPIPE, SIG_IGN);
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  aigw::Metrics metrics;
  aigw::Gateway gateway(std::move(*snapshot), &metrics);
  aigw::DisconnectWatch disconnect_watch;

  aigw::RestServer rest(&gateway, &disconnect_watch, max_body_bytes);
  absl::StatusOr<int> http_port = rest.Bind(listen.http);
  if (!http_port.ok()) {
    return Fail(absl::StrCat("listen.http: ", http_port.status().message()));
  }
  aigw::AdminServer admin(&metrics);
  absl::StatusOr<int> admin_port = admin.Bind(listen.admin);
  if (!admin_port.ok()) {
    return Fail(absl::StrCat("listen.admin: ", admin_port.status().message()));
  }

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  aigw::ChatCompletionsService service(&gateway, &disconnect_watch);
  grpc::ServerBuilder builder;
  int grpc_port = 0;
  builder.AddListeningPort(listen.grpc, grpc::InsecureServerCredentials(),
                           &grpc_port);
  builder.RegisterService(&service);
  builder.SetMaxReceiveMessageSize(static_cast<int>(max_body_bytes));
  std::unique_ptr<grpc::Server> grpc_server = builder.BuildAndStart();
  if (!grpc_server || grpc_port == 0) {
    return Fail(absl::StrCat("listen.grpc: cannot listen on ", listen.grpc));
  }

  rest.Start();
  admin.Start();
  admin.SetReady(true);
  auto host_of = [](const std::string& host_port) {
    return host_port.substr(0, host_port.rfind(':'));
  };
  std::fprintf(stderr, "aigw listening http=%s:%d grpc=%s:%d admin=%s:%d\n",
               host_of(listen.http).c_str(), *http_port,
               host_of(listen.grpc).c_str(), grpc_port,
               host_of(listen.admin).c_str(), *admin_port);
  std::fflush(stderr);

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  std::fprintf(stderr, "aigw: signal %d, shutting down\n", signal_number);
  admin.SetReady(false);
  grpc_server->Shutdown(std::chrono::system_clock::now() +
                        std::chrono::seconds(5));
  rest.Stop();
  admin.Stop();
  return 0;
}
