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
#include "server/config_reloader.h"
#include "server/disconnect_watch.h"
#include "server/gateway.h"
#include "server/listeners.h"
#include "server/metrics.h"

namespace {

constexpr char kUsage[] = R"(usage: aigw [--config=PATH] [--check]

  --config=PATH  YAML config (${VAR} and ${VAR:-default} are expanded).
                 Without it a built-in config serves the echo provider on
                 127.0.0.1:8080 (REST), :9090 (gRPC) and :9901 (admin).
  --check        Validate the config and exit (0 when valid).

  SIGHUP, a change of the config file and POST /reload on the admin port
  reload the config; an invalid one is rejected and the old one serves on.
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

constexpr absl::Duration kShutdownGrace = absl::Seconds(2);

int Fail(const std::string& message) {
  std::fprintf(stderr, "aigw: %s\n", message.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  if (!ParseFlags(argc, argv, &flags)) return 2;

  // Before any thread starts (config loading may start context fetchers):
  // threads inherit the mask, so only sigwait below sees these signals.
  // Sockets whose peer left must give errors, not kill the process.
  signal(SIGPIPE, SIG_IGN);
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  absl::StatusOr<aigw::GatewayConfig> config =
      flags.config_path.empty() ? aigw::ParseConfig(aigw::kDefaultConfigYaml)
                                : aigw::LoadConfigFile(flags.config_path);
  if (!config.ok()) {
    return Fail(absl::StrCat("config error: ", config.status().message()));
  }
  aigw::ListenConfig listen = config->listen;
  absl::StatusOr<std::shared_ptr<const aigw::GatewaySnapshot>> snapshot =
      aigw::BuildSnapshot(std::move(*config));
  if (!snapshot.ok()) {
    return Fail(absl::StrCat("config error: ", snapshot.status().message()));
  }
  if (flags.check) {
    std::fputs("aigw: config is valid\n", stdout);
    return 0;
  }

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  aigw::Metrics metrics;
  aigw::Gateway gateway(std::move(*snapshot), &metrics);
  aigw::DisconnectWatch disconnect_watch;
  aigw::ConfigReloader* reloader = nullptr;
  aigw::Listeners listeners(&gateway, &disconnect_watch, &metrics,
                            [&] { return reloader->Reload("POST /reload"); });
  aigw::ConfigReloader config_reloader(flags.config_path, &gateway, &listeners);
  reloader = &config_reloader;
  absl::Status started = listeners.Start(listen);
  if (!started.ok()) return Fail(std::string(started.message()));
  listeners.SetReady(true);
  config_reloader.WatchFile(absl::Seconds(1));
  std::fprintf(stderr, "aigw listening %s\n", listeners.Describe().c_str());
  std::fflush(stderr);

  for (;;) {
    int signal_number = 0;
    sigwait(&signals, &signal_number);
    if (signal_number == SIGHUP) {
      config_reloader.Reload("SIGHUP").IgnoreError();
      continue;
    }
    std::fprintf(stderr, "aigw: signal %d, shutting down\n", signal_number);
    break;
  }
  // Stop accepting, give in-flight requests a moment, then leave: idle
  // keep-alive connections must not hold the process.
  listeners.SetReady(false);
  listeners.Stop(kShutdownGrace);
  absl::Time give_up = absl::Now() + kShutdownGrace;
  while (gateway.in_flight() > 0 && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  std::fflush(stderr);
  std::_Exit(0);
}
