// Parses one `providers:` entry.
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "providers/registry.h"
#include "providers/upstream_request.h"
#include "server/config.h"
#include "server/config_yaml.h"
#include "server/model_mapper.h"

namespace aigw {
namespace {

absl::Status ParseTimeouts(const YAML::Node& node, const std::string& path,
                           ProviderConfig* config) {
  absl::Status status =
      CheckKeys(node, path, {"connect", "first_byte", "idle", "read", "total"});
  if (!status.ok()) return status;
  for (const auto& entry : node) {
    std::string name = entry.first.Scalar();
    absl::StatusOr<absl::Duration> d =
        DurationField(entry.second, absl::StrCat(path, ".", name));
    if (!d.ok()) return d.status();
    if (name == "connect") config->connect_timeout = *d;
    if (name == "first_byte") config->first_byte_timeout = *d;
    if (name == "idle" || name == "read") config->read_timeout = *d;
    if (name == "total") config->total_timeout = *d;
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ContextConfig> ParseContext(const YAML::Node& node,
                                           const std::string& path) {
  absl::Status status = CheckKeys(node, path, {"file", "url", "refresh"});
  if (!status.ok()) return status;
  ContextConfig context;
  for (const auto& entry : node) {
    std::string name = entry.first.Scalar();
    std::string key = absl::StrCat(path, ".", name);
    if (name == "refresh") {
      absl::StatusOr<absl::Duration> d = DurationField(entry.second, key);
      if (!d.ok()) return d.status();
      if (*d < absl::Seconds(1)) return KeyError(key, "at least 1s");
      context.refresh = *d;
      continue;
    }
    absl::StatusOr<std::string> text = Scalar(entry.second, key);
    if (!text.ok()) return text.status();
    (name == "file" ? context.file : context.url) = *text;
  }
  if (context.file.empty() == context.url.empty()) {
    return KeyError(path, "give exactly one of file or url");
  }
  if (!context.url.empty()) {
    absl::StatusOr<UpstreamEndpoint> endpoint = ParseBaseUrl(context.url);
    if (!endpoint.ok()) {
      return KeyError(path + ".url", endpoint.status().message());
    }
  }
  return context;
}

absl::StatusOr<UnsupportedParams> ParseUnsupportedParams(
    const YAML::Node& node, const std::string& key) {
  absl::StatusOr<std::string> text = Scalar(node, key);
  if (!text.ok()) return text.status();
  if (*text == "drop") return UnsupportedParams::kDrop;
  if (*text == "reject") return UnsupportedParams::kReject;
  return KeyError(key,
                  absl::StrCat("expected drop or reject, not '", *text, "'"));
}

absl::StatusOr<ProviderConfig> ParseProvider(
    const YAML::Node& node, const std::string& where,
    UnsupportedParams unsupported_params) {
  if (!node.IsMap()) return KeyError(where, "expected a mapping");
  ProviderConfig config;
  config.unsupported_params = unsupported_params;
  for (const auto& item : node) {
    std::string key = item.first.Scalar();
    std::string path = absl::StrCat(where, ".", key);
    const YAML::Node& value = item.second;
    if (key == "base_url" || key == "api_keys") {
      absl::Status env = CheckEnvSet(value, path);
      if (!env.ok()) return env;
    }
    if (key == "name" || key == "type" || key == "base_url" ||
        key == "ca_file") {
      absl::StatusOr<std::string> text = Scalar(value, path);
      if (!text.ok()) return text.status();
      if (key == "name") config.name = *text;
      if (key == "type") config.type = *text;
      if (key == "base_url") config.base_url = *text;
      if (key == "ca_file") {
        // A missing CA would only show as TLS failures at the first call.
        std::ifstream file(*text);
        if (!file)
          return KeyError(path, absl::StrCat("cannot read '", *text, "'"));
        config.ca_file = *text;
      }
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
      absl::Status status = ParseTimeouts(value, path, &config);
      if (!status.ok()) return status;
    } else if (key == "unsupported_params") {
      absl::StatusOr<UnsupportedParams> policy =
          ParseUnsupportedParams(value, path);
      if (!policy.ok()) return policy.status();
      config.unsupported_params = *policy;
    } else if (key == "context") {
      absl::StatusOr<ContextConfig> context = ParseContext(value, path);
      if (!context.ok()) return context.status();
      config.context = *context;
    } else {
      // Type-specific keys; the provider's factory validates them.
      absl::StatusOr<std::string> text = Scalar(value, path);
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

}  // namespace aigw
