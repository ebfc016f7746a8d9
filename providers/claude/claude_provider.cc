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
  HttpPoolOptions options;
  options.connect_timeout = config.connect_timeout;
  options.read_timeout = config.read_timeout;
  options.ca_file = config.ca_file;
  return std::make_unique<ClaudeProvider>(
      std::make_unique<HttpClientPool>(std::move(*endpoint), options),
      config.api_keys, std::move(version));
}

const ProviderRegistration kRegistration("claude", CreateClaude);

}  // namespace

ClaudeProvider::ClaudeProvider(std::unique_ptr<HttpClientPool> pool,
                               std::vector<std::string> api_keys,
                               std::string anthropic_version)
    : pool_(std::move(pool)),
      api_keys_(std::move(api_keys)),
      anthropic_version_(std::move(anthropic_version)) {}

UpstreamRequest ClaudeProvider::MakeRequest(std::string body, bool stream) {
  const std::string& key = api_keys_[next_key_.fetch_add(1) % api_keys_.size()];
  return ClaudeHttpRequest(pool_->endpoint().path_prefix, key,
                           anthropic_version_, std::move(body), stream);
}

absl::Status ClaudeProvider::Stream(const v1::ChatCompletionRequest& request,
                                    CallContext& ctx, ChunkSink& sink) {
  absl::StatusOr<json> body = ClaudeRequestJson(request);
  if (!body.ok()) return body.status();
  (*body)["stream"] = true;

  ClaudeStreamDecoder decoder(sink, absl::ToUnixSeconds(absl::Now()));
  absl::Status status = pool_->Send(
      MakeRequest(JsonText(*body), /*stream=*/true),
      [&](absl::string_view bytes) { return decoder.Feed(bytes); }, ctx.cancel);
  if (decoder.client_gone()) return absl::CancelledError("client left");
  if (!decoder.error().ok()) return RedactSecrets(decoder.error(), api_keys_);
  if (!status.ok()) return RedactSecrets(status, api_keys_);
  return RedactSecrets(decoder.Finish(), api_keys_);
}

absl::StatusOr<v1::ChatCompletion> ClaudeProvider::Complete(
    const v1::ChatCompletionRequest& request, CallContext& ctx) {
  absl::StatusOr<json> body = ClaudeRequestJson(request);
  if (!body.ok()) return body.status();
  std::string response;
  bool too_big = false;
  absl::Status status = pool_->Send(
      MakeRequest(JsonText(*body), /*stream=*/false),
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
  json message = json::parse(response, nullptr, false);
  if (message.is_discarded())
    return MalformedUpstream("the answer is not JSON");
  ChatAssembler assembler;
  absl::Status decoded =
      DecodeClaudeMessage(message, absl::ToUnixSeconds(absl::Now()), assembler);
  if (!decoded.ok()) return RedactSecrets(decoded, api_keys_);
  return assembler.Build();
}

}  // namespace aigw
