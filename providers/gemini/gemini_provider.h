// Adapter for the Google Generative Language API (Gemini): chat through
// `models/{model}:streamGenerateContent?alt=sse` / `:generateContent`,
// embeddings through `:batchEmbedContents`, authenticated by the
// `x-goog-api-key` header with the configured keys in turn.
#ifndef AIGW_PROVIDERS_GEMINI_GEMINI_PROVIDER_H_
#define AIGW_PROVIDERS_GEMINI_GEMINI_PROVIDER_H_

#include <memory>
#include <string>

#include "providers/common/key_ring.h"
#include "providers/gemini/gemini_request.h"
#include "providers/provider.h"

namespace aigw {

class GeminiProvider : public Provider {
 public:
  GeminiProvider(UpstreamEndpoint endpoint, std::unique_ptr<KeyRing> keys,
                 std::string api_version, UnsupportedParams unsupported_params);

  const UpstreamEndpoint* endpoint() const override { return &endpoint_; }
  KeyRing* keys() override { return keys_.get(); }
  // Gemini counts an Anthropic client's count_tokens (countTokens).
  bool CountsTokens(const v1::ChatCompletionRequest& request) const override;
  absl::StatusOr<UpstreamRequest> ChatRequest(
      const v1::ChatCompletionRequest& request, bool stream,
      absl::string_view key, CallContext& ctx) override;
  std::unique_ptr<StreamDecoder> ChatDecoder(
      const v1::ChatCompletionRequest& request, ChunkSink& sink) override;
  // The non-streaming answer goes through the stream decoder too, folded
  // into one completion: one decoding of Gemini's response.
  absl::StatusOr<v1::ChatCompletion> ChatAnswer(
      const v1::ChatCompletionRequest& request,
      absl::string_view body) override;
  absl::StatusOr<UpstreamRequest> EmbeddingsRequest(
      const v1::EmbeddingsRequest& request, absl::string_view key) override;
  absl::StatusOr<v1::EmbeddingsResponse> EmbeddingsAnswer(
      const v1::EmbeddingsRequest& request, absl::string_view body) override;

 private:
  const UpstreamEndpoint endpoint_;
  const std::unique_ptr<KeyRing> keys_;
  const GeminiEndpoint gemini_;
  const UnsupportedParams unsupported_params_;
};

}  // namespace aigw

#endif  // AIGW_PROVIDERS_GEMINI_GEMINI_PROVIDER_H_
