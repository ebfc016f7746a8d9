// Adapter for Anthropic's Messages API: the canonical request is translated
// to POST {base_url}/v1/messages (x-api-key, anthropic-version) and Claude's
// event stream is decoded into canonical chunks as it arrives.
#ifndef AIGW_PROVIDERS_CLAUDE_CLAUDE_PROVIDER_H_
#define AIGW_PROVIDERS_CLAUDE_CLAUDE_PROVIDER_H_

#include <memory>
#include <string>

#include "providers/common/key_ring.h"
#include "providers/provider.h"

namespace aigw {

class ClaudeProvider : public Provider {
 public:
  ClaudeProvider(UpstreamEndpoint endpoint, std::unique_ptr<KeyRing> keys,
                 std::string anthropic_version,
                 UnsupportedParams unsupported_params);

  const UpstreamEndpoint* endpoint() const override { return &endpoint_; }
  KeyRing* keys() override { return keys_.get(); }
  absl::StatusOr<UpstreamRequest> ChatRequest(
      const v1::ChatCompletionRequest& request, bool stream,
      absl::string_view key, CallContext& ctx) override;
  std::unique_ptr<StreamDecoder> ChatDecoder(
      const v1::ChatCompletionRequest& request, ChunkSink& sink) override;
  // A non-streaming answer replayed through the stream decoder's event
  // handling into a ChatAssembler.
  absl::StatusOr<v1::ChatCompletion> ChatAnswer(
      const v1::ChatCompletionRequest& request,
      absl::string_view body) override;

 private:
  // An Anthropic client's request, sent as it came (see the proto's
  // passthrough fields).
  bool Passthrough(const v1::ChatCompletionRequest& request) const override;
  const UpstreamEndpoint endpoint_;
  const std::unique_ptr<KeyRing> keys_;
  const std::string anthropic_version_;
  const UnsupportedParams unsupported_params_;
};

}  // namespace aigw

#endif  // AIGW_PROVIDERS_CLAUDE_CLAUDE_PROVIDER_H_
