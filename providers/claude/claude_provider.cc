#include "providers/claude/claude_provider.h"

#include <nlohmann/json.hpp>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "providers/claude/claude_passthrough.h"
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
  absl::StatusOr<UpstreamEndpoint> endpoint =
      EndpointFor(config, kDefaultBaseUrl);
  if (!endpoint.ok()) return endpoint.status();
  return std::make_unique<ClaudeProvider>(std::move(*endpoint),
                                          std::move(*keys), std::move(version),
                                          config.unsupported_params);
}

const ProviderRegistration kRegistration("claude", CreateClaude);

}  // namespace

ClaudeProvider::ClaudeProvider(UpstreamEndpoint endpoint,
                               std::unique_ptr<KeyRing> keys,
                               std::string anthropic_version,
                               UnsupportedParams unsupported_params)
    : endpoint_(std::move(endpoint)),
      keys_(std::move(keys)),
      anthropic_version_(std::move(anthropic_version)),
      unsupported_params_(unsupported_params) {}

bool ClaudeProvider::Passthrough(
    const v1::ChatCompletionRequest& request) const {
  return (request.passthrough_protocol() == "anthropic" ||
          request.passthrough_protocol() == kAnthropicCountTokens) &&
         !request.passthrough_body().empty();
}

absl::StatusOr<UpstreamRequest> ClaudeProvider::ChatRequest(
    const v1::ChatCompletionRequest& request, bool stream,
    absl::string_view key, CallContext& ctx) {
  if (Passthrough(request)) {
    // An Anthropic client's own body: only the model and stream replaced,
    // so every field Anthropic knows (cache_control, betas) works.
    json body = json::parse(request.passthrough_body(), nullptr, false);
    if (!body.is_object()) return InvalidRequest("The body is not JSON.");
    body["model"] = request.model();
    const bool count = request.passthrough_protocol() == kAnthropicCountTokens;
    if (count) {
      body.erase("stream");
    } else {
      body["stream"] = stream;
    }
    ParamPolicy policy(unsupported_params_, &ctx.dropped_params);
    AIGW_RETURN_IF_ERROR(CleanPassthroughBody(body, policy));
    auto version = request.passthrough_headers().find("anthropic-version");
    UpstreamRequest upstream = ClaudeHttpRequest(
        endpoint_.path_prefix, key,
        version != request.passthrough_headers().end() ? version->second
                                                       : anthropic_version_,
        JsonText(body), stream);
    auto beta = request.passthrough_headers().find("anthropic-beta");
    if (beta != request.passthrough_headers().end()) {
      upstream.headers.emplace("anthropic-beta", beta->second);
    }
    if (count) absl::StrAppend(&upstream.path, "/count_tokens");
    return upstream;
  }
  ParamPolicy policy(unsupported_params_, &ctx.dropped_params);
  absl::StatusOr<json> body = ClaudeRequestJson(request, policy);
  if (!body.ok()) return body.status();
  if (stream) (*body)["stream"] = true;
  return ClaudeHttpRequest(endpoint_.path_prefix, key, anthropic_version_,
                           JsonText(*body), stream);
}

std::unique_ptr<StreamDecoder> ClaudeProvider::ChatDecoder(
    const v1::ChatCompletionRequest& request, ChunkSink& sink) {
  auto decoder = std::make_unique<ClaudeStreamDecoder>(
      sink, absl::ToUnixSeconds(absl::Now()));
  decoder->set_keep_events(Passthrough(request));
  return decoder;
}

absl::StatusOr<v1::ChatCompletion> ClaudeProvider::ChatAnswer(
    const v1::ChatCompletionRequest& request, absl::string_view body) {
  json message = json::parse(body, nullptr, false);
  if (message.is_discarded()) {
    return MalformedUpstream("the answer is not JSON");
  }
  if (request.passthrough_protocol() == kAnthropicCountTokens) {
    // {"input_tokens": N}, relayed as sent; counting spends no tokens.
    if (!message.is_object() || !message.contains("input_tokens")) {
      return MalformedUpstream("count_tokens answered without input_tokens");
    }
    v1::ChatCompletion counted;
    counted.mutable_usage();  // counting spends no tokens
    counted.set_passthrough_body(std::string(body));
    return counted;
  }
  ChatAssembler assembler;
  absl::Status decoded =
      DecodeClaudeMessage(message, absl::ToUnixSeconds(absl::Now()), assembler);
  if (!decoded.ok()) return decoded;
  v1::ChatCompletion completion = assembler.Build();
  if (Passthrough(request)) completion.set_passthrough_body(std::string(body));
  return completion;
}

}  // namespace aigw
