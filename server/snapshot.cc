#include "server/snapshot.h"

#include <algorithm>
#include <map>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "providers/common/api_error.h"
#include "providers/registry.h"
#include "server/filters/auth/config.h"
#include "server/filters/rate_limit/config.h"
#include "server/filters/rate_limit/local_store.h"
#include "server/filters/rate_limit/redis_store.h"
#include "server/filters/validate/filter.h"

namespace aigw {
namespace {

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

// The connection pool of an adapter with an upstream (null: none), shared
// with the snapshot before when the reload kept its origin, CA file and
// timeouts: its kept-alive connections stay warm.
absl::StatusOr<std::shared_ptr<UpstreamPool>> PoolFor(
    const ProviderConfig& config, const Provider& provider,
    StateRegistry& state) {
  const UpstreamEndpoint* endpoint = provider.endpoint();
  if (endpoint == nullptr) return std::shared_ptr<UpstreamPool>();
  UpstreamOptions options;
  options.connect_timeout = config.connect_timeout;
  options.read_timeout = config.read_timeout;
  options.ca_file = config.ca_file;
  std::string id =
      absl::StrCat("pool/", endpoint->origin, "/", options.ca_file, "/",
                   absl::FormatDuration(options.connect_timeout), "/",
                   absl::FormatDuration(options.read_timeout));
  absl::Status error;
  std::shared_ptr<UpstreamPool> pool = state.GetOrCreate<UpstreamPool>(
      id, [&]() -> std::shared_ptr<UpstreamPool> {
        absl::StatusOr<std::shared_ptr<UpstreamPool>> made =
            UpstreamPool::Create(*endpoint, options);
        if (!made.ok()) {
          error = made.status();
          return nullptr;
        }
        return *made;
      });
  if (!error.ok()) return error;
  return pool;
}

// The breaker of `provider`, shared with the snapshot before when the
// reload kept the provider's upstream and the breaker settings.
std::shared_ptr<CircuitBreaker> BreakerFor(const ProviderConfig& provider,
                                           const CircuitBreakerConfig& settings,
                                           StateRegistry& state) {
  std::string keys;
  for (const std::string& key : provider.api_keys) {
    absl::StrAppend(&keys, key.size(), ":", key);
  }
  // Keys are in the registry's key only as a digest.
  std::string id = absl::StrCat(
      "breaker/", provider.name, "/", provider.type, "/", provider.base_url,
      "/", absl::BytesToHexString(Sha256(keys)), "/", settings.failures, "/",
      absl::FormatDuration(settings.cooldown));
  return state.GetOrCreate<CircuitBreaker>(id, [&settings] {
    return std::make_shared<CircuitBreaker>(settings.failures,
                                            settings.cooldown);
  });
}

// The store limiter counters live in: in this process, or the Redis the
// config names (one store per address, database, prefix and credentials).
std::shared_ptr<LimitStore> LimitStoreFor(const GatewayConfig& config,
                                          StateRegistry& state) {
  if (config.limits.store == LimitStoreKind::kLocal) {
    return state.GetOrCreate<LimitStore>("limit_store/local", [] {
      return std::make_shared<LocalLimitStore>();
    });
  }
  const RedisConfig& redis = config.redis;
  std::string id =
      absl::StrCat("limit_store/redis/", redis.address, "/", redis.db, "/",
                   redis.key_prefix, "/", absl::FormatDuration(redis.timeout),
                   "/", absl::BytesToHexString(Sha256(redis.password)));
  return state.GetOrCreate<LimitStore>(
      id, [&redis] { return std::make_shared<RedisLimitStore>(redis); });
}

absl::Status BuildFilters(const GatewayConfig& config, StateRegistry& state,
                          Metrics& metrics, FilterFactories* filters) {
  absl::StatusOr<std::shared_ptr<AuthConfig>> auth =
      AuthConfig::Create(config.consumers);
  if (!auth.ok()) return auth.status();
  if (*auth != nullptr) filters->push_back(*std::move(auth));
  filters->push_back(std::make_shared<ValidateConfig>());
  bool limited = false;
  for (const ConsumerConfig& consumer : config.consumers) {
    limited = limited || consumer.has_limits;
  }
  // No store is made (no Redis is dialled) for a config without limits.
  const LimitValues& defaults = config.limits.default_limits.all;
  limited = limited || defaults.requests_per_minute > 0 ||
            defaults.tokens_per_minute > 0 || defaults.tokens_per_day > 0 ||
            defaults.max_concurrent > 0 ||
            !config.limits.default_limits.models.empty();
  if (!limited) return absl::OkStatus();
  absl::StatusOr<std::shared_ptr<RateLimitConfig>> limits =
      RateLimitConfig::Create(config, LimitStoreFor(config, state), &metrics);
  if (!limits.ok()) return limits.status();
  if (*limits != nullptr) filters->push_back(*std::move(limits));
  return absl::OkStatus();
}

}  // namespace

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
    GatewayConfig config, StateRegistry& state, Metrics& metrics,
    const GatewaySnapshot* previous) {
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
    absl::StatusOr<std::shared_ptr<UpstreamPool>> pool =
        PoolFor(provider_config, **provider, state);
    if (!pool.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ".", pool.status().message()));
    }
    auto backend = std::make_unique<Backend>();
    backend->config = provider_config;
    backend->pool = std::move(*pool);
    backend->mapper = std::move(*mapper);
    backend->provider = std::move(*provider);
    backend->breaker =
        BreakerFor(provider_config, config.circuit_breaker, state);
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
  absl::Status filters =
      BuildFilters(config, state, metrics, &snapshot->filters);
  if (!filters.ok()) return filters;
  for (const auto& backend : snapshot->backends) {
    for (const std::string& name : backend->mapper.listed_models()) {
      snapshot->metric_models.insert(name);
    }
    for (const auto& [from, to] : backend->config.model_mapping) {
      if (!to.empty() && to.find('$') == std::string::npos) {
        snapshot->metric_models.insert(to);
      }
    }
  }
  for (const RouteConfig& route : config.routes) {
    for (const std::string& pattern : route.models) {
      if (!pattern.empty() && pattern != "*" && pattern.back() != '*' &&
          pattern.front() != '~') {
        snapshot->metric_models.insert(pattern);
      }
    }
  }
  // The auth filter keeps digests; the snapshot keeps no client key.
  for (ConsumerConfig& consumer : config.consumers) consumer.api_keys.clear();
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
    Candidate candidate;
    candidate.backend = backend;
    candidate.upstream_model = backend->mapper.Map(model).value_or(model);
    candidate.upstream_model_label =
        std::string(snapshot.ModelLabel(candidate.upstream_model));
    candidate.route_context = route != nullptr ? route->context.get() : nullptr;
    plan.push_back(std::move(candidate));
  }
  if (plan.empty()) return ModelNotFound(model);
  return plan;
}

}  // namespace aigw
