// Adapter for the Google Generative Language API (Gemini): chat through
// `models/{model}:streamGenerateContent?alt=sse` / `:generateContent`,
// embeddings through `:batchEmbedContents`, authenticated by the
// `x-goog-api-key` header with the configured keys in turn.
#ifndef AIGW_PROVIDERS_GEMINI_GEMINI_PROVIDER_H_
#define AIGW_PROVIDERS_GEMINI_GEMINI_PROVIDER_H_

#include <memory>
#include <string>

#include "providers/common/http_client_pool.h"
#include "providers/common/key_ring.h"
#include "providers/gemini/gemini_request.h"
#include "providers/provider.h"

namespace aigw {

class GeminiProvider : public Provider {
 public:
  GeminiProvider(std::unique_ptr<HttpClientPool> pool,
                 std::unique_ptr<KeyRing> keys, std::string api_version,
                 UnsupportedParams unsupported_params);

  absl::Status Stream(const v1::ChatCompletionRequest& request,
                      CallContext& ctx, ChunkSink& sink) override;
  absl::StatusOr<v1::ChatCompletion> Complete(
      const v1::ChatCompletionRequest& request, CallContext& ctx) override;
  absl::StatusOr<v1::EmbeddingsResponse> Embed(
      const v1::EmbeddingsRequest& request, CallContext& ctx) override;

 private:
  std::unique_ptr<HttpClientPool> pool_;
  const std::unique_ptr<KeyRing> keys_;
  const GeminiEndpoint endpoint_;
  const UnsupportedParams unsupported_params_;
};

}  // namespace aigw

#endif  // AIGW_PROVIDERS_GEMINI_GEMINI_PROVIDER_H_
