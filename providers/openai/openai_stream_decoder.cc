#include "providers/openai/openai_stream_decoder.h"

#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "providers/common/api_error.h"
#include "providers/common/openai_response_json.h"

namespace aigw {
namespace {

using nlohmann::json;

constexpr size_t kMaxEventBytes = 8 << 20;

// An error object sent inside the event stream after the 200 status.
absl::Status StreamErrorEvent(const json& error) {
  ApiErrorSpec spec;
  spec.code = absl::StatusCode::kUnavailable;
  spec.http_status = 502;
  spec.type = "upstream_error";
  spec.message = "upstream reported an error mid-stream";
  if (error.is_object()) {
    auto text = [&error](const char* key) {
      auto it = error.find(key);
      return it != error.end() && it->is_string() ? it->get<std::string>()
                                                  : std::string();
    };
    if (!text("message").empty()) spec.message = text("message");
    if (!text("type").empty()) spec.type = text("type");
    spec.error_code = text("code");
  } else if (error.is_string()) {
    spec.message = error.get<std::string>();
  }
  return MakeApiError(spec);
}

}  // namespace

bool OpenAiStreamDecoder::Feed(absl::string_view bytes) {
  framer_.Feed(bytes, &events_);
  if (framer_.buffered_bytes() > kMaxEventBytes) {
    error_ = MalformedUpstream("a stream event exceeds 8 MiB");
    return false;
  }
  return Drain();
}

absl::Status OpenAiStreamDecoder::Finish() {
  framer_.Finish(&events_);
  Drain();
  if (!error_.ok() || client_gone_) return error_;
  if (!done_ && !finished_) {
    return MalformedUpstream("the stream ended before [DONE]");
  }
  return absl::OkStatus();
}

bool OpenAiStreamDecoder::Drain() {
  bool keep_going = true;
  for (const SseEvent& event : events_) {
    if (keep_going) keep_going = Handle(event);
  }
  events_.clear();
  return keep_going;
}

bool OpenAiStreamDecoder::Handle(const SseEvent& event) {
  if (event.data.empty() || done_) return true;
  if (event.data == "[DONE]") {
    done_ = true;
    return true;
  }
  json j = json::parse(event.data, nullptr, false);
  if (j.is_discarded()) {
    error_ = MalformedUpstream("a stream event is not JSON");
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
  // Chunks with neither choices nor usage (Azure's prompt_filter_results)
  // tell the client nothing; the first chunk it sees carries the role.
  if (chunk->choices_size() == 0 && !chunk->has_usage()) return true;
  for (const v1::ChunkChoice& choice : chunk->choices()) {
    if (!choice.finish_reason().empty()) finished_ = true;
  }
  if (!sink_.Write(std::move(*chunk))) {
    client_gone_ = true;
    return false;
  }
  return true;
}

}  // namespace aigw
