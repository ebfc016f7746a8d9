// CORS for browser clients (web chat UIs calling the gateway directly), and
// the Origin check that keeps web pages from spending the gateway's
// provider keys: a request carrying an Origin header not in
// cors.allow_origins gets 403 before any upstream call, CORS on or off
// (browser CSRF and DNS rebinding against a loopback gateway). Requests
// without Origin (SDKs, curl, servers) are not affected.
#ifndef AIGW_SERVER_FILTERS_CORS_CORS_H_
#define AIGW_SERVER_FILTERS_CORS_CORS_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "server/config.h"

namespace aigw {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// Whether `origin` (the request's Origin header) is listed; "*" lists all.
bool CorsOriginAllowed(const CorsConfig& cors, absl::string_view origin);

// Headers every response to an allowed origin carries, errors and streams
// included: without them the browser hides the answer from the page.
HeaderList CorsResponseHeaders(absl::string_view origin);

// The extra headers of a preflight (OPTIONS) answer for an allowed origin.
// `allow_methods` are the path's methods; `requested_headers` is the
// browser's Access-Control-Request-Headers, allowed as asked when
// cors.allow_headers is empty or "*".
HeaderList CorsPreflightHeaders(const CorsConfig& cors,
                                absl::string_view allow_methods,
                                absl::string_view requested_headers);

}  // namespace aigw

#endif  // AIGW_SERVER_FILTERS_CORS_CORS_H_
