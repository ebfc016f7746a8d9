// Adapter for Anthropic's Messages API: the canonical request is translated
// to POST {base_url}/v1/messages (x-api-key, anthropic-version) and Claude's
// event stream is decoded into canonical chunks as it arrives.
#ifndef AIGW_PROVIDERS_CLAUDE_CLAUDE_PROVIDER_H_
#define AIGW_PROVIDERS_CLAUDE_CLAUDE_PROVIDER_H_

#include <memory>
#include <string>

#include "providers/common/http_client_pool.h"
#include "providers/common/key_ring.h"
#include "providers/provider.h"

namespace aigw {

class ClaudeProvider : public Provider {
 public:
  ClaudeProvider(std::unique_ptr<HttpClientPool> pool,
                 std::unique_ptr<KeyRing> keys, std::string anthropic_version,
                 UnsupportedParams unsupported_params);

  absl::Status Stream(const v1::ChatCompletionRequest& request,
                      CallContext& ctx, ChunkSink& sink) override;
  // Asks for a non-streaming answer and replays it through the stream
  // decoder's event handling into a ChatAssembler.
  absl::StatusOr<v1::ChatCompletion> Complete(
      const v1::ChatCompletionRequest& request, CallContext& ctx) override;

 private:
  UpstreamRequest MakeRequest(std::string body, bool stream,
                              const KeyRing::Lease& key);

  std::unique_ptr<HttpClientPool> pool_;
  const std::unique_ptr<KeyRing> keys_;
  const std::string anthropic_version_;
  const UnsupportedParams unsupported_params_;
};

}  // namespace aigw

#endif  // AIGW_PROVIDERS_CLAUDE_CLAUDE_PROVIDER_H_
