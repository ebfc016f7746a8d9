// Adapter for Alibaba DashScope (Qwen). `mode: native` (default) speaks
// DashScope's own generation protocol; `mode: compatible` speaks OpenAI's
// protocol at /compatible-mode/v1 with the OpenAI codecs and stream decoder.
// base_url is the origin, https://dashscope.aliyuncs.com by default.
#ifndef AIGW_PROVIDERS_QWEN_QWEN_PROVIDER_H_
#define AIGW_PROVIDERS_QWEN_QWEN_PROVIDER_H_

#include <memory>

#include "providers/common/http_client_pool.h"
#include "providers/common/key_ring.h"
#include "providers/provider.h"
#include "providers/qwen/qwen_request.h"

namespace aigw {

class QwenProvider : public Provider {
 public:
  QwenProvider(std::unique_ptr<HttpClientPool> pool,
               std::unique_ptr<KeyRing> keys, QwenMode mode,
               UnsupportedParams unsupported_params);

  absl::Status Stream(const v1::ChatCompletionRequest& request,
                      CallContext& ctx, ChunkSink& sink) override;
  // Streams upstream too and folds the chunks (ChatAssembler): one decoding
  // path, and DashScope's stream-only models (QwQ, Qwen-Omni, Qwen3 open
  // source thinking) answer non-streaming clients as well.
  absl::StatusOr<v1::ChatCompletion> Complete(
      const v1::ChatCompletionRequest& request, CallContext& ctx) override;
  absl::StatusOr<v1::EmbeddingsResponse> Embed(
      const v1::EmbeddingsRequest& request, CallContext& ctx) override;

 private:
  // Sends a streamed chat call through `decoder` (QwenStreamDecoder or
  // OpenAiStreamDecoder, which share Feed/Finish/error/client_gone).
  template <typename Decoder>
  absl::Status RunStream(const UpstreamRequest& upstream,
                         const KeyRing::Lease& key, Decoder& decoder,
                         CancelToken* cancel);

  std::unique_ptr<HttpClientPool> pool_;
  const std::unique_ptr<KeyRing> keys_;
  const QwenMode mode_;
  const UnsupportedParams unsupported_params_;
};

}  // namespace aigw

#endif  // AIGW_PROVIDERS_QWEN_QWEN_PROVIDER_H_
