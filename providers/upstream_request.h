// What an adapter asks the data plane to send upstream: one HTTP request,
// built without any I/O. The data plane owns connecting, pooling, timeouts
// and cancellation.
#ifndef AIGW_PROVIDERS_UPSTREAM_REQUEST_H_
#define AIGW_PROVIDERS_UPSTREAM_REQUEST_H_

#include <algorithm>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"

namespace aigw {

// Header names compare without case, as HTTP says.
struct HeaderNameLess {
  bool operator()(const std::string& a, const std::string& b) const {
    return std::lexicographical_compare(
        a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
          return absl::ascii_tolower(static_cast<unsigned char>(x)) <
                 absl::ascii_tolower(static_cast<unsigned char>(y));
        });
  }
};
using HeaderMap = std::multimap<std::string, std::string, HeaderNameLess>;

struct UpstreamRequest {
  std::string method = "POST";
  std::string path;  // full path, query included
  HeaderMap headers;
  std::string body;
};

// Where an adapter's requests go: scheme://host[:port] and the base URL's
// path (no trailing '/').
struct UpstreamEndpoint {
  std::string origin;
  std::string path_prefix;
  bool tls() const { return absl::StartsWith(origin, "https://"); }
};

// Splits "https://host[:port][/path]" into origin and path.
absl::StatusOr<UpstreamEndpoint> ParseBaseUrl(absl::string_view base_url);

}  // namespace aigw

#endif  // AIGW_PROVIDERS_UPSTREAM_REQUEST_H_
