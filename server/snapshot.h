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

#include "absl/status/statusor.h"
#include "providers/provider.h"
#include "server/circuit_breaker.h"
#include "server/config.h"
#include "server/context_source.h"
#include "server/model_mapper.h"

namespace aigw {

struct Backend {
  ProviderConfig config;
  ModelMapper mapper;
  std::unique_ptr<Provider> provider;
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
  absl::Time built_at = absl::Now();  // /v1/models' `created`

  // What /readyz reports: context sources whose last load failed.
  std::vector<std::string> ContextProblems() const;
};

// `previous` (may be null) lends its URL context sources to the new
// snapshot when their config is unchanged, so a reload does not drop a
// loaded context while it fetches it again, and its circuit breakers to
// providers whose name, type, base_url and keys are unchanged. (Key
// cool-downs carry over the same way, inside the adapters: MakeKeyRing.)
absl::StatusOr<std::shared_ptr<const GatewaySnapshot>> BuildSnapshot(
    GatewayConfig config, const GatewaySnapshot* previous = nullptr);

// One provider to try for a request.
struct Candidate {
  const Backend* backend = nullptr;
  std::string upstream_model;
  const ContextSource* route_context = nullptr;
};

// The providers to try for `model`, in order: the route's provider chosen
// by weight (`random` picks it), or the first provider serving the model,
// then the fallback chain. 404 model_not_found when nothing serves it.
absl::StatusOr<std::vector<Candidate>> PlanFor(const GatewaySnapshot& snapshot,
                                               const std::string& model,
                                               uint32_t random);

}  // namespace aigw

#endif  // AIGW_SERVER_SNAPSHOT_H_
