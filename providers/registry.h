// Maps a config `type` to the factory of its adapter. Each adapter folder
// registers itself with a static ProviderRegistration (alwayslink), so adding
// a provider means adding a folder and a dependency, never editing a switch.
#ifndef AIGW_PROVIDERS_REGISTRY_H_
#define AIGW_PROVIDERS_REGISTRY_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "providers/provider.h"

namespace aigw {

using ProviderFactory = std::function<absl::StatusOr<std::unique_ptr<Provider>>(
    const ProviderConfig&)>;

class ProviderRegistry {
 public:
  static ProviderRegistry& Global();

  void Register(const std::string& type, ProviderFactory factory);
  bool Has(const std::string& type) const;
  // Errors name the offending key, as config validation reports them.
  absl::StatusOr<std::unique_ptr<Provider>> Create(
      const ProviderConfig& config) const;
  std::vector<std::string> Types() const;

 private:
  std::map<std::string, ProviderFactory> factories_;
};

struct ProviderRegistration {
  ProviderRegistration(const std::string& type, ProviderFactory factory) {
    ProviderRegistry::Global().Register(type, std::move(factory));
  }
};

}  // namespace aigw

#endif  // AIGW_PROVIDERS_REGISTRY_H_
