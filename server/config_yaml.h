// Readers for YAML config fields: every error names the key it is about
// ("providers[1].timeouts.read: ..."), and every scalar has ${VAR} and
// ${VAR:-default} expanded from the environment.
#ifndef AIGW_SERVER_CONFIG_YAML_H_
#define AIGW_SERVER_CONFIG_YAML_H_

#include <yaml-cpp/yaml.h>

#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace aigw {

absl::Status KeyError(const std::string& key, absl::string_view message);
absl::StatusOr<std::string> Scalar(const YAML::Node& node,
                                   const std::string& key);
// The ${VAR} (no default) in `text` whose variable is unset or empty.
std::vector<std::string> MissingEnvVars(absl::string_view text);
// For keys where an unset variable is never what the user meant (base_url:
// the public endpoint instead; api_keys: an empty key): an error naming the
// key and the variable. `node` is a scalar or a list of them.
absl::Status CheckEnvSet(const YAML::Node& node, const std::string& key);
// yaml-cpp keeps both copies of a key written twice in one mapping and
// lookups see only the first: the whole document is checked once.
absl::Status CheckDuplicateKeys(const YAML::Node& node,
                                const std::string& where);
// A mapping whose keys are all in `known`.
absl::Status CheckKeys(const YAML::Node& map, const std::string& where,
                       const std::set<std::string>& known);
absl::StatusOr<std::vector<std::string>> StringList(const YAML::Node& node,
                                                    const std::string& key);
absl::StatusOr<absl::Duration> DurationField(const YAML::Node& node,
                                             const std::string& key);
absl::StatusOr<int> PositiveInt(const YAML::Node& node, const std::string& key);

// The parts of the config, one parser each (config.cc puts them together).
struct ContextConfig;
struct ProviderConfig;
enum class UnsupportedParams;
struct GatewayConfig;
absl::StatusOr<ContextConfig> ParseContext(const YAML::Node& node,
                                           const std::string& path);
// `unsupported_params` is the global policy, used unless the entry sets its
// own.
absl::StatusOr<ProviderConfig> ParseProvider(
    const YAML::Node& node, const std::string& where,
    UnsupportedParams unsupported_params);
// `unsupported_params: drop | reject`.
absl::StatusOr<UnsupportedParams> ParseUnsupportedParams(
    const YAML::Node& node, const std::string& key);
// consumers, limits, redis and admin.
absl::Status ParseConsumers(const YAML::Node& root, GatewayConfig* config);
// protection and threads.
absl::Status ParseProtection(const YAML::Node& root, GatewayConfig* config);
// `observability:` (observability_config.cc).
absl::Status ParseObservability(const YAML::Node& root, GatewayConfig* config);
// routes, fallback, retries, circuit_breaker; provider names are checked
// against `config->providers`.
absl::Status ParseRouting(const YAML::Node& root, GatewayConfig* config);

}  // namespace aigw

#endif  // AIGW_SERVER_CONFIG_YAML_H_
