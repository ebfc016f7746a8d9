#include "server/config.h"

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "providers/common/http_client_pool.h"
#include "providers/registry.h"
#include "server/model_mapper.h"

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

absl::Status KeyError(const std::string& key, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat(key, ": ", message));
}

absl::StatusOr<std::string> Scalar(const YAML::Node& node,
                                   const std::string& key) {
  if (!node.IsScalar()) return KeyError(key, "expected a single value");
  absl::StatusOr<std::string> expanded = ExpandEnv(node.Scalar());
  if (!expanded.ok()) return KeyError(key, expanded.status().message());
  return expanded;
}

absl::Status CheckKeys(const YAML::Node& map, const std::string& where,
                       const std::set<std::string>& known) {
  if (!map.IsMap()) return KeyError(where, "expected a mapping");
  for (const auto& item : map) {
    std::string key = item.first.Scalar();
    if (known.count(key) == 0) {
      return KeyError(where.empty() ? key : absl::StrCat(where, ".", key),
                      absl::StrCat("unknown key (expected one of: ",
                                   absl::StrJoin(known, ", "), ")"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> StringList(const YAML::Node& node,
                                                    const std::string& key) {
  if (!node.IsSequence()) return KeyError(key, "expected a list");
  std::vector<std::string> out;
  for (size_t i = 0; i < node.size(); ++i) {
    absl::StatusOr<std::string> value =
        Scalar(node[i], absl::StrCat(key, "[", i, "]"));
    if (!value.ok()) return value.status();
    out.push_back(*value);
  }
  return out;
}

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

absl::StatusOr<ProviderConfig> ParseProvider(const YAML::Node& node,
                                             const std::string& where) {
  if (!node.IsMap()) return KeyError(where, "expected a mapping");
  ProviderConfig config;
  for (const auto& item : node) {
    std::string key = item.first.Scalar();
    std::string path = absl::StrCat(where, ".", key);
    const YAML::Node& value = item.second;
    absl::StatusOr<std::string> text;
    if (key == "name" || key == "type" || key == "base_url" ||
        key == "ca_file") {
      text = Scalar(value, path);
      if (!text.ok()) return text.status();
      if (key == "name") config.name = *text;
      if (key == "type") config.type = *text;
      if (key == "base_url") config.base_url = *text;
      if (key == "ca_file") config.ca_file = *text;
    } else if (key == "api_keys") {
      absl::StatusOr<std::vector<std::string>> keys = StringList(value, path);
      if (!keys.ok()) return keys.status();
      for (size_t i = 0; i < keys->size(); ++i) {
        if ((*keys)[i].empty()) {
          return KeyError(absl::StrCat(path, "[", i, "]"),
                          "empty key (is its environment variable set?)");
        }
      }
      config.api_keys = *keys;
    } else if (key == "models") {
      absl::StatusOr<std::vector<std::string>> models = StringList(value, path);
      if (!models.ok()) return models.status();
      config.models = *models;
    } else if (key == "model_mapping") {
      if (!value.IsMap()) return KeyError(path, "expected a mapping");
      for (const auto& entry : value) {
        std::string from = entry.first.Scalar();
        absl::StatusOr<std::string> to =
            Scalar(entry.second, absl::StrCat(path, ".", from));
        if (!to.ok()) return to.status();
        config.model_mapping.emplace_back(from, *to);
      }
    } else if (key == "timeouts") {
      absl::Status status = CheckKeys(value, path, {"connect", "read"});
      if (!status.ok()) return status;
      for (const auto& entry : value) {
        std::string name = entry.first.Scalar();
        std::string entry_path = absl::StrCat(path, ".", name);
        text = Scalar(entry.second, entry_path);
        if (!text.ok()) return text.status();
        absl::StatusOr<absl::Duration> d = ParseDuration(*text);
        if (!d.ok()) return KeyError(entry_path, d.status().message());
        (name == "connect" ? config.connect_timeout : config.read_timeout) = *d;
      }
    } else {
      // Type-specific keys; the provider's factory validates them.
      text = Scalar(value, path);
      if (!text.ok()) return text.status();
      config.options[key] = *text;
    }
  }
  if (config.name.empty()) return KeyError(where + ".name", "required");
  if (config.type.empty()) return KeyError(where + ".type", "required");
  if (!ProviderRegistry::Global().Has(config.type)) {
    return KeyError(
        where + ".type",
        absl::StrCat("unknown provider type '", config.type, "' (known: ",
                     absl::StrJoin(ProviderRegistry::Global().Types(), ", "),
                     ")"));
  }
  if (!config.base_url.empty()) {
    absl::StatusOr<UpstreamEndpoint> endpoint = ParseBaseUrl(config.base_url);
    if (!endpoint.ok()) {
      return KeyError(where + ".base_url", endpoint.status().message());
    }
  }
  absl::StatusOr<ModelMapper> mapper = ModelMapper::Create(config);
  if (!mapper.ok()) {
    return KeyError(where + ".model_mapping", mapper.status().message());
  }
  return config;
}

}  // namespace

absl::StatusOr<std::string> ExpandEnv(absl::string_view text) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] != '$' || i + 1 >= text.size() || text[i + 1] != '{') {
      out.push_back(text[i++]);
      continue;
    }
    size_t close = text.find('}', i + 2);
    if (close == absl::string_view::npos) {
      return absl::InvalidArgumentError("unterminated ${ in value");
    }
    absl::string_view inner = text.substr(i + 2, close - i - 2);
    size_t dash = inner.find(":-");
    std::string name(inner.substr(0, dash));
    if (name.empty()) return absl::InvalidArgumentError("empty ${} in value");
    const char* env = std::getenv(name.c_str());
    if (env != nullptr && (*env != '\0' || dash == absl::string_view::npos)) {
      out += env;
    } else if (dash != absl::string_view::npos) {
      out += std::string(inner.substr(dash + 2));
    }
    i = close + 1;
  }
  return out;
}

absl::StatusOr<absl::Duration> ParseDuration(absl::string_view text) {
  absl::Duration d;
  double seconds = 0;
  if (absl::SimpleAtod(text, &seconds) && seconds >= 0) {
    return absl::Seconds(seconds);
  }
  if (!absl::ParseDuration(text, &d) || d < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", text, "' is not a duration such as 500ms, 2s, 1m"));
  }
  return d;
}

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
  absl::Status status = CheckKeys(root, "", {"listen", "limits", "providers"});
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
  std::set<std::string> names;
  for (size_t i = 0; i < providers.size(); ++i) {
    std::string where = absl::StrCat("providers[", i, "]");
    absl::StatusOr<ProviderConfig> provider =
        ParseProvider(providers[i], where);
    if (!provider.ok()) return provider.status();
    if (!names.insert(provider->name).second) {
      return KeyError(where + ".name", absl::StrCat("duplicate provider name '",
                                                    provider->name, "'"));
    }
    config.providers.push_back(std::move(*provider));
  }
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
