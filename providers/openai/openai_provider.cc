#include "providers/openai/openai_provider.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "providers/common/api_error.h"
#include "providers/common/openai_embeddings_json.h"
#include "providers/common/openai_request_json.h"
#include "providers/common/openai_response_json.h"
#include "providers/openai/openai_stream_decoder.h"

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
  absl::StatusOr<std::unique_ptr<HttpClientPool>> pool =
      MakeUpstreamPool(config, default_base_url);
  if (!pool.ok()) return pool.status();
  return std::make_unique<OpenAiProvider>(std::move(*pool), std::move(*keys),
                                          std::move(dialect));
}

OpenAiProvider::OpenAiProvider(std::unique_ptr<HttpClientPool> pool,
                               std::unique_ptr<KeyRing> keys,
                               OpenAiDialect dialect)
    : pool_(std::move(pool)),
      keys_(std::move(keys)),
      dialect_(std::move(dialect)) {}

UpstreamRequest OpenAiProvider::MakeRequest(absl::string_view model,
                                            absl::string_view operation,
                                            std::string body,
                                            const KeyRing::Lease& key) {
  UpstreamRequest request;
  request.path = dialect_.path(pool_->endpoint().path_prefix, model, operation);
  if (key.index >= 0) {
    request.headers.emplace(dialect_.auth_header,
                            absl::StrCat(dialect_.auth_prefix, key.key));
  }
  request.headers.emplace("Content-Type", "application/json");
  request.body = std::move(body);
  return request;
}

absl::StatusOr<json> OpenAiProvider::SendForJson(absl::string_view model,
                                                 absl::string_view operation,
                                                 std::string body,
                                                 CallContext& ctx) {
  if (dialect_.check_model) {
    absl::Status valid = dialect_.check_model(model);
    if (!valid.ok()) return valid;
  }
  absl::StatusOr<KeyRing::Lease> key = keys_->Acquire(model);
  if (!key.ok()) return key.status();
  UpstreamRequest upstream =
      MakeRequest(model, operation, std::move(body), *key);
  upstream.rate_limit_headers = &ctx.upstream_headers;
  absl::StatusOr<std::string> response =
      keys_->ReportAndRedact(*key, pool_->SendForBody(upstream, ctx.cancel));
  if (!response.ok()) return response.status();
  json j = json::parse(*response, nullptr, false);
  if (j.is_discarded()) return MalformedUpstream("the answer is not JSON");
  return j;
}

absl::Status OpenAiProvider::Stream(const v1::ChatCompletionRequest& request,
                                    CallContext& ctx, ChunkSink& sink) {
  json body = ChatRequestToJson(request);
  body["stream"] = true;
  // The gateway always asks for usage (its own accounting); the core hides
  // the usage chunk from clients that did not ask for it.
  body["stream_options"] = {{"include_usage", true}};
  if (dialect_.check_model) {
    absl::Status valid = dialect_.check_model(request.model());
    if (!valid.ok()) return valid;
  }
  absl::StatusOr<KeyRing::Lease> key = keys_->Acquire(request.model());
  if (!key.ok()) return key.status();
  UpstreamRequest upstream =
      MakeRequest(request.model(), "chat/completions", body.dump(), *key);
  upstream.headers.emplace("Accept", "text/event-stream");
  upstream.rate_limit_headers = &ctx.upstream_headers;

  OpenAiStreamDecoder decoder(sink);
  absl::Status status = keys_->ReportAndRedact(
      *key, pool_->SendStream(upstream, decoder, ctx.cancel));
  if (decoder.client_gone()) return absl::CancelledError("client left");
  return status;
}

absl::StatusOr<v1::ChatCompletion> OpenAiProvider::Complete(
    const v1::ChatCompletionRequest& request, CallContext& ctx) {
  json body = ChatRequestToJson(request);
  body.erase("stream");
  body.erase("stream_options");
  absl::StatusOr<json> answer =
      SendForJson(request.model(), "chat/completions", body.dump(), ctx);
  if (!answer.ok()) return answer.status();
  return ChatCompletionFromJson(*answer);
}

absl::StatusOr<v1::EmbeddingsResponse> OpenAiProvider::Embed(
    const v1::EmbeddingsRequest& request, CallContext& ctx) {
  absl::StatusOr<json> answer =
      SendForJson(request.model(), "embeddings",
                  EmbeddingsRequestToJson(request).dump(), ctx);
  if (!answer.ok()) return answer.status();
  return EmbeddingsResponseFromJson(*answer);
}

}  // namespace aigw
