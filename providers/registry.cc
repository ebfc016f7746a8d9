#include "providers/registry.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace aigw {

ProviderRegistry& ProviderRegistry::Global() {
  static ProviderRegistry* registry = new ProviderRegistry();
  return *registry;
}

void ProviderRegistry::Register(const std::string& type,
                                ProviderFactory factory) {
  factories_[type] = std::move(factory);
}

bool ProviderRegistry::Has(const std::string& type) const {
  return factories_.count(type) > 0;
}

absl::StatusOr<std::unique_ptr<Provider>> ProviderRegistry::Create(
    const ProviderConfig& config) const {
  auto it = factories_.find(config.type);
  if (it == factories_.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("type: unknown provider type '", config.type,
                     "' (known: ", absl::StrJoin(Types(), ", "), ")"));
  }
  return it->second(config);
}

std::vector<std::string> ProviderRegistry::Types() const {
  std::vector<std::string> types;
  for (const auto& [type, factory] : factories_) types.push_back(type);
  return types;
}

}  // namespace aigw
