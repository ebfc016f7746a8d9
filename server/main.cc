// aigw: an AI gateway. OpenAI-compatible REST and aigw.v1 gRPC in front of
// many LLM providers.
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "providers/common/log.h"
#include "server/admin_server.h"
#include "server/config.h"
#include "server/config_reloader.h"
#include "server/drain.h"
#include "server/gateway.h"
#include "server/listeners.h"
#include "server/metrics.h"
#include "server/net/io_loops.h"
#include "server/observability/access_log.h"
#include "server/observability/otlp_exporter.h"
#include "server/observability/request_observer.h"
#include "server/protection/protection_state.h"
#include "server/protection/system_resources.h"

namespace {

constexpr char kUsage[] =
    R"(usage: aigw [--config=PATH] [--check] [--log-level=LEVEL]
            [--log-format=json|text] [--help]

  --config=PATH  YAML config (${VAR} and ${VAR:-default} are expanded).
                 Without it a built-in config serves the echo provider on
                 127.0.0.1:8080 (REST), :9090 (gRPC) and :9901 (admin).
  --check        Validate the config and exit (0 when valid).
  --log-level=LEVEL
                 debug, info (default), warn or error: the least severe
                 lines the stderr log keeps. The listening line is always
                 written.
  --log-format=json|text
                 One JSON object per stderr line (default) or plain text.
  --help         Show this help.

  SIGHUP, a change of the config file and POST /reload on the admin port
  reload the config; an invalid one is rejected and the old one serves on.
  SIGTERM drains: no new connections, /readyz 503, requests in flight get
  shutdown.grace (default 30s); a second SIGTERM exits at once.
)";

struct Flags {
  std::string config_path;
  bool check = false;
  aigw::LogLevel log_level = aigw::LogLevel::kInfo;
  aigw::LogFormat log_format = aigw::LogFormat::kJson;
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
    } else if (absl::StartsWith(arg, "--log-level=")) {
      std::string level = arg.substr(strlen("--log-level="));
      if (!aigw::ParseLogLevel(level, &flags->log_level)) {
        std::fprintf(stderr,
                     "aigw: --log-level must be debug, info, warn or error, "
                     "not '%s'\n",
                     level.c_str());
        return false;
      }
    } else if (absl::StartsWith(arg, "--log-format=")) {
      std::string format = arg.substr(strlen("--log-format="));
      if (!aigw::ParseLogFormat(format, &flags->log_format)) {
        std::fprintf(stderr,
                     "aigw: --log-format must be json or text, not '%s'\n",
                     format.c_str());
        return false;
      }
    } else {
      std::fprintf(stderr, "aigw: unknown flag '%s'\n%s", arg.c_str(), kUsage);
      return false;
    }
  }
  return true;
}

int Fail(const std::string& message) {
  aigw::Log(aigw::LogLevel::kError, message);
  return 1;
}

// The access log and the trace exporter, process-wide (kept across
// reloads); null until main makes them.
aigw::AccessLog* access_log = nullptr;
aigw::OtlpExporter* exporter = nullptr;

// How long the spans of the last requests may take to reach the collector
// at exit (one POST's timeout is 5 s by default; a dead collector must not
// hold the exit that long).
constexpr absl::Duration kSpanFlush = absl::Seconds(2);

// Leaves without running destructors: detached threads (context fetchers,
// retiring listeners) may still be running. The access log's last lines
// are written first, then the spans queued (for at most `span_flush`).
[[noreturn]] void ExitNow(int code, absl::Duration span_flush = kSpanFlush) {
  if (access_log != nullptr) access_log->Flush();
  if (exporter != nullptr) {
    exporter->FlushUntil(absl::Now() + span_flush);
  }
  std::fflush(stderr);
  std::fflush(stdout);
  std::_Exit(code);
}

// Waits until `done()` or `deadline`; a SIGTERM or SIGINT meanwhile exits
// at once (the operator asked twice). Returns done().
bool WaitUntil(absl::Time deadline, const std::function<bool()>& done,
               const sigset_t& signals) {
  while (!done()) {
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return false;
    timespec wait = absl::ToTimespec(std::min(left, absl::Milliseconds(20)));
    int signal_number = sigtimedwait(&signals, nullptr, &wait);
    if (signal_number == SIGTERM || signal_number == SIGINT) {
      aigw::Log(aigw::LogLevel::kWarn,
                absl::StrCat("signal ", signal_number, " again, exiting now"),
                {{"signal", signal_number}});
      ExitNow(128 + signal_number, absl::ZeroDuration());
    }
  }
  return true;
}

// Time for streams ended by the drain to send their error event (gRPC
// cancels its calls at its own deadline, so it gets this much more).
constexpr absl::Duration kFinalWrites = absl::Seconds(2);
// A response is written just after its request leaves the drain.
constexpr absl::Duration kFlush = absl::Milliseconds(250);

// SIGTERM: /readyz 503 and no new connections at once; requests and
// streams in flight get `grace` to finish; the ones still running then end
// with a server_shutdown error their client sees.
[[noreturn]] void DrainAndExit(aigw::Listeners& listeners, aigw::Drain& drain,
                               absl::Duration grace, const sigset_t& signals) {
  listeners.SetReady(false);
  absl::Time deadline = absl::Now() + grace;
  listeners.StopAccepting(deadline + kFinalWrites);
  auto idle = [&drain] { return drain.active() == 0; };
  if (!WaitUntil(deadline, idle, signals)) {
    int active = drain.active();
    aigw::Log(aigw::LogLevel::kWarn,
              absl::StrCat("shutdown grace of ", absl::FormatDuration(grace),
                           " over, ending ", active, " requests"),
              {{"grace", absl::FormatDuration(grace)}, {"requests", active}});
    drain.EndAll();
    WaitUntil(absl::Now() + kFinalWrites, idle, signals);
  }
  WaitUntil(
      absl::Now() + kFlush, [&] { return listeners.StoppedServing(); },
      signals);
  ExitNow(0);
}

// `observability:` of the config serving now, applied to the access log
// and the trace exporter.
absl::Status ApplyObservability(const aigw::ObservabilityConfig& config,
                                aigw::AccessLog& log,
                                aigw::OtlpExporter& exporter) {
  aigw::AccessLogConfig log_config;
  log_config.enabled = config.access_log;
  log_config.format = config.access_log_format == "text"
                          ? aigw::LogFormat::kText
                          : aigw::LogFormat::kJson;
  log_config.path = config.access_log_path;
  absl::Status status = log.Configure(log_config);
  aigw::OtlpConfig otlp;
  otlp.endpoint = config.otlp_endpoint;
  otlp.headers = config.otlp_headers;
  otlp.sample_ratio = config.otlp_sample_ratio;
  exporter.Configure(otlp);
  return status;
}

// Always written (whatever --log-level): tests, scripts and operators find
// the ports with it. `described` is "http=H grpc=G admin=A".
void LogListening(const std::string& described) {
  std::string http, grpc, admin;
  for (absl::string_view part : absl::StrSplit(described, ' ')) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(part, absl::MaxSplits('=', 1));
    if (kv.first == "http") http = std::string(kv.second);
    if (kv.first == "grpc") grpc = std::string(kv.second);
    if (kv.first == "admin") admin = std::string(kv.second);
  }
  aigw::LogAlways(aigw::LogLevel::kInfo,
                  absl::StrCat("aigw listening ", described),
                  {{"http", http}, {"grpc", grpc}, {"admin", admin}});
}

}  // namespace

int main(int argc, char** argv) {
  // Debian builds Abseil without NDEBUG: its Mutex would track lock order
  // for deadlock reports on every lock, a measurable cost per request.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  Flags flags;
  if (!ParseFlags(argc, argv, &flags)) return 2;
  aigw::SetLogLevel(flags.log_level);
  aigw::SetLogFormat(flags.log_format);
  aigw::SetLogLevel(flags.log_level);
  aigw::SetLogFormat(flags.log_format);

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
  bool open_gateway = config->consumers.empty();
  aigw::StateRegistry state;
  aigw::Metrics metrics;
  absl::StatusOr<std::shared_ptr<const aigw::GatewaySnapshot>> snapshot =
      aigw::BuildSnapshot(std::move(*config), state, metrics);
  if (!snapshot.ok()) {
    return Fail(absl::StrCat("config error: ", snapshot.status().message()));
  }
  if (flags.check) {
    std::fputs("aigw: config is valid\n", stdout);
    return 0;
  }

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  metrics.RecordConfigLoaded(absl::Now());
  access_log = new aigw::AccessLog();
  exporter = new aigw::OtlpExporter();
  absl::Status observability = ApplyObservability(
      (*snapshot)->config.observability, *access_log, *exporter);
  if (!observability.ok()) {
    return Fail(absl::StrCat("config error: observability.access_log: ",
                             observability.message()));
  }
  static aigw::RequestObserver* observer =
      new aigw::RequestObserver(&metrics, access_log, exporter);

  aigw::Gateway gateway(std::move(*snapshot), &metrics);
  // The data plane's event loops (threads: auto = one per core; read at
  // start only); they run until the process exits.
  aigw::RaiseOpenFileLimit();
  static aigw::IoLoops* loops =
      new aigw::IoLoops(gateway.snapshot()->config.threads);
  loops->Start();
  // Connection protection, kept across reloads: sampled (descriptors,
  // memory, the offender log) and retuned to the current config once a
  // second.
  static aigw::ProtectionState* protection =
      new aigw::ProtectionState(gateway.snapshot()->config.protection);
  // Off the event loops: reading /proc and trimming the heap must not
  // stall accepts or streams.
  std::thread([&gateway] {
    std::shared_ptr<const aigw::GatewaySnapshot> applied;
    for (;;) {
      std::shared_ptr<const aigw::GatewaySnapshot> now = gateway.snapshot();
      if (now != applied) {
        protection->Apply(now->config.protection);
        absl::Status observability = ApplyObservability(
            now->config.observability, *access_log, *exporter);
        if (!observability.ok()) {
          aigw::Log(aigw::LogLevel::kError,
                    absl::StrCat(
                        "observability.access_log: ", observability.message(),
                        "; the access log keeps its previous "
                        "settings"));
        }
        applied = std::move(now);
      }
      protection->Tick(absl::Now());
      absl::SleepFor(absl::Seconds(1));
    }
  }).detach();
  aigw::Drain drain;
  aigw::ConfigReloader* reloader = nullptr;
  aigw::Listeners listeners(&gateway, loops, &drain, protection, &metrics,
                            observer,
                            [&] { return reloader->Reload("POST /reload"); });
  aigw::ConfigReloader config_reloader(flags.config_path, &gateway, &listeners,
                                       &state, &metrics);
  reloader = &config_reloader;
  absl::Status started = listeners.Start(listen);
  if (!started.ok()) {
    Fail(std::string(started.message()));
    ExitNow(1);
  }
  listeners.SetReady(true);
  config_reloader.WatchFile(absl::Seconds(1));
  LogListening(listeners.Describe());
  if (open_gateway) {
    aigw::Log(aigw::LogLevel::kWarn,
              "no consumers configured: anyone who reaches the port may call "
              "(add `consumers:` to require API keys)");
  }

  int signal_number = 0;
  for (;;) {
    sigwait(&signals, &signal_number);
    if (signal_number == SIGHUP) {
      config_reloader.Reload("SIGHUP").IgnoreError();
      continue;
    }
    break;
  }
  absl::Duration grace = gateway.snapshot()->config.shutdown.grace;
  aigw::Log(
      aigw::LogLevel::kInfo,
      absl::StrCat("signal ", signal_number, ", draining (grace ",
                   absl::FormatDuration(grace), "; signal again to exit now)"),
      {{"signal", signal_number}, {"grace", absl::FormatDuration(grace)}});
  DrainAndExit(listeners, drain, grace, signals);
}
