#include "server/model_catalog.h"

#include <set>
#include <vector>

#include "absl/strings/match.h"

namespace aigw {
namespace {

// A route's pattern that names one model ("gpt-4o"), not a family.
bool IsConcreteName(const std::string& pattern) {
  return !pattern.empty() && pattern != "*" && !absl::EndsWith(pattern, "*") &&
         !absl::StartsWith(pattern, "~");
}

// Owned by the provider a request would reach first (a weighted route
// reports its first provider: the listing must not change per call).
v1::Model ModelEntry(const GatewaySnapshot& snapshot, const std::string& id,
                     const Candidate& first) {
  v1::Model model;
  model.set_id(id);
  model.set_object("model");
  model.set_created(absl::ToUnixSeconds(snapshot.built_at));
  model.set_owned_by(first.backend->config.name);
  return model;
}

}  // namespace

v1::ListModelsResponse ListServedModels(const GatewaySnapshot& snapshot) {
  std::vector<std::string> names;
  for (const auto& backend : snapshot.backends) {
    for (const std::string& name : backend->mapper.listed_models()) {
      names.push_back(name);
    }
  }
  for (const RouteConfig& route : snapshot.config.routes) {
    for (const std::string& pattern : route.models) {
      if (IsConcreteName(pattern)) names.push_back(pattern);
    }
  }
  v1::ListModelsResponse response;
  response.set_object("list");
  std::set<std::string> seen;
  for (const std::string& name : names) {
    if (!seen.insert(name).second) continue;
    absl::StatusOr<std::vector<Candidate>> plan = PlanFor(snapshot, name, 0);
    if (!plan.ok()) continue;  // listed, but shadowed by nothing that serves
    *response.add_data() = ModelEntry(snapshot, name, plan->front());
  }
  return response;
}

absl::StatusOr<v1::Model> FindServedModel(const GatewaySnapshot& snapshot,
                                          const std::string& id) {
  absl::StatusOr<std::vector<Candidate>> plan = PlanFor(snapshot, id, 0);
  if (!plan.ok()) return plan.status();
  return ModelEntry(snapshot, id, plan->front());
}

}  // namespace aigw
