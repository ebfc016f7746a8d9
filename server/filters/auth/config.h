// The auth policy's config: every consumer with its keys, compiled once
// per config load. Keys are held as SHA-256 digests only (a config may list
// them so), and a presented key is hashed and looked up by digest: how long
// the lookup takes depends on the digest of what the caller sent, which
// tells it nothing about any stored key.
#ifndef AIGW_SERVER_FILTERS_AUTH_CONFIG_H_
#define AIGW_SERVER_FILTERS_AUTH_CONFIG_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/config.h"
#include "server/filters/auth/consumer.h"
#include "server/filters/filter.h"

namespace aigw {

class AuthConfig : public FilterFactory {
 public:
  // Null when `consumers` is empty: the gateway is open.
  static absl::StatusOr<std::shared_ptr<AuthConfig>> Create(
      const std::vector<ConsumerConfig>& consumers);

  std::unique_ptr<RequestFilter> Create(
      const RequestContext& ctx) const override;

  // The consumer owning `api_key`, or null.
  const Consumer* Find(absl::string_view api_key) const;

 private:
  std::vector<std::unique_ptr<Consumer>> consumers_;
  absl::flat_hash_map<std::string, const Consumer*> by_digest_;
};

// SHA-256 of `text`, as 32 raw bytes.
std::string Sha256(absl::string_view text);

}  // namespace aigw

#endif  // AIGW_SERVER_FILTERS_AUTH_CONFIG_H_
