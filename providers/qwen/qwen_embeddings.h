// Embeddings on DashScope: the native text-embedding API
// ({model, input:{texts}, parameters:{dimension}} -> output.embeddings) or,
// in compatible mode, OpenAI's /embeddings under /compatible-mode/v1.
#ifndef AIGW_PROVIDERS_QWEN_QWEN_EMBEDDINGS_H_
#define AIGW_PROVIDERS_QWEN_QWEN_EMBEDDINGS_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/aigw/v1/chat.pb.h"
#include "providers/qwen/qwen_request.h"
#include "providers/upstream_request.h"

namespace aigw {

inline constexpr char kQwenTextEmbeddingPath[] =
    "/api/v1/services/embeddings/text-embedding/text-embedding";
inline constexpr char kQwenCompatibleEmbeddingsPath[] =
    "/compatible-mode/v1/embeddings";

// The upstream call; fields the native API cannot express are 400s.
absl::StatusOr<UpstreamRequest> EmbeddingsUpstreamRequest(
    const v1::EmbeddingsRequest& request, QwenMode mode,
    absl::string_view path_prefix, absl::string_view api_key);

// The upstream's 2xx body as the canonical response (floats).
absl::StatusOr<v1::EmbeddingsResponse> EmbeddingsFromUpstream(
    absl::string_view body, QwenMode mode, absl::string_view model);

}  // namespace aigw

#endif  // AIGW_PROVIDERS_QWEN_QWEN_EMBEDDINGS_H_
