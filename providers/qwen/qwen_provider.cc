#include "providers/qwen/qwen_provider.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "providers/common/api_error.h"
#include "providers/common/chat_assembler.h"
#include "providers/openai/openai_stream_decoder.h"
#include "providers/qwen/qwen_embeddings.h"
#include "providers/qwen/qwen_stream_decoder.h"
#include "providers/registry.h"

namespace aigw {
namespace {

constexpr char kDefaultBaseUrl[] = "https://dashscope.aliyuncs.com";
constexpr size_t kMaxBodyBytes = 64 << 20;

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
  if (config.api_keys.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "api_keys: the ", config.type, " provider needs at least one key"));
  }
  absl::StatusOr<UpstreamEndpoint> endpoint =
      ParseBaseUrl(config.base_url.empty() ? kDefaultBaseUrl : config.base_url);
  if (!endpoint.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("base_url: ", endpoint.status().message()));
  }
  // A URL copied from DashScope's OpenAI or SDK docs would double the path.
  if (absl::EndsWith(endpoint->path_prefix, "/compatible-mode/v1") ||
      absl::EndsWith(endpoint->path_prefix, "/api/v1")) {
    return absl::InvalidArgumentError(
        absl::StrCat("base_url: the ", config.type,
                     " provider takes the origin (e.g. ", kDefaultBaseUrl,
                     "); it appends /api/v1/... or /compatible-mode/v1/... "
                     "itself"));
  }
  HttpPoolOptions options;
  options.connect_timeout = config.connect_timeout;
  options.read_timeout = config.read_timeout;
  options.ca_file = config.ca_file;
  return std::make_unique<QwenProvider>(
      std::make_unique<HttpClientPool>(std::move(*endpoint), options),
      config.api_keys, mode);
}

const ProviderRegistration kRegistration("qwen", CreateQwen);

// Sends a streamed chat call through `decoder` (QwenStreamDecoder or
// OpenAiStreamDecoder, which share Feed/Finish/error/client_gone).
template <typename Decoder>
absl::Status RunStream(HttpClientPool& pool, const UpstreamRequest& upstream,
                       Decoder& decoder, CancelToken* cancel,
                       const std::vector<std::string>& api_keys) {
  absl::Status status = pool.Send(
      upstream, [&](absl::string_view bytes) { return decoder.Feed(bytes); },
      cancel);
  if (decoder.client_gone()) return absl::CancelledError("client left");
  if (!decoder.error().ok()) return RedactSecrets(decoder.error(), api_keys);
  if (!status.ok()) return RedactSecrets(UnwrapSseErrorBody(status), api_keys);
  absl::Status finished = decoder.Finish();
  if (decoder.client_gone()) return absl::CancelledError("client left");
  return RedactSecrets(finished, api_keys);
}

}  // namespace

QwenProvider::QwenProvider(std::unique_ptr<HttpClientPool> pool,
                           std::vector<std::string> api_keys, QwenMode mode)
    : pool_(std::move(pool)), api_keys_(std::move(api_keys)), mode_(mode) {}

const std::string& QwenProvider::NextKey() {
  return api_keys_[next_key_.fetch_add(1) % api_keys_.size()];
}

absl::Status QwenProvider::Stream(const v1::ChatCompletionRequest& request,
                                  CallContext& ctx, ChunkSink& sink) {
  absl::StatusOr<UpstreamRequest> upstream = ChatUpstreamRequest(
      request, mode_, pool_->endpoint().path_prefix, NextKey());
  if (!upstream.ok()) return upstream.status();
  if (mode_ == QwenMode::kCompatible) {
    OpenAiStreamDecoder decoder(sink);
    return RunStream(*pool_, *upstream, decoder, ctx.cancel, api_keys_);
  }
  QwenStreamDecoder decoder(sink, request.model(),
                            absl::ToUnixSeconds(absl::Now()));
  return RunStream(*pool_, *upstream, decoder, ctx.cancel, api_keys_);
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
  absl::StatusOr<UpstreamRequest> upstream = EmbeddingsUpstreamRequest(
      request, mode_, pool_->endpoint().path_prefix, NextKey());
  if (!upstream.ok()) return upstream.status();
  std::string response;
  bool too_big = false;
  absl::Status status = pool_->Send(
      *upstream,
      [&](absl::string_view bytes) {
        if (response.size() + bytes.size() > kMaxBodyBytes) {
          too_big = true;
          return false;
        }
        response.append(bytes.data(), bytes.size());
        return true;
      },
      ctx.cancel);
  if (!status.ok()) return RedactSecrets(status, api_keys_);
  if (too_big) return MalformedUpstream("the answer exceeds 64 MiB");
  return EmbeddingsFromUpstream(response, mode_, request.model());
}

}  // namespace aigw
