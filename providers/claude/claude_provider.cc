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
constexpr size_t kMaxBodyBytes = 64 << 20;

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
  return std::make_unique<ClaudeProvider>(
      std::make_unique<HttpClientPool>(std::move(*endpoint),
                                       PoolOptionsFor(config)),
      std::make_unique<KeyRing>(config.name, config.api_keys),
      std::move(version));
}

const ProviderRegistration kRegistration("claude", CreateClaude);

}  // namespace

ClaudeProvider::ClaudeProvider(std::unique_ptr<HttpClientPool> pool,
                               std::unique_ptr<KeyRing> keys,
                               std::string anthropic_version)
    : pool_(std::move(pool)),
      keys_(std::move(keys)),
      anthropic_version_(std::move(anthropic_version)) {}

UpstreamRequest ClaudeProvider::MakeRequest(std::string body, bool stream,
                                            const KeyRing::Lease& key) {
  return ClaudeHttpRequest(pool_->endpoint().path_prefix, key.key,
                           anthropic_version_, std::move(body), stream);
}

absl::Status ClaudeProvider::Stream(const v1::ChatCompletionRequest& request,
                                    CallContext& ctx, ChunkSink& sink) {
  absl::StatusOr<json> body = ClaudeRequestJson(request);
  if (!body.ok()) return body.status();
  (*body)["stream"] = true;
  absl::StatusOr<KeyRing::Lease> key = keys_->Acquire();
  if (!key.ok()) return key.status();

  ClaudeStreamDecoder decoder(sink, absl::ToUnixSeconds(absl::Now()));
  absl::Status status = pool_->Send(
      MakeRequest(JsonText(*body), /*stream=*/true, *key),
      [&](absl::string_view bytes) { return decoder.Feed(bytes); }, ctx.cancel);
  absl::Status decoded = decoder.error();
  if (status.ok() && decoded.ok() && !decoder.client_gone()) {
    decoded = decoder.Finish();
  }
  // An error event inside the stream (rate_limit_error,
  // authentication_error) says as much about the key as an HTTP status; the
  // ring acts on 429/401/403 only.
  keys_->Report(*key, decoded.ok() ? status : decoded);
  if (decoder.client_gone()) return absl::CancelledError("client left");
  return RedactSecrets(decoded.ok() ? status : decoded, keys_->keys());
}

absl::StatusOr<v1::ChatCompletion> ClaudeProvider::Complete(
    const v1::ChatCompletionRequest& request, CallContext& ctx) {
  absl::StatusOr<json> body = ClaudeRequestJson(request);
  if (!body.ok()) return body.status();
  absl::StatusOr<KeyRing::Lease> key = keys_->Acquire();
  if (!key.ok()) return key.status();
  std::string response;
  bool too_big = false;
  absl::Status status = pool_->Send(
      MakeRequest(JsonText(*body), /*stream=*/false, *key),
      [&](absl::string_view bytes) {
        if (response.size() + bytes.size() > kMaxBodyBytes) {
          too_big = true;
          return false;
        }
        response.append(bytes.data(), bytes.size());
        return true;
      },
      ctx.cancel);
  keys_->Report(*key, status);
  if (!status.ok()) return RedactSecrets(status, keys_->keys());
  if (too_big) return MalformedUpstream("the answer exceeds 64 MiB");
  json message = json::parse(response, nullptr, false);
  if (message.is_discarded())
    return MalformedUpstream("the answer is not JSON");
  ChatAssembler assembler;
  absl::Status decoded =
      DecodeClaudeMessage(message, absl::ToUnixSeconds(absl::Now()), assembler);
  if (!decoded.ok()) return RedactSecrets(decoded, keys_->keys());
  return assembler.Build();
}

}  // namespace aigw
