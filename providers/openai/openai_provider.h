// Adapter for OpenAI and every OpenAI-compatible upstream: the canonical
// request is written back as OpenAI JSON (passthrough fields included) and
// streamed chunks are decoded as they come. Upstreams that speak the same
// JSON at other paths or with another auth header (Azure) differ only in
// their OpenAiDialect.
#ifndef AIGW_PROVIDERS_OPENAI_OPENAI_PROVIDER_H_
#define AIGW_PROVIDERS_OPENAI_OPENAI_PROVIDER_H_

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "providers/common/key_ring.h"
#include "providers/provider.h"

namespace aigw {

struct OpenAiDialect {
  // The request path of `operation` ("chat/completions", "embeddings") for
  // `model`, under the base URL's path `prefix`.
  std::function<std::string(absl::string_view prefix, absl::string_view model,
                            absl::string_view operation)>
      path;
  // Rejects a model name `path` cannot carry (a 400 naming "model");
  // null: any name.
  std::function<absl::Status(absl::string_view model)> check_model;
  std::string auth_header = "Authorization";
  std::string auth_prefix = "Bearer ";
  // The upstream serves the Responses API ({prefix}/responses): a Responses
  // client is passed through to it.
  bool responses_api = false;
};

// The standard OpenAI layout: {prefix}/{operation}, Bearer auth.
OpenAiDialect StandardOpenAiDialect();

// Builds an adapter from a config whose type-specific keys were already
// handled by the caller. `default_base_url` "" makes base_url required;
// `key_required` false allows keyless local servers (Ollama, vLLM).
absl::StatusOr<std::unique_ptr<Provider>> CreateOpenAiCompatible(
    const ProviderConfig& config, absl::string_view default_base_url,
    bool key_required, OpenAiDialect dialect);

class OpenAiProvider : public Provider {
 public:
  OpenAiProvider(UpstreamEndpoint endpoint, std::unique_ptr<KeyRing> keys,
                 OpenAiDialect dialect);

  const UpstreamEndpoint* endpoint() const override { return &endpoint_; }
  KeyRing* keys() override { return keys_.get(); }
  absl::StatusOr<UpstreamRequest> ChatRequest(
      const v1::ChatCompletionRequest& request, bool stream,
      absl::string_view key, CallContext& ctx) override;
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
  // A Responses client's own body goes to this upstream as it is.
  bool Passthrough(const v1::ChatCompletionRequest& request) const override;
  absl::StatusOr<UpstreamRequest> MakeRequest(absl::string_view model,
                                              absl::string_view operation,
                                              std::string body,
                                              absl::string_view key) const;

  const UpstreamEndpoint endpoint_;
  const std::unique_ptr<KeyRing> keys_;
  const OpenAiDialect dialect_;
};

}  // namespace aigw

#endif  // AIGW_PROVIDERS_OPENAI_OPENAI_PROVIDER_H_
