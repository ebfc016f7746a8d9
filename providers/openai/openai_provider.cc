#include "providers/openai/openai_provider.h"

#include <nlohmann/json.hpp>
#include <utility>

#include "absl/strings/str_cat.h"
#include "providers/common/api_error.h"
#include "providers/common/openai_request_json.h"
#include "providers/common/openai_response_json.h"
#include "providers/openai/openai_stream_decoder.h"
#include "providers/registry.h"

namespace aigw {
namespace {

using nlohmann::json;

constexpr char kDefaultBaseUrl[] = "https://api.openai.com/v1";
constexpr size_t kMaxBodyBytes = 64 << 20;

absl::StatusOr<std::unique_ptr<Provider>> CreateOpenAi(
    const ProviderConfig& config) {
  if (!config.options.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(config.options.begin()->first, ": not a key of the ",
                     config.type, " provider"));
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
  return std::make_unique<OpenAiProvider>(
      std::make_unique<HttpClientPool>(std::move(*endpoint), options),
      config.api_keys);
}

const ProviderRegistration kRegistration("openai", CreateOpenAi);

}  // namespace

OpenAiProvider::OpenAiProvider(std::unique_ptr<HttpClientPool> pool,
                               std::vector<std::string> api_keys)
    : pool_(std::move(pool)), api_keys_(std::move(api_keys)) {}

UpstreamRequest OpenAiProvider::MakeRequest(std::string body) {
  UpstreamRequest request;
  request.path =
      absl::StrCat(pool_->endpoint().path_prefix, "/chat/completions");
  const std::string& key = api_keys_[next_key_.fetch_add(1) % api_keys_.size()];
  request.headers.emplace("Authorization", absl::StrCat("Bearer ", key));
  request.headers.emplace("Content-Type", "application/json");
  request.body = std::move(body);
  return request;
}

absl::Status OpenAiProvider::Stream(const v1::ChatCompletionRequest& request,
                                    CallContext& ctx, ChunkSink& sink) {
  json body = ChatRequestToJson(request);
  body["stream"] = true;
  // The gateway always asks for usage (its own accounting); the core hides
  // the usage chunk from clients that did not ask for it.
  body["stream_options"]["include_usage"] = true;
  UpstreamRequest upstream = MakeRequest(body.dump());
  upstream.headers.emplace("Accept", "text/event-stream");

  OpenAiStreamDecoder decoder(sink);
  absl::Status status = pool_->Send(
      upstream, [&](absl::string_view bytes) { return decoder.Feed(bytes); },
      ctx.cancel);
  if (decoder.client_gone()) return absl::CancelledError("client left");
  if (!decoder.error().ok()) return RedactSecrets(decoder.error(), api_keys_);
  if (!status.ok()) return RedactSecrets(status, api_keys_);
  return RedactSecrets(decoder.Finish(), api_keys_);
}

absl::StatusOr<v1::ChatCompletion> OpenAiProvider::Complete(
    const v1::ChatCompletionRequest& request, CallContext& ctx) {
  json body = ChatRequestToJson(request);
  body.erase("stream");
  body.erase("stream_options");
  std::string response;
  bool too_big = false;
  absl::Status status = pool_->Send(
      MakeRequest(body.dump()),
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
  json j = json::parse(response, nullptr, false);
  if (j.is_discarded()) return MalformedUpstream("the answer is not JSON");
  return ChatCompletionFromJson(j);
}

}  // namespace aigw
