#include "providers/openai/openai_stream_decoder.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>
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
  // Choices with neither delta nor finish_reason (the verdicts of Azure's
  // asynchronous content filter, sent with id "") tell the client nothing.
  auto* choices = chunk->mutable_choices();
  choices->erase(std::remove_if(choices->begin(), choices->end(),
                                [](const v1::ChunkChoice& choice) {
                                  return !choice.has_delta() &&
                                         choice.finish_reason().empty();
                                }),
                 choices->end());
  // Chunks with neither choices nor usage (Azure's prompt_filter_results)
  // tell the client nothing; the first chunk it sees carries the role.
  if (chunk->choices_size() == 0 && !chunk->has_usage()) return true;
  for (const v1::ChunkChoice& choice : chunk->choices()) {
    if (!choice.finish_reason().empty()) finished_ = true;
  }
  // Usage on a chunk with choices (DeepSeek's finish chunk, Moonshot's
  // choices[0].usage) goes out as OpenAI sends it: alone, in a chunk with
  // empty choices after the choices.
  std::optional<v1::ChatCompletionChunk> usage_chunk;
  if (chunk->choices_size() > 0 && chunk->has_usage()) {
    usage_chunk.emplace(*chunk);
    usage_chunk->clear_choices();
    chunk->clear_usage();
  }
  if (!sink_.Write(std::move(*chunk)) ||
      (usage_chunk.has_value() && !sink_.Write(std::move(*usage_chunk)))) {
    client_gone_ = true;
    return false;
  }
  return true;
}

}  // namespace aigw
