// Everything built from one config: provider adapters, model mappers,
// compiled routes, breakers and context sources. Immutable once built;
// requests hold it by shared_ptr for their whole life, so a reload never
// changes a request mid-way.
#ifndef AIGW_SERVER_SNAPSHOT_H_
#define AIGW_SERVER_SNAPSHOT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "providers/provider.h"
#include "server/circuit_breaker.h"
#include "server/config.h"
#include "server/context_source.h"
#include "server/filters/filter_chain.h"
#include "server/metrics.h"
#include "server/model_mapper.h"
#include "server/net/upstream_client.h"
#include "server/state_registry.h"

namespace aigw {

struct Backend {
  ProviderConfig config;
  ModelMapper mapper;
  std::unique_ptr<Provider> provider;
  // Its upstream's connections (null: a local provider). Shared with the
  // previous snapshot when the reload kept origin, CA file and timeouts.
  std::shared_ptr<UpstreamPool> pool;
  // Shared with the previous snapshot's backend when a reload kept the
  // provider's upstream and the breaker settings: a reload does not close
  // an open breaker.
  std::shared_ptr<CircuitBreaker> breaker;
  std::shared_ptr<ContextSource> context;  // null: none
};

struct CompiledRoute {
  ModelMapper matcher;  // its patterns, each mapped to ""
  std::vector<const Backend*> providers;
  std::vector<int> weights;
  int total_weight = 0;
  std::vector<const Backend*> fallback;
  bool has_fallback = false;
  std::shared_ptr<ContextSource> context;  // null: none
};

struct GatewaySnapshot {
  GatewayConfig config;
  std::vector<std::unique_ptr<Backend>> backends;  // config order
  std::vector<CompiledRoute> routes;
  std::vector<const Backend*> default_fallback;
  // The request pipeline, in order: auth, validation, limits.
  FilterFactories filters;
  absl::Time built_at = absl::Now();  // /v1/models' `created`
  // Model names that may appear as metric labels: the configured ones
  // (listed, mapped to, named by routes). Anything else is "other", so a
  // client cannot grow the label set.
  absl::flat_hash_set<std::string> metric_models;

  // `model` as a metric label.
  absl::string_view ModelLabel(absl::string_view model) const {
    return metric_models.contains(model) ? model : "other";
  }

  // What /readyz reports: context sources whose last load failed.
  std::vector<std::string> ContextProblems() const;
};

// State that outlives a reload comes from `state`: circuit breakers of
// providers whose name, type, base_url, keys and breaker settings are
// unchanged, and the limit store (what consumers have spent). Key
// cool-downs carry over the same way, inside the adapters (MakeKeyRing).
// `previous` (may be null) lends its URL context sources to the new
// snapshot when their config is unchanged, so a reload does not drop a
// loaded context while it fetches it again. `metrics` must outlive it.
absl::StatusOr<std::shared_ptr<const GatewaySnapshot>> BuildSnapshot(
    GatewayConfig config, StateRegistry& state, Metrics& metrics,
    const GatewaySnapshot* previous = nullptr);

// One provider to try for a request.
struct Candidate {
  const Backend* backend = nullptr;
  std::string upstream_model;
  std::string upstream_model_label;  // GatewaySnapshot::ModelLabel of it
  const ContextSource* route_context = nullptr;
};

// OpenAI's 404 for a model the caller cannot use.
absl::Status ModelNotFound(const std::string& model);

// The providers to try for `model`, in order: the route's provider chosen
// by weight (`random` picks it), or the first provider serving the model,
// then the fallback chain. 404 model_not_found when nothing serves it.
absl::StatusOr<std::vector<Candidate>> PlanFor(const GatewaySnapshot& snapshot,
                                               const std::string& model,
                                               uint32_t random);

}  // namespace aigw

#endif  // AIGW_SERVER_SNAPSHOT_H_
