#include "providers/gemini/gemini_provider.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "providers/common/api_error.h"
#include "providers/common/chat_assembler.h"
#include "providers/gemini/gemini_embeddings.h"
#include "providers/gemini/gemini_stream_decoder.h"
#include "providers/registry.h"

namespace aigw {
namespace {

constexpr char kDefaultBaseUrl[] = "https://generativelanguage.googleapis.com";
constexpr char kDefaultApiVersion[] = "v1beta";

bool IsPathSegment(const std::string& text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' &&
        c != '-' && c != '_') {
      return false;
    }
  }
  return true;
}

absl::StatusOr<std::unique_ptr<Provider>> CreateGemini(
    const ProviderConfig& config) {
  std::string api_version = kDefaultApiVersion;
  for (const auto& [key, value] : config.options) {
    if (key != "api_version") {
      return absl::InvalidArgumentError(
          absl::StrCat(key, ": not a key of the ", config.type, " provider"));
    }
    if (!IsPathSegment(value)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "api_version: '", value, "' is not an API version (e.g. v1beta)"));
    }
    api_version = value;
  }
  absl::StatusOr<std::unique_ptr<KeyRing>> keys = MakeKeyRing(config);
  if (!keys.ok()) return keys.status();
  absl::StatusOr<std::unique_ptr<HttpClientPool>> pool =
      MakeUpstreamPool(config, kDefaultBaseUrl);
  if (!pool.ok()) return pool.status();
  return std::make_unique<GeminiProvider>(std::move(*pool), std::move(*keys),
                                          std::move(api_version),
                                          config.unsupported_params);
}

const ProviderRegistration kRegistration("gemini", CreateGemini);

}  // namespace

GeminiProvider::GeminiProvider(std::unique_ptr<HttpClientPool> pool,
                               std::unique_ptr<KeyRing> keys,
                               std::string api_version,
                               UnsupportedParams unsupported_params)
    : pool_(std::move(pool)),
      keys_(std::move(keys)),
      endpoint_{pool_->endpoint().path_prefix, std::move(api_version)},
      unsupported_params_(unsupported_params) {}

absl::Status GeminiProvider::Stream(const v1::ChatCompletionRequest& request,
                                    CallContext& ctx, ChunkSink& sink) {
  // A request Gemini cannot take is a 400 even when no key is free.
  absl::StatusOr<KeyRing::Lease> key = keys_->Acquire(request.model());
  ParamPolicy policy(unsupported_params_, &ctx.dropped_params);
  absl::StatusOr<UpstreamRequest> upstream =
      GeminiChatRequest(request, endpoint_, key.ok() ? key->key : "",
                        /*stream=*/true, policy);
  if (!upstream.ok()) return upstream.status();
  if (!key.ok()) return key.status();
  GeminiStreamDecoder decoder(sink, request.model());
  // An error event inside the stream ({"error":{"code":429,...}}) is what
  // the key ring is told about.
  absl::Status status = keys_->ReportAndRedact(
      *key, pool_->SendStream(*upstream, decoder, ctx.cancel));
  if (decoder.client_gone()) return absl::CancelledError("client left");
  return status;
}

// The non-streaming answer goes through the stream decoder too, folded into
// one completion by the ChatAssembler: one decoding of Gemini's response.
absl::StatusOr<v1::ChatCompletion> GeminiProvider::Complete(
    const v1::ChatCompletionRequest& request, CallContext& ctx) {
  absl::StatusOr<KeyRing::Lease> key = keys_->Acquire(request.model());
  ParamPolicy policy(unsupported_params_, &ctx.dropped_params);
  absl::StatusOr<UpstreamRequest> upstream =
      GeminiChatRequest(request, endpoint_, key.ok() ? key->key : "",
                        /*stream=*/false, policy);
  if (!upstream.ok()) return upstream.status();
  if (!key.ok()) return key.status();
  absl::StatusOr<std::string> body =
      keys_->ReportAndRedact(*key, pool_->SendForBody(*upstream, ctx.cancel));
  if (!body.ok()) return body.status();
  ChatAssembler assembler;
  GeminiStreamDecoder decoder(assembler, request.model());
  decoder.FeedWhole(*body);
  absl::Status status = decoder.Finish();
  if (!status.ok()) return RedactSecrets(status, keys_->keys());
  return assembler.Build();
}

absl::StatusOr<v1::EmbeddingsResponse> GeminiProvider::Embed(
    const v1::EmbeddingsRequest& request, CallContext& ctx) {
  absl::StatusOr<KeyRing::Lease> key = keys_->Acquire(request.model());
  absl::StatusOr<UpstreamRequest> upstream =
      GeminiEmbedRequest(request, endpoint_, key.ok() ? key->key : "");
  if (!upstream.ok()) return upstream.status();
  if (!key.ok()) return key.status();
  absl::StatusOr<std::string> body =
      keys_->ReportAndRedact(*key, pool_->SendForBody(*upstream, ctx.cancel));
  if (!body.ok()) return body.status();
  absl::StatusOr<v1::EmbeddingsResponse> response =
      EmbeddingsFromGemini(*body, request);
  if (!response.ok()) return RedactSecrets(response.status(), keys_->keys());
  return response;
}

}  // namespace aigw
