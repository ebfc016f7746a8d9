// A provider's model_mapping: which requested model names it serves and the
// upstream name for each. Precedence is fixed: exact, then the longest
// prefix ("gpt-4*"), then regexes ("~^o(\\d)-mini$") in the order written,
// then "*". A mapped value of "" keeps the requested name; "$1" in a regex
// value is its capture group. `models` adds names served as they are.
#ifndef AIGW_SERVER_MODEL_MAPPER_H_
#define AIGW_SERVER_MODEL_MAPPER_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "providers/provider.h"
#include "re2/re2.h"

namespace aigw {

class ModelMapper {
 public:
  static absl::StatusOr<ModelMapper> Create(const ProviderConfig& config);

  // The upstream model name, or nullopt when this provider does not serve
  // `requested`.
  std::optional<std::string> Map(const std::string& requested) const;
  // Concrete names a client can send (exact keys and `models`), in order.
  const std::vector<std::string>& listed_models() const { return listed_; }

 private:
  struct RegexRule {
    std::shared_ptr<const RE2> pattern;
    std::string rewrite;
  };

  std::map<std::string, std::string> exact_;
  std::vector<std::pair<std::string, std::string>> prefixes_;  // longest 1st
  std::vector<RegexRule> regexes_;
  std::optional<std::string> fallback_;  // "*"
  bool serves_all_ = false;              // no mapping and no models
  std::vector<std::string> listed_;
};

}  // namespace aigw

#endif  // AIGW_SERVER_MODEL_MAPPER_H_
