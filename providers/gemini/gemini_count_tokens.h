// An Anthropic client's count_tokens served by Gemini's own counter
// (POST {resource}:countTokens) rather than the gateway's estimate.
#ifndef AIGW_PROVIDERS_GEMINI_GEMINI_COUNT_TOKENS_H_
#define AIGW_PROVIDERS_GEMINI_GEMINI_COUNT_TOKENS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/aigw/v1/chat.pb.h"
#include "providers/common/param_policy.h"
#include "providers/gemini/gemini_request.h"
#include "providers/upstream_request.h"

namespace aigw {

// The countTokens request: the whole generateContent request under
// `generateContentRequest`, so the system instruction and tools count too.
absl::StatusOr<UpstreamRequest> GeminiCountTokensRequest(
    const v1::ChatCompletionRequest& request, const GeminiEndpoint& endpoint,
    const std::string& api_key, ParamPolicy& policy);

// countTokens' answer ({"totalTokens": N}) as the count_tokens answer: no
// usage (counting spends no tokens) and {"input_tokens": N} as the body.
absl::StatusOr<v1::ChatCompletion> GeminiCountedTokens(absl::string_view body);

}  // namespace aigw

#endif  // AIGW_PROVIDERS_GEMINI_GEMINI_COUNT_TOKENS_H_
