// Parses the routing part of the config: routes, fallback, retries and
// circuit_breaker.
#include <set>

#include "absl/strings/str_cat.h"
#include "server/config.h"
#include "server/config_yaml.h"
#include "server/model_mapper.h"

namespace aigw {
namespace {

absl::Status CheckProvider(const std::set<std::string>& names,
                           const std::string& name, const std::string& key) {
  if (names.count(name) > 0) return absl::OkStatus();
  return KeyError(key, absl::StrCat("no provider is named '", name, "'"));
}

absl::StatusOr<std::vector<std::string>> ProviderList(
    const YAML::Node& node, const std::string& key,
    const std::set<std::string>& names) {
  absl::StatusOr<std::vector<std::string>> list = StringList(node, key);
  if (!list.ok()) return list.status();
  for (size_t i = 0; i < list->size(); ++i) {
    absl::Status status =
        CheckProvider(names, (*list)[i], absl::StrCat(key, "[", i, "]"));
    if (!status.ok()) return status;
  }
  return list;
}

absl::StatusOr<RouteBackend> ParseBackend(const YAML::Node& node,
                                          const std::string& key,
                                          const std::set<std::string>& names) {
  RouteBackend backend;
  if (node.IsScalar()) {
    absl::StatusOr<std::string> name = Scalar(node, key);
    if (!name.ok()) return name.status();
    backend.provider = *name;
  } else {
    absl::Status status = CheckKeys(node, key, {"name", "weight"});
    if (!status.ok()) return status;
    if (!node["name"]) return KeyError(key + ".name", "required");
    absl::StatusOr<std::string> name = Scalar(node["name"], key + ".name");
    if (!name.ok()) return name.status();
    backend.provider = *name;
    if (node["weight"]) {
      absl::StatusOr<int> weight = PositiveInt(node["weight"], key + ".weight");
      if (!weight.ok()) return weight.status();
      backend.weight = *weight;
    }
  }
  absl::Status status = CheckProvider(names, backend.provider, key);
  if (!status.ok()) return status;
  return backend;
}

absl::StatusOr<RouteConfig> ParseRoute(const YAML::Node& node,
                                       const std::string& where,
                                       const std::set<std::string>& names) {
  absl::Status status =
      CheckKeys(node, where, {"models", "providers", "fallback", "context"});
  if (!status.ok()) return status;
  RouteConfig route;
  if (!node["models"]) return KeyError(where + ".models", "required");
  absl::StatusOr<std::vector<std::string>> models =
      node["models"].IsScalar()
          ? absl::StatusOr<std::vector<std::string>>(
                std::vector<std::string>{node["models"].Scalar()})
          : StringList(node["models"], where + ".models");
  if (!models.ok()) return models.status();
  route.models = *models;
  // The patterns follow model_mapping's syntax: check them the same way.
  ProviderConfig patterns;
  for (const std::string& model : route.models) {
    patterns.model_mapping.emplace_back(model, "");
  }
  absl::StatusOr<ModelMapper> matcher = ModelMapper::Create(patterns);
  if (!matcher.ok()) {
    return KeyError(where + ".models", matcher.status().message());
  }
  if (node["providers"]) {
    const YAML::Node& list = node["providers"];
    if (!list.IsSequence()) return KeyError(where + ".providers", "a list");
    for (size_t i = 0; i < list.size(); ++i) {
      absl::StatusOr<RouteBackend> backend = ParseBackend(
          list[i], absl::StrCat(where, ".providers[", i, "]"), names);
      if (!backend.ok()) return backend.status();
      route.providers.push_back(*backend);
    }
  }
  if (node["fallback"]) {
    absl::StatusOr<std::vector<std::string>> fallback =
        ProviderList(node["fallback"], where + ".fallback", names);
    if (!fallback.ok()) return fallback.status();
    route.fallback = *fallback;
    route.has_fallback = true;
  }
  if (route.providers.empty() && !route.has_fallback) {
    return KeyError(where, "name providers or a fallback chain");
  }
  if (node["context"]) {
    absl::StatusOr<ContextConfig> context =
        ParseContext(node["context"], where + ".context");
    if (!context.ok()) return context.status();
    route.context = *context;
  }
  return route;
}

}  // namespace

absl::Status ParseRouting(const YAML::Node& root, GatewayConfig* config) {
  std::set<std::string> names;
  for (const ProviderConfig& provider : config->providers) {
    names.insert(provider.name);
  }
  if (const YAML::Node& routes = root["routes"]) {
    if (!routes.IsSequence()) return KeyError("routes", "expected a list");
    for (size_t i = 0; i < routes.size(); ++i) {
      absl::StatusOr<RouteConfig> route =
          ParseRoute(routes[i], absl::StrCat("routes[", i, "]"), names);
      if (!route.ok()) return route.status();
      config->routes.push_back(std::move(*route));
    }
  }
  if (const YAML::Node& fallback = root["fallback"]) {
    absl::StatusOr<std::vector<std::string>> list =
        ProviderList(fallback, "fallback", names);
    if (!list.ok()) return list.status();
    config->fallback = *list;
  }
  if (const YAML::Node& retries = root["retries"]) {
    absl::Status status =
        CheckKeys(retries, "retries", {"max_attempts", "budget"});
    if (!status.ok()) return status;
    if (retries["max_attempts"]) {
      absl::StatusOr<int> n =
          PositiveInt(retries["max_attempts"], "retries.max_attempts");
      if (!n.ok()) return n.status();
      config->retries.max_attempts = *n;
    }
    if (retries["budget"]) {
      absl::StatusOr<absl::Duration> d =
          DurationField(retries["budget"], "retries.budget");
      if (!d.ok()) return d.status();
      config->retries.budget = *d;
    }
  }
  if (const YAML::Node& breaker = root["circuit_breaker"]) {
    absl::Status status =
        CheckKeys(breaker, "circuit_breaker", {"failures", "cooldown"});
    if (!status.ok()) return status;
    if (breaker["failures"]) {
      absl::StatusOr<int> n =
          PositiveInt(breaker["failures"], "circuit_breaker.failures");
      if (!n.ok()) return n.status();
      config->circuit_breaker.failures = *n;
    }
    if (breaker["cooldown"]) {
      absl::StatusOr<absl::Duration> d =
          DurationField(breaker["cooldown"], "circuit_breaker.cooldown");
      if (!d.ok()) return d.status();
      config->circuit_breaker.cooldown = *d;
    }
  }
  return absl::OkStatus();
}

}  // namespace aigw
