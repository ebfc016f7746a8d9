// The gateway's YAML config, parsed and validated once into an immutable
// value. Every error names the offending key (e.g. "providers[1].type").
#ifndef AIGW_SERVER_CONFIG_H_
#define AIGW_SERVER_CONFIG_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "providers/provider.h"
#include "server/protection/cidr_set.h"

namespace aigw {

struct ListenConfig {
  std::string http = "127.0.0.1:8080";
  std::string grpc = "127.0.0.1:9090";
  std::string admin = "127.0.0.1:9901";
};

// What one consumer, or one model of it, may spend; 0 = unlimited.
struct LimitValues {
  int64_t requests_per_minute = 0;
  int64_t tokens_per_minute = 0;
  int64_t tokens_per_day = 0;
  int64_t max_concurrent = 0;  // requests and streams in flight
};

// A consumer's limits: its own, and per-model budgets (keyed by a pattern
// as in model_mapping) that requests for those models draw on as well.
struct ConsumerLimits {
  LimitValues all;
  std::vector<std::pair<std::string, LimitValues>> models;
};

enum class BudgetExhausted { kFinish, kCut };

// A `consumers:` entry: who may call, with which keys, for which models.
struct ConsumerConfig {
  std::string name;
  std::vector<std::string> api_keys;  // plain, or "sha256:<64 hex>"
  std::vector<std::string> models;    // allow-list patterns; empty: all
  bool has_limits = false;            // false: limits.default applies
  ConsumerLimits limits;
  BudgetExhausted on_budget_exhausted = BudgetExhausted::kFinish;
};

enum class LimitStoreKind { kLocal, kRedis };

struct LimitsConfig {
  size_t max_body_bytes = 10 << 20;  // larger request bodies get 413
  ConsumerLimits default_limits;     // limits.default
  // The completion tokens reserved for a request that names no max_tokens.
  int64_t default_max_tokens = 4096;
  LimitStoreKind store = LimitStoreKind::kLocal;
  bool deny_on_store_error = false;  // on_store_error: deny
};

// `admin:`; a token makes POST /reload require `Authorization: Bearer`.
struct AdminConfig {
  std::string token;
};

// `redis:`: the shared limit store (limits.store: redis).
struct RedisConfig {
  std::string address = "127.0.0.1:6379";  // host:port
  std::string password;                    // "" = no AUTH
  int db = 0;
  std::string key_prefix = "aigw:";
  absl::Duration timeout = absl::Milliseconds(50);  // connect and each call
};

struct RouteBackend {
  std::string provider;
  int weight = 1;
};

// A `routes:` entry: which requested models it matches (exact, "prefix*",
// "~regex", "*"), the providers that share its load by weight, and the
// fallback chain tried in order when the chosen one fails.
struct RouteConfig {
  std::vector<std::string> models;
  std::vector<RouteBackend> providers;
  std::vector<std::string> fallback;
  bool has_fallback = false;  // an explicit `fallback: []` disables the default
  ContextConfig context;
};

struct RetryConfig {
  int max_attempts = 3;                       // upstream calls per request
  absl::Duration budget = absl::Seconds(60);  // no new attempt after this
};

struct CircuitBreakerConfig {
  int failures = 5;  // consecutive failures that open the breaker
  absl::Duration cooldown = absl::Seconds(30);
};

// `cors:` for browser clients. Off (empty allow_origins) by default; a
// request carrying an Origin header that is not listed gets 403 either way.
struct CorsConfig {
  std::vector<std::string> allow_origins;  // "https://host[:port]" or "*"
  std::vector<std::string> allow_headers;  // empty: whatever the browser asks
  absl::Duration max_age = absl::Minutes(10);
};

// `shutdown:`: how long SIGTERM lets in-flight requests and streams run.
struct ShutdownConfig {
  absl::Duration grace = absl::Seconds(30);
};

// `protection:` guards the listeners against floods, slow clients and
// running out of descriptors or memory (server/protection/ holds the
// pieces). Counts of 0 mean no cap.
struct ProtectionConfig {
  int64_t max_connections = 20000;  // all client connections together
  int64_t max_connections_per_ip = 256;
  int64_t max_streams_per_ip = 128;       // requests and streams in flight
  double requests_per_ip_per_second = 0;  // 0 = off; else a token bucket
  // The bucket's size; ParseConfig fills in max(1, rate rounded up) when
  // it is not written.
  double requests_per_ip_burst = 1;
  absl::Duration head_timeout = absl::Seconds(10);   // request line + headers
  absl::Duration body_timeout = absl::Seconds(30);   // the whole body
  absl::Duration idle_timeout = absl::Seconds(60);   // keep-alive, no request
  absl::Duration write_timeout = absl::Seconds(30);  // no byte accepted
  CidrSet trusted_proxies;  // X-Forwarded-For is believed only from these
  // Clients on loopback (a sidecar's own app, local tools) are not held to
  // the per-IP caps and request rate: behind one address they are every
  // client there is. The global cap, timeouts and shedding still apply.
  bool exempt_loopback = true;
  // Load shedding: new connections and requests are refused while open
  // descriptors are at shed_fd_ratio of RLIMIT_NOFILE, or resident memory
  // at shed_memory_ratio of max_memory (0 = the cgroup's memory limit; no
  // limit known: no memory shedding). A ratio of 0 turns that check off.
  double shed_fd_ratio = 0.9;
  int64_t max_memory = 0;  // bytes
  double shed_memory_ratio = 0.9;
};

// `observability:`. The access log is on (JSON to stdout) by default;
// traces are exported only when an OTLP endpoint is set.
struct ObservabilityConfig {
  bool access_log = true;
  std::string access_log_format = "json";  // json | text
  std::string access_log_path = "stdout";  // stdout | stderr | a file
  std::string otlp_endpoint;               // "" = no export
  std::vector<std::pair<std::string, std::string>> otlp_headers;
  double otlp_sample_ratio = 1.0;  // of traces without a sampled parent
};

struct GatewayConfig {
  ListenConfig listen;
  LimitsConfig limits;
  std::vector<ProviderConfig> providers;
  std::vector<RouteConfig> routes;
  std::vector<std::string> fallback;  // default chain for every request
  RetryConfig retries;
  CircuitBreakerConfig circuit_breaker;
  CorsConfig cors;
  ShutdownConfig shutdown;
  std::vector<ConsumerConfig> consumers;  // empty: an open gateway
  RedisConfig redis;
  AdminConfig admin;
  ProtectionConfig protection;
  ObservabilityConfig observability;
  // I/O threads, 1..256; `threads: auto` (the default) is resolved by
  // ParseConfig to the CPUs this process may use (UsableCpuCount).
  int threads = 1;
};

// Built in: serves the echo provider so the gateway answers out of the box.
extern const char kDefaultConfigYaml[];

// Expands ${VAR} and ${VAR:-default} from the environment.
absl::StatusOr<std::string> ExpandEnv(absl::string_view text);

absl::StatusOr<GatewayConfig> ParseConfig(absl::string_view yaml);
absl::StatusOr<GatewayConfig> LoadConfigFile(const std::string& path);

// "500ms", "2s", "1m", "1h": the unit is required (a bare "5000" could mean
// seconds or milliseconds); only "0" may go without one.
absl::StatusOr<absl::Duration> ParseDuration(absl::string_view text);

}  // namespace aigw

#endif  // AIGW_SERVER_CONFIG_H_
