// Adapter for OpenAI and every OpenAI-compatible upstream: the canonical
// request is written back as OpenAI JSON (passthrough fields included) to
// {base_url}/chat/completions and streamed chunks are decoded as they come.
#ifndef AIGW_PROVIDERS_OPENAI_OPENAI_PROVIDER_H_
#define AIGW_PROVIDERS_OPENAI_OPENAI_PROVIDER_H_

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "providers/common/http_client_pool.h"
#include "providers/provider.h"

namespace aigw {

class OpenAiProvider : public Provider {
 public:
  OpenAiProvider(std::unique_ptr<HttpClientPool> pool,
                 std::vector<std::string> api_keys);

  absl::Status Stream(const v1::ChatCompletionRequest& request,
                      CallContext& ctx, ChunkSink& sink) override;
  absl::StatusOr<v1::ChatCompletion> Complete(
      const v1::ChatCompletionRequest& request, CallContext& ctx) override;

 private:
  UpstreamRequest MakeRequest(std::string body);

  std::unique_ptr<HttpClientPool> pool_;
  const std::vector<std::string> api_keys_;
  std::atomic<uint64_t> next_key_{0};
};

}  // namespace aigw

#endif  // AIGW_PROVIDERS_OPENAI_OPENAI_PROVIDER_H_
