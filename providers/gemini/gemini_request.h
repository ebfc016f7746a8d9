// Canonical requests -> Google Generative Language API requests: the
// generateContent body (contents, systemInstruction, generationConfig, tools,
// toolConfig), the method paths and the headers. Fields Gemini cannot
// express go through the provider's unsupported_params policy.
#ifndef AIGW_PROVIDERS_GEMINI_GEMINI_REQUEST_H_
#define AIGW_PROVIDERS_GEMINI_GEMINI_REQUEST_H_

#include <nlohmann/json.hpp>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/aigw/v1/chat.pb.h"
#include "providers/common/param_policy.h"
#include "providers/upstream_request.h"

namespace aigw {

// Where the API lives below the origin: `{path_prefix}/{api_version}/...`.
struct GeminiEndpoint {
  std::string path_prefix;  // path part of base_url, no trailing '/'
  std::string api_version;  // "v1beta" unless configured
};

// "models/<model>", or the name as given when it already is a resource name
// ("models/x", "tunedModels/x"). 400 (param "model") for names that could
// reach another path of the API.
absl::StatusOr<std::string> GeminiModelResource(absl::string_view model);

// POST request for `{resource}:{method}` with only the provider's key.
absl::StatusOr<UpstreamRequest> GeminiUpstreamRequest(
    const GeminiEndpoint& endpoint, absl::string_view model,
    absl::string_view method, const std::string& api_key, std::string body);

// The generateContent / streamGenerateContent body.
absl::StatusOr<nlohmann::json> GeminiChatBody(
    const v1::ChatCompletionRequest& request, ParamPolicy& policy);

// The whole chat request: `:streamGenerateContent?alt=sse` when `stream`,
// `:generateContent` otherwise.
absl::StatusOr<UpstreamRequest> GeminiChatRequest(
    const v1::ChatCompletionRequest& request, const GeminiEndpoint& endpoint,
    const std::string& api_key, bool stream, ParamPolicy& policy);

// 400 naming `<path>.<key>` for the first (in name order) field of `extra`.
absl::Status RejectUnknownFields(const google::protobuf::Struct& extra,
                                 absl::string_view path);

}  // namespace aigw

#endif  // AIGW_PROVIDERS_GEMINI_GEMINI_REQUEST_H_
