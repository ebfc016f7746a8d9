#include "server/filters/cors/cors.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"

namespace aigw {
namespace {

// Response headers a page may read besides the CORS-safelisted ones: which
// provider answered, what was dropped, rate limits, when to retry.
constexpr char kExposedHeaders[] =
    "x-request-id, x-aigw-provider, x-aigw-attempts, x-aigw-dropped-params, "
    "x-ratelimit-limit-requests, x-ratelimit-limit-tokens, "
    "x-ratelimit-remaining-requests, x-ratelimit-remaining-tokens, "
    "x-ratelimit-reset-requests, x-ratelimit-reset-tokens, retry-after";

}  // namespace

bool CorsOriginAllowed(const CorsConfig& cors, absl::string_view origin) {
  for (const std::string& allowed : cors.allow_origins) {
    // Scheme and host are case-insensitive; browsers send them lowercase.
    if (allowed == "*" || absl::EqualsIgnoreCase(allowed, origin)) return true;
  }
  return false;
}

HeaderList CorsResponseHeaders(absl::string_view origin) {
  return {{"Access-Control-Allow-Origin", std::string(origin)},
          {"Access-Control-Expose-Headers", kExposedHeaders},
          // The answer depends on Origin: caches must not share it.
          {"Vary", "Origin"}};
}

HeaderList CorsPreflightHeaders(const CorsConfig& cors,
                                absl::string_view allow_methods,
                                absl::string_view requested_headers) {
  HeaderList headers = {
      {"Access-Control-Allow-Methods", std::string(allow_methods)}};
  bool as_requested = cors.allow_headers.empty();
  for (const std::string& header : cors.allow_headers) {
    if (header == "*") as_requested = true;
  }
  std::string allow_headers =
      as_requested ? std::string(absl::StripAsciiWhitespace(requested_headers))
                   : absl::StrJoin(cors.allow_headers, ", ");
  if (!allow_headers.empty()) {
    headers.emplace_back("Access-Control-Allow-Headers", allow_headers);
  }
  headers.emplace_back("Access-Control-Max-Age",
                       std::to_string(absl::ToInt64Seconds(cors.max_age)));
  return headers;
}

}  // namespace aigw
