#include "providers/gemini/gemini_provider.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "providers/common/api_error.h"
#include "providers/common/chat_assembler.h"
#include "providers/gemini/gemini_count_tokens.h"
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
  absl::StatusOr<UpstreamEndpoint> endpoint =
      EndpointFor(config, kDefaultBaseUrl);
  if (!endpoint.ok()) return endpoint.status();
  return std::make_unique<GeminiProvider>(
      std::move(*endpoint), std::move(*keys), std::move(api_version),
      config.unsupported_params);
}

const ProviderRegistration kRegistration("gemini", CreateGemini);

}  // namespace

GeminiProvider::GeminiProvider(UpstreamEndpoint endpoint,
                               std::unique_ptr<KeyRing> keys,
                               std::string api_version,
                               UnsupportedParams unsupported_params)
    : endpoint_(std::move(endpoint)),
      keys_(std::move(keys)),
      gemini_{endpoint_.path_prefix, std::move(api_version)},
      unsupported_params_(unsupported_params) {}

bool GeminiProvider::CountsTokens(
    const v1::ChatCompletionRequest& request) const {
  return request.passthrough_protocol() == kAnthropicCountTokens;
}

absl::StatusOr<UpstreamRequest> GeminiProvider::ChatRequest(
    const v1::ChatCompletionRequest& request, bool stream,
    absl::string_view key, CallContext& ctx) {
  ParamPolicy policy(unsupported_params_, &ctx.dropped_params);
  if (CountsTokens(request)) {
    return GeminiCountTokensRequest(request, gemini_, std::string(key), policy);
  }
  return GeminiChatRequest(request, gemini_, std::string(key), stream, policy);
}

std::unique_ptr<StreamDecoder> GeminiProvider::ChatDecoder(
    const v1::ChatCompletionRequest& request, ChunkSink& sink) {
  return std::make_unique<GeminiStreamDecoder>(sink, request.model());
}

absl::StatusOr<v1::ChatCompletion> GeminiProvider::ChatAnswer(
    const v1::ChatCompletionRequest& request, absl::string_view body) {
  if (CountsTokens(request)) return GeminiCountedTokens(body);
  ChatAssembler assembler;
  GeminiStreamDecoder decoder(assembler, request.model());
  decoder.FeedWhole(body);
  absl::Status status = decoder.Finish();
  if (!status.ok()) return status;
  return assembler.Build();
}

absl::StatusOr<UpstreamRequest> GeminiProvider::EmbeddingsRequest(
    const v1::EmbeddingsRequest& request, absl::string_view key) {
  return GeminiEmbedRequest(request, gemini_, std::string(key));
}

absl::StatusOr<v1::EmbeddingsResponse> GeminiProvider::EmbeddingsAnswer(
    const v1::EmbeddingsRequest& request, absl::string_view body) {
  return EmbeddingsFromGemini(body, request);
}

}  // namespace aigw
