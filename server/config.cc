#include "server/config.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <set>
#include <sstream>

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
  absl::Status status =
      CheckKeys(root, "",
                {"listen", "limits", "providers", "routes", "fallback",
                 "retries", "circuit_breaker", "unsupported_params"});
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
  if (root["limits"]) {
    status = CheckKeys(root["limits"], "limits", {"max_body_bytes"});
    if (!status.ok()) return status;
    if (root["limits"]["max_body_bytes"]) {
      absl::StatusOr<std::string> value =
          Scalar(root["limits"]["max_body_bytes"], "limits.max_body_bytes");
      if (!value.ok()) return value.status();
      if (!absl::SimpleAtoi(*value, &config.limits.max_body_bytes) ||
          config.limits.max_body_bytes == 0) {
        return KeyError("limits.max_body_bytes",
                        "expected a positive number of bytes");
      }
    }
  }
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
  std::ifstream file(path);
  if (!file) {
    return absl::NotFoundError(absl::StrCat("cannot read config ", path));
  }
  std::stringstream text;
  text << file.rdbuf();
  return ParseConfig(text.str());
}

}  // namespace aigw
