#include "providers/qwen/qwen_provider.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "providers/common/chat_assembler.h"
#include "providers/openai/openai_stream_decoder.h"
#include "providers/qwen/qwen_embeddings.h"
#include "providers/qwen/qwen_stream_decoder.h"
#include "providers/registry.h"

namespace aigw {
namespace {

constexpr char kDefaultBaseUrl[] = "https://dashscope.aliyuncs.com";

absl::StatusOr<std::unique_ptr<Provider>> CreateQwen(
    const ProviderConfig& config) {
  QwenMode mode = QwenMode::kNative;
  for (const auto& [key, value] : config.options) {
    if (key != "mode") {
      return absl::InvalidArgumentError(
          absl::StrCat(key, ": not a key of the ", config.type, " provider"));
    }
    if (value == "compatible") {
      mode = QwenMode::kCompatible;
    } else if (value != "native") {
      return absl::InvalidArgumentError(absl::StrCat(
          "mode: must be 'native' or 'compatible', not '", value, "'"));
    }
  }
  absl::StatusOr<std::unique_ptr<KeyRing>> keys = MakeKeyRing(config);
  if (!keys.ok()) return keys.status();
  absl::StatusOr<UpstreamEndpoint> endpoint =
      EndpointFor(config, kDefaultBaseUrl);
  if (!endpoint.ok()) return endpoint.status();
  // A URL copied from DashScope's OpenAI or SDK docs would double the path.
  const std::string& prefix = endpoint->path_prefix;
  if (absl::EndsWith(prefix, "/compatible-mode/v1") ||
      absl::EndsWith(prefix, "/api/v1")) {
    return absl::InvalidArgumentError(
        absl::StrCat("base_url: the ", config.type,
                     " provider takes the origin (e.g. ", kDefaultBaseUrl,
                     "); it appends /api/v1/... or /compatible-mode/v1/... "
                     "itself"));
  }
  return std::make_unique<QwenProvider>(std::move(*endpoint), std::move(*keys),
                                        mode, config.unsupported_params);
}

const ProviderRegistration kRegistration("qwen", CreateQwen);

}  // namespace

QwenProvider::QwenProvider(UpstreamEndpoint endpoint,
                           std::unique_ptr<KeyRing> keys, QwenMode mode,
                           UnsupportedParams unsupported_params)
    : endpoint_(std::move(endpoint)),
      keys_(std::move(keys)),
      mode_(mode),
      unsupported_params_(unsupported_params) {}

absl::StatusOr<UpstreamRequest> QwenProvider::ChatRequest(
    const v1::ChatCompletionRequest& request, bool, absl::string_view key,
    CallContext& ctx) {
  // Always streamed (completes_by_streaming).
  ParamPolicy policy(unsupported_params_, &ctx.dropped_params);
  return ChatUpstreamRequest(request, mode_, endpoint_.path_prefix, key,
                             policy);
}

std::unique_ptr<StreamDecoder> QwenProvider::ChatDecoder(
    const v1::ChatCompletionRequest& request, ChunkSink& sink) {
  if (mode_ == QwenMode::kCompatible) {
    return std::make_unique<OpenAiStreamDecoder>(sink);
  }
  return std::make_unique<QwenStreamDecoder>(sink, request.model(),
                                             absl::ToUnixSeconds(absl::Now()));
}

absl::StatusOr<v1::ChatCompletion> QwenProvider::ChatAnswer(
    const v1::ChatCompletionRequest& request, absl::string_view body) {
  ChatAssembler assembler;
  std::unique_ptr<StreamDecoder> decoder = ChatDecoder(request, assembler);
  decoder->Feed(body);
  if (!decoder->error().ok()) return decoder->error();
  absl::Status status = decoder->Finish();
  if (!status.ok()) return status;
  return assembler.Build();
}

absl::StatusOr<UpstreamRequest> QwenProvider::EmbeddingsRequest(
    const v1::EmbeddingsRequest& request, absl::string_view key) {
  return EmbeddingsUpstreamRequest(request, mode_, endpoint_.path_prefix, key);
}

absl::StatusOr<v1::EmbeddingsResponse> QwenProvider::EmbeddingsAnswer(
    const v1::EmbeddingsRequest& request, absl::string_view body) {
  return EmbeddingsFromUpstream(body, mode_, request.model());
}

}  // namespace aigw
