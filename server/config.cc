#include "server/config.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "server/config_yaml.h"

namespace aigw {

const char kDefaultConfigYaml[] = R"yaml(
listen:
  http: 127.0.0.1:8080
  grpc: 127.0.0.1:9090
  admin: 127.0.0.1:9901
providers:
  - name: echo
    type: echo
    models: [echo]
    model_mapping:
      "*": ""
)yaml";

namespace {

absl::Status CheckHostPort(const std::string& value, const std::string& key) {
  size_t colon = value.rfind(':');
  int port = -1;
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(value.substr(colon + 1), &port) || port < 0 ||
      port > 65535) {
    return KeyError(
        key, absl::StrCat("'", value, "' is not HOST:PORT (port 0 = any)"));
  }
  return absl::OkStatus();
}

// A browser's Origin is exactly "scheme://host[:port]": anything else
// (a path, a trailing slash) would never match and fail silently.
absl::Status CheckOrigin(const std::string& origin, const std::string& key) {
  if (origin == "*") return absl::OkStatus();
  size_t scheme_end = origin.find("://");
  bool ok = (absl::StartsWith(origin, "http://") ||
             absl::StartsWith(origin, "https://")) &&
            scheme_end != std::string::npos && origin.size() > scheme_end + 3 &&
            origin.find('/', scheme_end + 3) == std::string::npos;
  if (ok) return absl::OkStatus();
  return KeyError(key, absl::StrCat("'", origin,
                                    "' is not an origin such as "
                                    "https://chat.example.com (no path, no "
                                    "trailing slash) or \"*\""));
}

absl::StatusOr<CorsConfig> ParseCors(const YAML::Node& node) {
  absl::Status status =
      CheckKeys(node, "cors", {"allow_origins", "allow_headers", "max_age"});
  if (!status.ok()) return status;
  CorsConfig cors;
  if (node["allow_origins"]) {
    absl::StatusOr<std::vector<std::string>> origins =
        StringList(node["allow_origins"], "cors.allow_origins");
    if (!origins.ok()) return origins.status();
    for (size_t i = 0; i < origins->size(); ++i) {
      status = CheckOrigin((*origins)[i],
                           absl::StrCat("cors.allow_origins[", i, "]"));
      if (!status.ok()) return status;
    }
    cors.allow_origins = *origins;
  }
  if (node["allow_headers"]) {
    absl::StatusOr<std::vector<std::string>> headers =
        StringList(node["allow_headers"], "cors.allow_headers");
    if (!headers.ok()) return headers.status();
    cors.allow_headers = *headers;
  }
  if (node["max_age"]) {
    absl::StatusOr<absl::Duration> max_age =
        DurationField(node["max_age"], "cors.max_age");
    if (!max_age.ok()) return max_age.status();
    cors.max_age = *max_age;
  }
  return cors;
}

absl::StatusOr<ShutdownConfig> ParseShutdown(const YAML::Node& node) {
  absl::Status status = CheckKeys(node, "shutdown", {"grace"});
  if (!status.ok()) return status;
  ShutdownConfig shutdown;
  if (node["grace"]) {
    absl::StatusOr<absl::Duration> grace =
        DurationField(node["grace"], "shutdown.grace");
    if (!grace.ok()) return grace.status();
    shutdown.grace = *grace;
  }
  return shutdown;
}

// Two listeners on one address: the second bind would fail at start.
absl::Status CheckDistinctAddresses(const ListenConfig& listen) {
  const std::pair<const char*, const std::string*> named[] = {
      {"http", &listen.http}, {"grpc", &listen.grpc}, {"admin", &listen.admin}};
  for (size_t i = 0; i < 3; ++i) {
    for (size_t j = i + 1; j < 3; ++j) {
      const std::string& address = *named[i].second;
      if (address != *named[j].second || absl::EndsWith(address, ":0")) {
        continue;
      }
      return KeyError(absl::StrCat("listen.", named[j].first),
                      absl::StrCat(address, " is also listen.", named[i].first,
                                   "; each listener needs its own port"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<GatewayConfig> ParseConfig(absl::string_view yaml) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid YAML at line ", e.mark.line + 1, ": ", e.msg));
  }
  GatewayConfig config;
  if (root.IsNull()) return KeyError("providers", "required");
  absl::Status duplicates = CheckDuplicateKeys(root, "");
  if (!duplicates.ok()) return duplicates;
  absl::Status status = CheckKeys(
      root, "",
      {"listen", "limits", "providers", "routes", "fallback", "retries",
       "circuit_breaker", "unsupported_params", "cors", "shutdown", "consumers",
       "redis", "admin", "protection", "threads", "observability"});
  if (!status.ok()) return status;

  if (root["listen"]) {
    const YAML::Node& listen = root["listen"];
    status = CheckKeys(listen, "listen", {"http", "grpc", "admin"});
    if (!status.ok()) return status;
    for (const auto& item : listen) {
      std::string key = absl::StrCat("listen.", item.first.Scalar());
      absl::StatusOr<std::string> value = Scalar(item.second, key);
      if (!value.ok()) return value.status();
      status = CheckHostPort(*value, key);
      if (!status.ok()) return status;
      std::string name = item.first.Scalar();
      if (name == "http") config.listen.http = *value;
      if (name == "grpc") config.listen.grpc = *value;
      if (name == "admin") config.listen.admin = *value;
    }
  }
  status = CheckDistinctAddresses(config.listen);
  if (!status.ok()) return status;
  if (root["cors"]) {
    absl::StatusOr<CorsConfig> cors = ParseCors(root["cors"]);
    if (!cors.ok()) return cors.status();
    config.cors = *std::move(cors);
  }
  if (root["shutdown"]) {
    absl::StatusOr<ShutdownConfig> shutdown = ParseShutdown(root["shutdown"]);
    if (!shutdown.ok()) return shutdown.status();
    config.shutdown = *shutdown;
  }
  status = ParseConsumers(root, &config);
  if (!status.ok()) return status;
  status = ParseProtection(root, &config);
  if (!status.ok()) return status;
  status = ParseObservability(root, &config);
  if (!status.ok()) return status;
  const YAML::Node& providers = root["providers"];
  if (!providers || !providers.IsSequence() || providers.size() == 0) {
    return KeyError("providers", "a non-empty list of providers is required");
  }
  UnsupportedParams unsupported_params = UnsupportedParams::kDrop;
  if (root["unsupported_params"]) {
    absl::StatusOr<UnsupportedParams> policy = ParseUnsupportedParams(
        root["unsupported_params"], "unsupported_params");
    if (!policy.ok()) return policy.status();
    unsupported_params = *policy;
  }
  std::set<std::string> names;
  for (size_t i = 0; i < providers.size(); ++i) {
    std::string where = absl::StrCat("providers[", i, "]");
    absl::StatusOr<ProviderConfig> provider =
        ParseProvider(providers[i], where, unsupported_params);
    if (!provider.ok()) return provider.status();
    if (!names.insert(provider->name).second) {
      return KeyError(where + ".name", absl::StrCat("duplicate provider name '",
                                                    provider->name, "'"));
    }
    config.providers.push_back(std::move(*provider));
  }
  status = ParseRouting(root, &config);
  if (!status.ok()) return status;
  return config;
}

absl::StatusOr<GatewayConfig> LoadConfigFile(const std::string& path) {
  // An ifstream opens a directory and reads nothing from it, which would be
  // reported as a config without providers.
  std::error_code error;
  if (std::filesystem::is_directory(path, error)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--config: ", path, " is a directory; give the YAML file's path"));
  }
  std::ifstream file(path);
  if (!file) {
    return absl::NotFoundError(absl::StrCat("cannot read config ", path));
  }
  std::stringstream text;
  text << file.rdbuf();
  return ParseConfig(text.str());
}

}  // namespace aigw
