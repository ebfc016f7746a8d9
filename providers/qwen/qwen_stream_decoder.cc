#include "providers/qwen/qwen_stream_decoder.h"

#include <algorithm>
#include <cstdint>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "providers/common/api_error.h"

namespace aigw {
namespace {

using nlohmann::json;

constexpr size_t kMaxEventBytes = 8 << 20;

std::string StringOr(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

int64_t IntOr(const json& j, const char* key, int64_t fallback = 0) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return fallback;
  if (it->is_number_unsigned()) {
    return static_cast<int64_t>(
        std::min<uint64_t>(it->get<uint64_t>(), INT32_MAX));
  }
  if (it->is_number_integer()) {
    return std::clamp<int64_t>(it->get<int64_t>(), INT32_MIN, INT32_MAX);
  }
  // Converting an out-of-range double to an integer is undefined
  // behaviour, so floats saturate like integers before the cast.
  return static_cast<int64_t>(
      std::clamp<double>(it->get<double>(), INT32_MIN, INT32_MAX));
}

const json* ObjectAt(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_object() ? &*it : nullptr;
}

// The HTTP status DashScope writes in each event as ":HTTP_STATUS/200".
int HttpStatusOf(const SseEvent& event) {
  for (const std::string& comment : event.comments) {
    absl::string_view text = absl::StripAsciiWhitespace(comment);
    int status = 0;
    if (absl::ConsumePrefix(&text, "HTTP_STATUS/") &&
        absl::SimpleAtoi(text, &status)) {
      return status;
    }
  }
  return 0;
}

// DashScope error codes (see its error-code reference) by HTTP status, for
// errors that arrive without one.
int HttpStatusForCode(absl::string_view code) {
  if (code == "InvalidApiKey") return 401;
  if (absl::StartsWith(code, "AccessDenied") || code == "Arrearage") {
    return 403;
  }
  if (absl::StartsWith(code, "Throttling")) return 429;
  if (code == "ModelNotFound" || code == "model_not_found") return 404;
  if (absl::StartsWith(code, "Invalid") || code == "DataInspectionFailed" ||
      code == "BadRequest") {
    return 400;
  }
  return 500;
}

// DashScope's finish reasons are OpenAI's, with the string "null" (or JSON
// null) for "not finished".
std::string FinishReason(const json& choice) {
  std::string reason = StringOr(choice, "finish_reason");
  if (reason.empty() || reason == "null") return "";
  if (reason == "stop" || reason == "length" || reason == "tool_calls" ||
      reason == "content_filter") {
    return reason;
  }
  return "stop";
}

// Message content is a string (text API) or a list of {"text"} items
// (multimodal API).
std::string ContentText(const json& content) {
  if (content.is_string()) return content.get<std::string>();
  std::string text;
  if (content.is_array()) {
    for (const json& item : content) {
      if (item.is_object()) text += StringOr(item, "text");
    }
  }
  return text;
}

v1::Usage UsageFromQwen(const json& u) {
  v1::Usage usage;
  usage.set_prompt_tokens(IntOr(u, "input_tokens"));
  usage.set_completion_tokens(IntOr(u, "output_tokens"));
  usage.set_total_tokens(
      IntOr(u, "total_tokens",
            std::min<int64_t>(
                int64_t{usage.prompt_tokens()} + usage.completion_tokens(),
                INT32_MAX)));
  const json* prompt = ObjectAt(u, "prompt_tokens_details");
  if (prompt == nullptr) prompt = ObjectAt(u, "input_tokens_details");
  if (prompt != nullptr && prompt->contains("cached_tokens")) {
    usage.mutable_prompt_tokens_details()->set_cached_tokens(
        IntOr(*prompt, "cached_tokens"));
  }
  const json* output = ObjectAt(u, "output_tokens_details");
  if (output != nullptr && output->contains("reasoning_tokens")) {
    usage.mutable_completion_tokens_details()->set_reasoning_tokens(
        IntOr(*output, "reasoning_tokens"));
  }
  return usage;
}

}  // namespace

absl::Status QwenError(const json& error, int http_status) {
  if (http_status < 400) {
    http_status = HttpStatusForCode(error.is_object() ? StringOr(error, "code")
                                                      : std::string());
  }
  return StatusFromUpstreamHttp(
      http_status, error.dump(-1, ' ', false, json::error_handler_t::replace));
}

QwenStreamDecoder::QwenStreamDecoder(ChunkSink& sink, std::string model,
                                     int64_t created)
    : sink_(sink), model_(std::move(model)), created_(created) {}

bool QwenStreamDecoder::Feed(absl::string_view bytes) {
  framer_.Feed(bytes, &events_);
  if (framer_.buffered_bytes() > kMaxEventBytes) {
    error_ = MalformedUpstream("a stream event exceeds 8 MiB");
    return false;
  }
  return Drain();
}

absl::Status QwenStreamDecoder::Finish() {
  framer_.Finish(&events_);
  Drain();
  if (!error_.ok() || client_gone_) return error_;
  if (finished_.empty()) {
    return MalformedUpstream("the stream ended before a finish_reason");
  }
  // DashScope repeats the cumulative usage in every event; the last one
  // seen is the total, sent once as the last chunk.
  v1::ChatCompletionChunk chunk = NewChunk();
  *chunk.mutable_usage() = usage_;
  Write(std::move(chunk));
  return absl::OkStatus();
}

bool QwenStreamDecoder::Drain() {
  bool keep_going = !client_gone_ && error_.ok();
  for (const SseEvent& event : events_) {
    if (keep_going) keep_going = Handle(event);
  }
  events_.clear();
  return keep_going;
}

bool QwenStreamDecoder::Handle(const SseEvent& event) {
  if (event.data.empty()) return true;  // comment-only or heartbeat block
  json j = json::parse(event.data, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    error_ = MalformedUpstream("a stream event is not a JSON object");
    return false;
  }
  const int http_status = HttpStatusOf(event);
  if (event.event == "error" || http_status >= 400 ||
      (!StringOr(j, "code").empty() && !j.contains("output"))) {
    error_ = QwenError(j, http_status);
    return false;
  }
  return HandleResult(j);
}

bool QwenStreamDecoder::HandleResult(const json& j) {
  if (id_.empty() && !StringOr(j, "request_id").empty()) {
    id_ = absl::StrCat("chatcmpl-", StringOr(j, "request_id"));
  }
  if (const json* usage = ObjectAt(j, "usage")) usage_ = UsageFromQwen(*usage);
  const json* output = ObjectAt(j, "output");
  if (output == nullptr) return true;
  auto choices = output->find("choices");
  if (choices == output->end() || !choices->is_array()) return true;
  v1::ChatCompletionChunk chunk = NewChunk();
  for (size_t i = 0; i < choices->size(); ++i) {
    if (!AddChoice((*choices)[i], static_cast<int>(i), &chunk)) {
      error_ = MalformedUpstream("a stream choice is not an object");
      return false;
    }
  }
  if (chunk.choices_size() == 0) return true;
  return Write(std::move(chunk));
}

bool QwenStreamDecoder::AddChoice(const json& c, int position,
                                  v1::ChatCompletionChunk* chunk) {
  if (!c.is_object()) return false;
  const int index = static_cast<int>(IntOr(c, "index", position));
  v1::ChunkChoice choice;
  choice.set_index(index);
  v1::Message* delta = choice.mutable_delta();
  if (const json* message = ObjectAt(c, "message")) {
    auto content = message->find("content");
    if (content != message->end()) {
      std::string text = ContentText(*content);
      if (!text.empty()) delta->set_content(std::move(text));
    }
    std::string reasoning = StringOr(*message, "reasoning_content");
    if (!reasoning.empty()) delta->set_reasoning_content(std::move(reasoning));
    auto calls = message->find("tool_calls");
    if (calls != message->end() && calls->is_array()) {
      AddToolCalls(*calls, index, delta);
    }
  }
  std::string reason = FinishReason(c);
  if (!reason.empty() && finished_.insert(index).second) {
    // Older models finish a tool-calling turn with "stop"; OpenAI clients
    // look for "tool_calls".
    if (reason == "stop" && used_tools_.count(index) > 0) reason = "tool_calls";
    choice.set_finish_reason(reason);
  }
  const bool needs_role = role_sent_.count(index) == 0;
  const bool has_delta = delta->has_content() ||
                         delta->has_reasoning_content() ||
                         delta->tool_calls_size() > 0;
  if (!has_delta && choice.finish_reason().empty() && !needs_role) return true;
  if (needs_role) {
    delta->set_role("assistant");
    role_sent_.insert(index);
  }
  *chunk->add_choices() = std::move(choice);
  return true;
}

// Incremental tool-call fragments carry their index; the id (and type and
// name) come with the first fragment, later ones repeat an empty id and
// carry argument pieces. Each id and name is sent once, as OpenAI does.
void QwenStreamDecoder::AddToolCalls(const json& calls, int choice,
                                     v1::Message* delta) {
  for (size_t q = 0; q < calls.size(); ++q) {
    const json& tc = calls[q];
    if (!tc.is_object()) continue;
    const int index = static_cast<int>(IntOr(tc, "index", q));
    ToolCallSeen& seen = tool_calls_[{choice, index}];
    v1::ToolCall call;
    call.set_index(index);
    std::string id = StringOr(tc, "id");
    if (!seen.id) {
      // A call must carry an id; make one up if the upstream sent none.
      call.set_id(id.empty()
                      ? absl::StrCat("call_", id_, "_", choice, "_", index)
                      : id);
      call.set_type("function");
      seen.id = true;
    }
    std::string arguments;
    if (const json* fn = ObjectAt(tc, "function")) {
      std::string name = StringOr(*fn, "name");
      if (!name.empty() && !seen.name) {
        call.mutable_function()->set_name(name);
        seen.name = true;
      }
      arguments = StringOr(*fn, "arguments");
    }
    if (call.id().empty() && call.function().name().empty() &&
        arguments.empty()) {
      continue;
    }
    call.mutable_function()->set_arguments(std::move(arguments));
    used_tools_.insert(choice);
    *delta->add_tool_calls() = std::move(call);
  }
}

v1::ChatCompletionChunk QwenStreamDecoder::NewChunk() const {
  v1::ChatCompletionChunk chunk;
  chunk.set_id(id_.empty() ? "chatcmpl-qwen" : id_);
  chunk.set_object("chat.completion.chunk");
  chunk.set_created(created_);
  chunk.set_model(model_);
  return chunk;
}

bool QwenStreamDecoder::Write(v1::ChatCompletionChunk chunk) {
  if (!sink_.Write(std::move(chunk))) {
    client_gone_ = true;
    return false;
  }
  return true;
}

}  // namespace aigw
