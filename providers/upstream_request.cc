#include "providers/upstream_request.h"

#include "absl/strings/str_cat.h"

namespace aigw {

absl::StatusOr<UpstreamEndpoint> ParseBaseUrl(absl::string_view base_url) {
  size_t scheme_end = base_url.find("://");
  if (scheme_end == absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", base_url, "' is not an http(s) URL"));
  }
  absl::string_view scheme = base_url.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https") {
    return absl::InvalidArgumentError(
        absl::StrCat("'", base_url, "' must start with http:// or https://"));
  }
  absl::string_view rest = base_url.substr(scheme_end + 3);
  size_t slash = rest.find('/');
  absl::string_view host = rest.substr(0, slash);
  if (host.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", base_url, "' has no host"));
  }
  UpstreamEndpoint endpoint;
  endpoint.origin = absl::StrCat(scheme, "://", host);
  if (slash != absl::string_view::npos) {
    absl::string_view path = rest.substr(slash);
    while (absl::EndsWith(path, "/")) path.remove_suffix(1);
    endpoint.path_prefix = std::string(path);
  }
  return endpoint;
}

}  // namespace aigw
