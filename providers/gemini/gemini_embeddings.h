// Embeddings through Gemini's batchEmbedContents: one request per input
// string, answered by one vector each, in order.
#ifndef AIGW_PROVIDERS_GEMINI_GEMINI_EMBEDDINGS_H_
#define AIGW_PROVIDERS_GEMINI_GEMINI_EMBEDDINGS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/aigw/v1/chat.pb.h"
#include "providers/gemini/gemini_request.h"
#include "providers/upstream_request.h"

namespace aigw {

// POST {prefix}/{api_version}/models/{model}:batchEmbedContents.
absl::StatusOr<UpstreamRequest> GeminiEmbedRequest(
    const v1::EmbeddingsRequest& request, const GeminiEndpoint& endpoint,
    const std::string& api_key);

// {"embeddings":[{"values":[...]}, ...]} -> the OpenAI-shaped list. Gemini
// reports no token counts for embeddings: usage is zero unless the answer
// carries usageMetadata.
absl::StatusOr<v1::EmbeddingsResponse> EmbeddingsFromGemini(
    absl::string_view body, const v1::EmbeddingsRequest& request);

}  // namespace aigw

#endif  // AIGW_PROVIDERS_GEMINI_GEMINI_EMBEDDINGS_H_
