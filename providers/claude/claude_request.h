// Canonical chat request -> Anthropic Messages API request
// (POST {base_url}/v1/messages). Everything Claude can express is
// translated; fields it cannot express go through the provider's
// unsupported_params policy (dropped and reported, or a 400 naming them).
#ifndef AIGW_PROVIDERS_CLAUDE_CLAUDE_REQUEST_H_
#define AIGW_PROVIDERS_CLAUDE_CLAUDE_REQUEST_H_

#include <nlohmann/json.hpp>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/aigw/v1/chat.pb.h"
#include "providers/common/param_policy.h"
#include "providers/upstream_request.h"

namespace aigw {

// Claude requires max_tokens; used when the client sent neither
// max_completion_tokens nor max_tokens.
inline constexpr int kClaudeDefaultMaxTokens = 4096;

// The request body, without "stream" (the caller adds it).
absl::StatusOr<nlohmann::json> ClaudeRequestJson(
    const v1::ChatCompletionRequest& request, ParamPolicy& policy);

// Whether a Claude body turns thinking on (enabled or adaptive).
bool ThinkingEnabled(const nlohmann::json& body);

// The HTTP request for a body: path, and headers built from scratch (only
// the provider key, never anything the client sent).
UpstreamRequest ClaudeHttpRequest(absl::string_view path_prefix,
                                  absl::string_view api_key,
                                  absl::string_view anthropic_version,
                                  std::string body, bool stream);

}  // namespace aigw

#endif  // AIGW_PROVIDERS_CLAUDE_CLAUDE_REQUEST_H_
