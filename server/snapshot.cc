#include "server/snapshot.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "providers/common/api_error.h"
#include "providers/registry.h"

namespace aigw {
namespace {

absl::Status ModelNotFound(const std::string& model) {
  ApiErrorSpec spec;
  spec.code = absl::StatusCode::kNotFound;
  spec.message = absl::StrCat("The model `", model,
                              "` does not exist or you do not have access "
                              "to it.");
  spec.error_code = "model_not_found";
  spec.param = "model";
  return MakeApiError(spec);
}

using UrlSources = std::map<std::pair<std::string, absl::Duration>,
                            std::shared_ptr<ContextSource>>;

UrlSources UrlSourcesOf(const GatewaySnapshot* snapshot) {
  UrlSources sources;
  if (snapshot == nullptr) return sources;
  auto add = [&sources](const std::shared_ptr<ContextSource>& source) {
    if (source == nullptr || source->config().url.empty()) return;
    sources[{source->config().url, source->config().refresh}] = source;
  };
  for (const auto& backend : snapshot->backends) add(backend->context);
  for (const CompiledRoute& route : snapshot->routes) add(route.context);
  return sources;
}

absl::StatusOr<std::shared_ptr<ContextSource>> MaybeContext(
    const ContextConfig& config, const std::string& where,
    const UrlSources& previous) {
  if (config.empty()) return std::shared_ptr<ContextSource>();
  auto reused = previous.find({config.url, config.refresh});
  if (!config.url.empty() && reused != previous.end()) return reused->second;
  return ContextSource::Create(config, where);
}

// The previous snapshot's breaker for `provider`, when the reload kept the
// provider's upstream and the breaker settings; else a fresh one.
std::shared_ptr<CircuitBreaker> BreakerFor(const ProviderConfig& provider,
                                           const CircuitBreakerConfig& settings,
                                           const GatewaySnapshot* previous) {
  if (previous != nullptr &&
      previous->config.circuit_breaker.failures == settings.failures &&
      previous->config.circuit_breaker.cooldown == settings.cooldown) {
    for (const auto& backend : previous->backends) {
      const ProviderConfig& old = backend->config;
      if (old.name == provider.name && old.type == provider.type &&
          old.base_url == provider.base_url &&
          old.api_keys == provider.api_keys) {
        return backend->breaker;
      }
    }
  }
  return std::make_shared<CircuitBreaker>(settings.failures, settings.cooldown);
}

}  // namespace

std::vector<std::string> GatewaySnapshot::ContextProblems() const {
  std::vector<std::string> problems;
  auto check = [&problems](const std::shared_ptr<ContextSource>& source) {
    if (source == nullptr) return;
    std::string problem = source->Problem();
    if (!problem.empty()) problems.push_back(std::move(problem));
  };
  for (const auto& backend : backends) check(backend->context);
  for (const CompiledRoute& route : routes) check(route.context);
  return problems;
}

absl::StatusOr<std::shared_ptr<const GatewaySnapshot>> BuildSnapshot(
    GatewayConfig config, const GatewaySnapshot* previous) {
  auto snapshot = std::make_shared<GatewaySnapshot>();
  const UrlSources previous_sources = UrlSourcesOf(previous);
  std::map<std::string, const Backend*> by_name;
  for (size_t i = 0; i < config.providers.size(); ++i) {
    const ProviderConfig& provider_config = config.providers[i];
    std::string where = absl::StrCat("providers[", i, "]");
    absl::StatusOr<ModelMapper> mapper = ModelMapper::Create(provider_config);
    if (!mapper.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ".model_mapping: ", mapper.status().message()));
    }
    absl::StatusOr<std::unique_ptr<Provider>> provider =
        ProviderRegistry::Global().Create(provider_config);
    if (!provider.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ".", provider.status().message()));
    }
    absl::StatusOr<std::shared_ptr<ContextSource>> context = MaybeContext(
        provider_config.context, where + ".context", previous_sources);
    if (!context.ok()) return context.status();
    auto backend = std::make_unique<Backend>();
    backend->config = provider_config;
    backend->mapper = std::move(*mapper);
    backend->provider = std::move(*provider);
    backend->breaker =
        BreakerFor(provider_config, config.circuit_breaker, previous);
    backend->context = std::move(*context);
    by_name[provider_config.name] = backend.get();
    snapshot->backends.push_back(std::move(backend));
  }
  for (size_t i = 0; i < config.routes.size(); ++i) {
    const RouteConfig& route_config = config.routes[i];
    std::string where = absl::StrCat("routes[", i, "]");
    ProviderConfig patterns;
    for (const std::string& model : route_config.models) {
      patterns.model_mapping.emplace_back(model, "");
    }
    absl::StatusOr<ModelMapper> matcher = ModelMapper::Create(patterns);
    if (!matcher.ok()) return matcher.status();
    CompiledRoute route{std::move(*matcher)};
    for (const RouteBackend& backend : route_config.providers) {
      route.providers.push_back(by_name.at(backend.provider));
      route.weights.push_back(backend.weight);
      route.total_weight += backend.weight;
    }
    for (const std::string& name : route_config.fallback) {
      route.fallback.push_back(by_name.at(name));
    }
    route.has_fallback = route_config.has_fallback;
    absl::StatusOr<std::shared_ptr<ContextSource>> context = MaybeContext(
        route_config.context, where + ".context", previous_sources);
    if (!context.ok()) return context.status();
    route.context = std::move(*context);
    snapshot->routes.push_back(std::move(route));
  }
  for (const std::string& name : config.fallback) {
    snapshot->default_fallback.push_back(by_name.at(name));
  }
  snapshot->config = std::move(config);
  return std::shared_ptr<const GatewaySnapshot>(std::move(snapshot));
}

absl::StatusOr<std::vector<Candidate>> PlanFor(const GatewaySnapshot& snapshot,
                                               const std::string& model,
                                               uint32_t random) {
  std::vector<const Backend*> chain;
  const CompiledRoute* route = nullptr;
  for (const CompiledRoute& candidate : snapshot.routes) {
    if (candidate.matcher.Map(model).has_value()) {
      route = &candidate;
      break;
    }
  }
  if (route != nullptr) {
    if (route->total_weight > 0) {
      int ticket = static_cast<int>(random % route->total_weight);
      for (size_t i = 0; i < route->providers.size(); ++i) {
        ticket -= route->weights[i];
        if (ticket < 0) {
          chain.push_back(route->providers[i]);
          break;
        }
      }
    }
    const auto& fallback =
        route->has_fallback ? route->fallback : snapshot.default_fallback;
    chain.insert(chain.end(), fallback.begin(), fallback.end());
  } else {
    for (const auto& backend : snapshot.backends) {
      if (backend->mapper.Map(model).has_value()) {
        chain.push_back(backend.get());
        break;
      }
    }
    if (chain.empty()) return ModelNotFound(model);
    chain.insert(chain.end(), snapshot.default_fallback.begin(),
                 snapshot.default_fallback.end());
  }
  std::vector<Candidate> plan;
  for (const Backend* backend : chain) {
    bool seen = std::any_of(plan.begin(), plan.end(), [&](const Candidate& c) {
      return c.backend == backend;
    });
    if (seen) continue;
    // A provider named by a route or a fallback serves the model even when
    // its mapping does not list it: then it gets the requested name.
    plan.push_back(
        Candidate{backend, backend->mapper.Map(model).value_or(model),
                  route != nullptr ? route->context.get() : nullptr});
  }
  if (plan.empty()) return ModelNotFound(model);
  return plan;
}

}  // namespace aigw
