#include "providers/claude/claude_provider.h"

#include <nlohmann/json.hpp>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "providers/claude/claude_request.h"
#include "providers/claude/claude_stream_decoder.h"
#include "providers/common/api_error.h"
#include "providers/common/chat_assembler.h"
#include "providers/registry.h"

namespace aigw {
namespace {

using nlohmann::json;

constexpr char kDefaultBaseUrl[] = "https://api.anthropic.com";
constexpr char kDefaultAnthropicVersion[] = "2023-06-01";

std::string JsonText(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

absl::StatusOr<std::unique_ptr<Provider>> CreateClaude(
    const ProviderConfig& config) {
  std::string version = kDefaultAnthropicVersion;
  for (const auto& [key, value] : config.options) {
    if (key != "anthropic_version") {
      return absl::InvalidArgumentError(
          absl::StrCat(key, ": not a key of the ", config.type, " provider"));
    }
    if (value.empty()) {
      return absl::InvalidArgumentError(
          "anthropic_version: must not be empty (e.g. 2023-06-01)");
    }
    version = value;
  }
  absl::StatusOr<std::unique_ptr<KeyRing>> keys = MakeKeyRing(config);
  if (!keys.ok()) return keys.status();
  absl::StatusOr<std::unique_ptr<HttpClientPool>> pool =
      MakeUpstreamPool(config, kDefaultBaseUrl);
  if (!pool.ok()) return pool.status();
  return std::make_unique<ClaudeProvider>(std::move(*pool), std::move(*keys),
                                          std::move(version),
                                          config.unsupported_params);
}

const ProviderRegistration kRegistration("claude", CreateClaude);

}  // namespace

ClaudeProvider::ClaudeProvider(std::unique_ptr<HttpClientPool> pool,
                               std::unique_ptr<KeyRing> keys,
                               std::string anthropic_version,
                               UnsupportedParams unsupported_params)
    : pool_(std::move(pool)),
      keys_(std::move(keys)),
      anthropic_version_(std::move(anthropic_version)),
      unsupported_params_(unsupported_params) {}

UpstreamRequest ClaudeProvider::MakeRequest(std::string body, bool stream,
                                            const KeyRing::Lease& key) {
  return ClaudeHttpRequest(pool_->endpoint().path_prefix, key.key,
                           anthropic_version_, std::move(body), stream);
}

absl::Status ClaudeProvider::Stream(const v1::ChatCompletionRequest& request,
                                    CallContext& ctx, ChunkSink& sink) {
  ParamPolicy policy(unsupported_params_, &ctx.dropped_params);
  absl::StatusOr<json> body = ClaudeRequestJson(request, policy);
  if (!body.ok()) return body.status();
  (*body)["stream"] = true;
  absl::StatusOr<KeyRing::Lease> key = keys_->Acquire(request.model());
  if (!key.ok()) return key.status();

  ClaudeStreamDecoder decoder(sink, absl::ToUnixSeconds(absl::Now()));
  // An error event inside the stream (rate_limit_error,
  // authentication_error) is what the key ring is told about.
  absl::Status status = keys_->ReportAndRedact(
      *key,
      pool_->SendStream(MakeRequest(JsonText(*body), /*stream=*/true, *key),
                        decoder, ctx.cancel));
  if (decoder.client_gone()) return absl::CancelledError("client left");
  return status;
}

absl::StatusOr<v1::ChatCompletion> ClaudeProvider::Complete(
    const v1::ChatCompletionRequest& request, CallContext& ctx) {
  ParamPolicy policy(unsupported_params_, &ctx.dropped_params);
  absl::StatusOr<json> body = ClaudeRequestJson(request, policy);
  if (!body.ok()) return body.status();
  absl::StatusOr<KeyRing::Lease> key = keys_->Acquire(request.model());
  if (!key.ok()) return key.status();
  absl::StatusOr<std::string> response = keys_->ReportAndRedact(
      *key,
      pool_->SendForBody(MakeRequest(JsonText(*body), /*stream=*/false, *key),
                         ctx.cancel));
  if (!response.ok()) return response.status();
  json message = json::parse(*response, nullptr, false);
  if (message.is_discarded())
    return MalformedUpstream("the answer is not JSON");
  ChatAssembler assembler;
  absl::Status decoded =
      DecodeClaudeMessage(message, absl::ToUnixSeconds(absl::Now()), assembler);
  if (!decoded.ok()) return RedactSecrets(decoded, keys_->keys());
  return assembler.Build();
}

}  // namespace aigw
