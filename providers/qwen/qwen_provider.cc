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
  absl::StatusOr<std::unique_ptr<HttpClientPool>> pool =
      MakeUpstreamPool(config, kDefaultBaseUrl);
  if (!pool.ok()) return pool.status();
  // A URL copied from DashScope's OpenAI or SDK docs would double the path.
  const std::string& prefix = (*pool)->endpoint().path_prefix;
  if (absl::EndsWith(prefix, "/compatible-mode/v1") ||
      absl::EndsWith(prefix, "/api/v1")) {
    return absl::InvalidArgumentError(
        absl::StrCat("base_url: the ", config.type,
                     " provider takes the origin (e.g. ", kDefaultBaseUrl,
                     "); it appends /api/v1/... or /compatible-mode/v1/... "
                     "itself"));
  }
  return std::make_unique<QwenProvider>(std::move(*pool), std::move(*keys),
                                        mode, config.unsupported_params);
}

const ProviderRegistration kRegistration("qwen", CreateQwen);

}  // namespace

QwenProvider::QwenProvider(std::unique_ptr<HttpClientPool> pool,
                           std::unique_ptr<KeyRing> keys, QwenMode mode,
                           UnsupportedParams unsupported_params)
    : pool_(std::move(pool)),
      keys_(std::move(keys)),
      mode_(mode),
      unsupported_params_(unsupported_params) {}

template <typename Decoder>
absl::Status QwenProvider::RunStream(const UpstreamRequest& upstream,
                                     const KeyRing::Lease& key,
                                     Decoder& decoder, CancelToken* cancel) {
  // An error event inside the stream (a Throttling or InvalidApiKey event)
  // is what the key ring is told about, as SendStream returns it.
  absl::Status status =
      keys_->ReportAndRedact(key, pool_->SendStream(upstream, decoder, cancel));
  if (decoder.client_gone()) return absl::CancelledError("client left");
  return status;
}

absl::Status QwenProvider::Stream(const v1::ChatCompletionRequest& request,
                                  CallContext& ctx, ChunkSink& sink) {
  // A request DashScope cannot take is a 400 even when no key is free.
  absl::StatusOr<KeyRing::Lease> key = keys_->Acquire(request.model());
  ParamPolicy policy(unsupported_params_, &ctx.dropped_params);
  absl::StatusOr<UpstreamRequest> upstream =
      ChatUpstreamRequest(request, mode_, pool_->endpoint().path_prefix,
                          key.ok() ? key->key : "", policy);
  if (!upstream.ok()) return upstream.status();
  if (!key.ok()) return key.status();
  if (mode_ == QwenMode::kCompatible) {
    OpenAiStreamDecoder decoder(sink);
    return RunStream(*upstream, *key, decoder, ctx.cancel);
  }
  QwenStreamDecoder decoder(sink, request.model(),
                            absl::ToUnixSeconds(absl::Now()));
  return RunStream(*upstream, *key, decoder, ctx.cancel);
}

absl::StatusOr<v1::ChatCompletion> QwenProvider::Complete(
    const v1::ChatCompletionRequest& request, CallContext& ctx) {
  ChatAssembler assembler;
  absl::Status status = Stream(request, ctx, assembler);
  if (!status.ok()) return status;
  return assembler.Build();
}

absl::StatusOr<v1::EmbeddingsResponse> QwenProvider::Embed(
    const v1::EmbeddingsRequest& request, CallContext& ctx) {
  absl::StatusOr<KeyRing::Lease> key = keys_->Acquire(request.model());
  absl::StatusOr<UpstreamRequest> upstream = EmbeddingsUpstreamRequest(
      request, mode_, pool_->endpoint().path_prefix, key.ok() ? key->key : "");
  if (!upstream.ok()) return upstream.status();
  if (!key.ok()) return key.status();
  absl::StatusOr<std::string> response =
      keys_->ReportAndRedact(*key, pool_->SendForBody(*upstream, ctx.cancel));
  if (!response.ok()) return response.status();
  return EmbeddingsFromUpstream(*response, mode_, request.model());
}

}  // namespace aigw
