#include "providers/openai/openai_provider.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "providers/common/api_error.h"
#include "providers/common/openai_embeddings_json.h"
#include "providers/common/openai_request_json.h"
#include "providers/common/openai_response_json.h"
#include "providers/openai/openai_stream_decoder.h"
#include "providers/openai/responses_stream_decoder.h"

namespace aigw {

using nlohmann::json;

OpenAiDialect StandardOpenAiDialect() {
  OpenAiDialect dialect;
  dialect.path = [](absl::string_view prefix, absl::string_view,
                    absl::string_view operation) {
    return absl::StrCat(prefix, "/", operation);
  };
  return dialect;
}

absl::StatusOr<std::unique_ptr<Provider>> CreateOpenAiCompatible(
    const ProviderConfig& config, absl::string_view default_base_url,
    bool key_required, OpenAiDialect dialect) {
  absl::StatusOr<std::unique_ptr<KeyRing>> keys =
      MakeKeyRing(config, key_required);
  if (!keys.ok()) return keys.status();
  absl::StatusOr<UpstreamEndpoint> endpoint =
      EndpointFor(config, default_base_url);
  if (!endpoint.ok()) return endpoint.status();
  return std::make_unique<OpenAiProvider>(std::move(*endpoint),
                                          std::move(*keys), std::move(dialect));
}

OpenAiProvider::OpenAiProvider(UpstreamEndpoint endpoint,
                               std::unique_ptr<KeyRing> keys,
                               OpenAiDialect dialect)
    : endpoint_(std::move(endpoint)),
      keys_(std::move(keys)),
      dialect_(std::move(dialect)) {}

absl::StatusOr<UpstreamRequest> OpenAiProvider::MakeRequest(
    absl::string_view model, absl::string_view operation, std::string body,
    absl::string_view key) const {
  if (dialect_.check_model) {
    absl::Status valid = dialect_.check_model(model);
    if (!valid.ok()) return valid;
  }
  UpstreamRequest request;
  request.path = dialect_.path(endpoint_.path_prefix, model, operation);
  if (!key.empty()) {
    request.headers.emplace(dialect_.auth_header,
                            absl::StrCat(dialect_.auth_prefix, key));
  }
  request.headers.emplace("Content-Type", "application/json");
  request.body = std::move(body);
  return request;
}

bool OpenAiProvider::Passthrough(
    const v1::ChatCompletionRequest& request) const {
  return dialect_.responses_api &&
         request.passthrough_protocol() == "openai_responses" &&
         !request.passthrough_body().empty();
}

absl::StatusOr<UpstreamRequest> OpenAiProvider::ChatRequest(
    const v1::ChatCompletionRequest& request, bool stream,
    absl::string_view key, CallContext&) {
  if (Passthrough(request)) {
    // The client's own Responses body: only the model and stream replaced.
    json raw = json::parse(request.passthrough_body(), nullptr, false);
    if (!raw.is_object()) return InvalidRequest("The body is not JSON.");
    raw["model"] = request.model();
    raw["stream"] = stream;
    absl::StatusOr<UpstreamRequest> upstream =
        MakeRequest(request.model(), "responses", raw.dump(), key);
    if (upstream.ok() && stream) {
      upstream->headers.emplace("Accept", "text/event-stream");
    }
    return upstream;
  }
  json body = ChatRequestToJson(request);
  if (stream) {
    body["stream"] = true;
    // The gateway always asks for usage (its own accounting); the core
    // hides the usage chunk from clients that did not ask for it.
    body["stream_options"] = {{"include_usage", true}};
  } else {
    body.erase("stream");
    body.erase("stream_options");
  }
  absl::StatusOr<UpstreamRequest> upstream =
      MakeRequest(request.model(), "chat/completions", body.dump(), key);
  if (upstream.ok() && stream) {
    upstream->headers.emplace("Accept", "text/event-stream");
  }
  return upstream;
}

std::unique_ptr<StreamDecoder> OpenAiProvider::ChatDecoder(
    const v1::ChatCompletionRequest& request, ChunkSink& sink) {
  if (Passthrough(request)) {
    return std::make_unique<ResponsesStreamDecoder>(sink);
  }
  return std::make_unique<OpenAiStreamDecoder>(sink);
}

absl::StatusOr<v1::ChatCompletion> OpenAiProvider::ChatAnswer(
    const v1::ChatCompletionRequest& request, absl::string_view body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded()) return MalformedUpstream("the answer is not JSON");
  if (Passthrough(request)) {
    absl::StatusOr<v1::ChatCompletion> completion =
        ChatCompletionFromResponse(j);
    if (completion.ok()) completion->set_passthrough_body(std::string(body));
    return completion;
  }
  return ChatCompletionFromJson(j);
}

absl::StatusOr<UpstreamRequest> OpenAiProvider::EmbeddingsRequest(
    const v1::EmbeddingsRequest& request, absl::string_view key) {
  return MakeRequest(request.model(), "embeddings",
                     EmbeddingsRequestToJson(request).dump(), key);
}

absl::StatusOr<v1::EmbeddingsResponse> OpenAiProvider::EmbeddingsAnswer(
    const v1::EmbeddingsRequest&, absl::string_view body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded()) return MalformedUpstream("the answer is not JSON");
  return EmbeddingsResponseFromJson(j);
}

}  // namespace aigw
