// Adapter for Alibaba DashScope (Qwen). `mode: native` (default) speaks
// DashScope's own generation protocol; `mode: compatible` speaks OpenAI's
// protocol at /compatible-mode/v1 with the OpenAI codecs and stream decoder.
// base_url is the origin, https://dashscope.aliyuncs.com by default.
#ifndef AIGW_PROVIDERS_QWEN_QWEN_PROVIDER_H_
#define AIGW_PROVIDERS_QWEN_QWEN_PROVIDER_H_

#include <memory>

#include "providers/common/key_ring.h"
#include "providers/provider.h"
#include "providers/qwen/qwen_request.h"

namespace aigw {

class QwenProvider : public Provider {
 public:
  QwenProvider(UpstreamEndpoint endpoint, std::unique_ptr<KeyRing> keys,
               QwenMode mode, UnsupportedParams unsupported_params);

  const UpstreamEndpoint* endpoint() const override { return &endpoint_; }
  KeyRing* keys() override { return keys_.get(); }
  absl::StatusOr<UpstreamRequest> ChatRequest(
      const v1::ChatCompletionRequest& request, bool stream,
      absl::string_view key, CallContext& ctx) override;
  // Non-streaming calls stream upstream too and fold the chunks: one
  // decoding path, and DashScope's stream-only models (QwQ, Qwen-Omni,
  // Qwen3 open source thinking) answer non-streaming clients as well.
  bool completes_by_streaming() const override { return true; }
  std::unique_ptr<StreamDecoder> ChatDecoder(
      const v1::ChatCompletionRequest& request, ChunkSink& sink) override;
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
  const QwenMode mode_;
  const UnsupportedParams unsupported_params_;
};

}  // namespace aigw

#endif  // AIGW_PROVIDERS_QWEN_QWEN_PROVIDER_H_
