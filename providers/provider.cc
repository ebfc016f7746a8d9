#include "providers/provider.h"

#include "absl/strings/str_cat.h"
#include "providers/common/api_error.h"

namespace aigw {

absl::StatusOr<UpstreamEndpoint> EndpointFor(
    const ProviderConfig& config, absl::string_view default_base_url) {
  if (config.base_url.empty() && default_base_url.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "base_url: the ", config.type, " provider needs its base URL"));
  }
  absl::StatusOr<UpstreamEndpoint> endpoint = ParseBaseUrl(
      config.base_url.empty() ? default_base_url : config.base_url);
  if (!endpoint.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("base_url: ", endpoint.status().message()));
  }
  return endpoint;
}

absl::StatusOr<UpstreamRequest> Provider::ChatRequest(
    const v1::ChatCompletionRequest&, bool, absl::string_view, CallContext&) {
  return absl::InternalError("this provider answers locally");
}

std::unique_ptr<StreamDecoder> Provider::ChatDecoder(
    const v1::ChatCompletionRequest&, ChunkSink&) {
  return nullptr;
}

absl::StatusOr<v1::ChatCompletion> Provider::ChatAnswer(
    const v1::ChatCompletionRequest&, absl::string_view) {
  return absl::InternalError("this provider answers locally");
}

absl::StatusOr<UpstreamRequest> Provider::EmbeddingsRequest(
    const v1::EmbeddingsRequest& request, absl::string_view) {
  return InvalidRequest(
      absl::StrCat("The model `", request.model(),
                   "` is served by a provider without an embeddings API."),
      "model", "embeddings_not_supported");
}

absl::StatusOr<v1::EmbeddingsResponse> Provider::EmbeddingsAnswer(
    const v1::EmbeddingsRequest&, absl::string_view) {
  return absl::InternalError("this provider has no embeddings API");
}

absl::StatusOr<LocalAnswer> Provider::LocalChat(
    const v1::ChatCompletionRequest&) {
  return absl::InternalError("this provider answers through its upstream");
}

}  // namespace aigw
