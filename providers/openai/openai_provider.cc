#include "providers/openai/openai_provider.h"

#include <nlohmann/json.hpp>
#include <utility>

#include "absl/strings/str_cat.h"
#include "providers/common/api_error.h"
#include "providers/common/openai_request_json.h"
#include "providers/common/openai_response_json.h"
#include "providers/common/sse_framer.h"
#include "providers/registry.h"

namespace aigw {
namespace {

using nlohmann::json;

constexpr char kDefaultBaseUrl[] = "https://api.openai.com/v1";
constexpr size_t kMaxEventBytes = 8 << 20;
constexpr size_t kMaxBodyBytes = 64 << 20;

absl::Status MalformedStream(absl::string_view what) {
  ApiErrorSpec spec;
  spec.code = absl::StatusCode::kUnavailable;
  spec.http_status = 502;
  spec.type = "upstream_error";
  spec.message = absl::StrCat("upstream stream is malformed: ", what);
  return MakeApiError(spec);
}

// An error object sent inside the event stream after the 200 status.
absl::Status StreamErrorEvent(const json& error) {
  ApiErrorSpec spec;
  spec.code = absl::StatusCode::kUnavailable;
  spec.http_status = 502;
  spec.type = "upstream_error";
  spec.message = "upstream reported an error mid-stream";
  if (error.is_object()) {
    if (error.contains("message") && error["message"].is_string()) {
      spec.message = error["message"].get<std::string>();
    }
    if (error.contains("type") && error["type"].is_string()) {
      spec.type = error["type"].get<std::string>();
    }
    if (error.contains("code") && error["code"].is_string()) {
      spec.error_code = error["code"].get<std::string>();
    }
  } else if (error.is_string()) {
    spec.message = error.get<std::string>();
  }
  return MakeApiError(spec);
}

// Decodes one SSE stream of OpenAI chunks into the sink.
class ChunkStreamDecoder {
 public:
  explicit ChunkStreamDecoder(ChunkSink& sink) : sink_(sink) {}

  bool Feed(absl::string_view bytes) {
    framer_.Feed(bytes, &events_);
    if (framer_.buffered_bytes() > kMaxEventBytes) {
      error_ = MalformedStream("an event exceeds 8 MiB");
      return false;
    }
    return Drain();
  }

  absl::Status Finish() {
    framer_.Finish(&events_);
    Drain();
    if (!error_.ok() || client_gone_) return error_;
    if (!done_ && !finished_) {
      return MalformedStream("the stream ended before [DONE]");
    }
    return absl::OkStatus();
  }

  const absl::Status& error() const { return error_; }
  bool client_gone() const { return client_gone_; }

 private:
  bool Drain() {
    bool keep_going = true;
    for (const SseEvent& event : events_) {
      if (keep_going) keep_going = Handle(event);
    }
    events_.clear();
    return keep_going;
  }

  bool Handle(const SseEvent& event) {
    if (event.data.empty() || done_) return true;
    if (event.data == "[DONE]") {
      done_ = true;
      return true;
    }
    json j = json::parse(event.data, nullptr, false);
    if (j.is_discarded()) {
      error_ = MalformedStream("an event is not JSON");
      return false;
    }
    if (j.is_object() && j.contains("error")) {
      error_ = StreamErrorEvent(j["error"]);
      return false;
    }
    absl::StatusOr<v1::ChatCompletionChunk> chunk = ChatChunkFromJson(j);
    if (!chunk.ok()) {
      error_ = chunk.status();
      return false;
    }
    for (const v1::ChunkChoice& choice : chunk->choices()) {
      if (!choice.finish_reason().empty()) finished_ = true;
    }
    if (!sink_.Write(std::move(*chunk))) {
      client_gone_ = true;
      return false;
    }
    return true;
  }

  ChunkSink& sink_;
  SseFramer framer_;
  std::vector<SseEvent> events_;
  absl::Status error_;
  bool done_ = false;
  bool finished_ = false;
  bool client_gone_ = false;
};

absl::StatusOr<std::unique_ptr<Provider>> CreateOpenAi(
    const ProviderConfig& config) {
  for (const auto& [key, value] : config.options) {
    return absl::InvalidArgumentError(
        absl::StrCat(key, ": not a key of the ", config.type, " provider"));
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

  ChunkStreamDecoder decoder(sink);
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
  if (too_big) return MalformedStream("the answer exceeds 64 MiB");
  json j = json::parse(response, nullptr, false);
  if (j.is_discarded()) return MalformedStream("the answer is not JSON");
  return ChatCompletionFromJson(j);
}

}  // namespace aigw
