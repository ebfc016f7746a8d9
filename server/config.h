// The gateway's YAML config, parsed and validated once into an immutable
// value. Every error names the offending key (e.g. "providers[1].type").
#ifndef AIGW_SERVER_CONFIG_H_
#define AIGW_SERVER_CONFIG_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "providers/provider.h"

namespace aigw {

struct ListenConfig {
  std::string http = "127.0.0.1:8080";
  std::string grpc = "127.0.0.1:9090";
  std::string admin = "127.0.0.1:9901";
};

struct LimitsConfig {
  size_t max_body_bytes = 10 << 20;  // larger request bodies get 413
};

struct GatewayConfig {
  ListenConfig listen;
  LimitsConfig limits;
  std::vector<ProviderConfig> providers;
};

// Built in: serves the echo provider so the gateway answers out of the box.
extern const char kDefaultConfigYaml[];

// Expands ${VAR} and ${VAR:-default} from the environment.
absl::StatusOr<std::string> ExpandEnv(absl::string_view text);

absl::StatusOr<GatewayConfig> ParseConfig(absl::string_view yaml);
absl::StatusOr<GatewayConfig> LoadConfigFile(const std::string& path);

// "500ms", "2s", "1m", "1h" or a bare number of seconds.
absl::StatusOr<absl::Duration> ParseDuration(absl::string_view text);

}  // namespace aigw

#endif  // AIGW_SERVER_CONFIG_H_
