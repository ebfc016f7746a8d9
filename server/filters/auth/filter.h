// Who is calling: the key the front door found (Authorization: Bearer,
// api-key, x-api-key, gRPC authorization metadata) must belong to a
// consumer (401 invalid_api_key), and the model must be on its allow-list
// (403 model_not_allowed).
#ifndef AIGW_SERVER_FILTERS_AUTH_FILTER_H_
#define AIGW_SERVER_FILTERS_AUTH_FILTER_H_

#include "server/filters/auth/config.h"
#include "server/filters/filter.h"

namespace aigw {

class AuthFilter : public RequestFilter {
 public:
  explicit AuthFilter(const AuthConfig& config) : config_(config) {}
  absl::Status OnRequest(RequestContext& ctx) override;

 private:
  const AuthConfig& config_;
};

}  // namespace aigw

#endif  // AIGW_SERVER_FILTERS_AUTH_FILTER_H_
