#include "providers/claude/claude_stream_decoder.h"

#include <algorithm>
#include <cstdint>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "providers/common/api_error.h"
#include "providers/common/json_struct.h"

namespace aigw {
namespace {

using nlohmann::json;

constexpr size_t kMaxEventBytes = 8 << 20;

const json* ObjectField(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_object() ? &*it : nullptr;
}

std::string FinishReason(const std::string& stop_reason) {
  if (stop_reason == "max_tokens" ||
      stop_reason == "model_context_window_exceeded") {
    return "length";
  }
  if (stop_reason == "tool_use") return "tool_calls";
  if (stop_reason == "refusal") return "content_filter";
  return "stop";  // end_turn, stop_sequence, pause_turn
}

// The HTTP status Anthropic documents for each error type, so an error
// event mid-stream is classified like the same error before the stream.
int HttpStatusForErrorType(const std::string& type) {
  static const std::map<std::string, int>* const kStatus =
      new std::map<std::string, int>{
          {"invalid_request_error", 400}, {"authentication_error", 401},
          {"billing_error", 402},         {"permission_error", 403},
          {"not_found_error", 404},       {"request_too_large", 413},
          {"rate_limit_error", 429},      {"api_error", 500},
          {"timeout_error", 504},         {"overloaded_error", 529}};
  auto it = kStatus->find(type);
  return it != kStatus->end() ? it->second : 500;
}

std::string JsonText(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

bool ClaudeStreamDecoder::Feed(absl::string_view bytes) {
  framer_.Feed(bytes, &events_);
  if (framer_.buffered_bytes() > kMaxEventBytes) {
    return Fail(MalformedUpstream("a stream event exceeds 8 MiB"));
  }
  return Drain();
}

absl::Status ClaudeStreamDecoder::Finish() {
  framer_.Finish(&events_);
  Drain();
  if (!error_.ok() || client_gone_) return error_;
  if (!done_) return MalformedUpstream("the stream ended before message_stop");
  return absl::OkStatus();
}

bool ClaudeStreamDecoder::Drain() {
  bool keep_going = error_.ok() && !client_gone_;
  for (const SseEvent& event : events_) {
    if (keep_going) keep_going = HandleSse(event);
  }
  events_.clear();
  return keep_going;
}

bool ClaudeStreamDecoder::Fail(absl::Status status) {
  error_ = std::move(status);
  return false;
}

bool ClaudeStreamDecoder::HandleSse(const SseEvent& event) {
  if (event.data.empty()) return true;  // comments, keep-alives
  if (keep_events_) {
    pending_events_ = SseEventText(event);
    bool keep_going = HandleParsed(event);
    // An error event is the gateway's to report; others go as they came.
    if (!pending_events_.empty() && keep_going) {
      v1::ChatCompletionChunk carrier = NewChunk();
      keep_going = Emit(std::move(carrier));
    }
    pending_events_.clear();
    return keep_going;
  }
  return HandleParsed(event);
}

bool ClaudeStreamDecoder::HandleParsed(const SseEvent& event) {
  json j = json::parse(event.data, nullptr, false);
  if (!j.is_object())
    return Fail(MalformedUpstream("a stream event is not a JSON object"));
  // The data repeats the SSE event name as `type`; fall back to the name.
  if (!j.contains("type") && !event.event.empty()) j["type"] = event.event;
  return HandleEvent(j);
}

bool ClaudeStreamDecoder::HandleEvent(const json& event) {
  const std::string type = StringAt(event, "type");
  if (type == "ping" || done_) return true;
  if (type == "error") {
    const json* error = ObjectField(event, "error");
    int status = HttpStatusForErrorType(error ? StringAt(*error, "type") : "");
    return Fail(StatusFromUpstreamHttp(status, JsonText(event)));
  }
  if (type == "message_start") {
    const json* message = ObjectField(event, "message");
    if (message == nullptr) {
      return Fail(MalformedUpstream("message_start without a message"));
    }
    started_ = true;
    id_ = StringAt(*message, "id");
    model_ = StringAt(*message, "model");
    if (const json* usage = ObjectField(*message, "usage")) ReadUsage(*usage);
    v1::Message delta;
    delta.set_role("assistant");
    return EmitDelta(std::move(delta));
  }
  if (type.rfind("content_block_", 0) == 0 || type.rfind("message_", 0) == 0) {
    if (!started_) {
      return Fail(MalformedUpstream(
          absl::StrCat("a ", type, " event came before message_start")));
    }
  }
  if (type == "content_block_start") return OnContentBlockStart(event);
  if (type == "content_block_delta") return OnContentBlockDelta(event);
  if (type == "content_block_stop") return OnContentBlockStop(event);
  if (type == "message_delta") {
    if (const json* delta = ObjectField(event, "delta")) {
      std::string reason = StringAt(*delta, "stop_reason");
      if (!reason.empty()) stop_reason_ = reason;
    }
    if (const json* usage = ObjectField(event, "usage")) ReadUsage(*usage);
    return true;
  }
  if (type == "message_stop") return OnMessageStop();
  return true;  // Anthropic may add event types; unknown ones are skipped
}

bool ClaudeStreamDecoder::OnContentBlockStart(const json& event) {
  const json* block = ObjectField(event, "content_block");
  auto index = event.find("index");
  if (block == nullptr || index == event.end() || !index->is_number_integer()) {
    return Fail(MalformedUpstream("content_block_start without index/block"));
  }
  const std::string type = StringAt(*block, "type");
  // Streams start blocks empty; a replayed whole answer starts them full.
  if (type == "text") {
    std::string text = StringAt(*block, "text");
    if (text.empty()) return true;
    v1::Message delta;
    delta.set_content(std::move(text));
    return EmitDelta(std::move(delta));
  }
  if (type == "thinking") {
    std::string thinking = StringAt(*block, "thinking");
    std::string signature = StringAt(*block, "signature");
    if (thinking.empty() && signature.empty()) return true;
    v1::Message delta;
    if (!thinking.empty()) delta.set_reasoning_content(std::move(thinking));
    if (!signature.empty()) delta.set_reasoning_signature(std::move(signature));
    return EmitDelta(std::move(delta));
  }
  if (type == "tool_use") {
    ToolBlock& tool = tool_blocks_[index->get<int>()];
    tool.index = tool_count_++;
    std::string arguments;
    const json* input = ObjectField(*block, "input");
    if (input != nullptr && !input->empty()) {
      arguments = JsonText(*input);
      tool.has_arguments = true;
    }
    return EmitToolDelta(tool.index, StringAt(*block, "id"),
                         StringAt(*block, "name"), arguments);
  }
  return true;  // redacted_thinking, server tool blocks: nothing to relay
}

bool ClaudeStreamDecoder::OnContentBlockDelta(const json& event) {
  const json* delta = ObjectField(event, "delta");
  auto index = event.find("index");
  if (delta == nullptr || index == event.end() || !index->is_number_integer()) {
    return Fail(MalformedUpstream("content_block_delta without index/delta"));
  }
  const std::string type = StringAt(*delta, "type");
  if (type == "text_delta") {
    std::string text = StringAt(*delta, "text");
    if (text.empty()) return true;
    v1::Message out;
    out.set_content(std::move(text));
    return EmitDelta(std::move(out));
  }
  if (type == "thinking_delta") {
    std::string thinking = StringAt(*delta, "thinking");
    if (thinking.empty()) return true;
    v1::Message out;
    out.set_reasoning_content(std::move(thinking));
    return EmitDelta(std::move(out));
  }
  if (type == "signature_delta") {
    std::string signature = StringAt(*delta, "signature");
    if (signature.empty()) return true;
    v1::Message out;
    out.set_reasoning_signature(std::move(signature));
    return EmitDelta(std::move(out));
  }
  if (type == "input_json_delta") {
    auto tool = tool_blocks_.find(index->get<int>());
    if (tool == tool_blocks_.end()) {
      return Fail(MalformedUpstream("input_json_delta outside a tool_use"));
    }
    std::string partial = StringAt(*delta, "partial_json");
    if (partial.empty()) return true;
    tool->second.has_arguments = true;
    return EmitToolDelta(tool->second.index, "", "", partial);
  }
  return true;  // citations_delta: nothing to relay
}

bool ClaudeStreamDecoder::OnContentBlockStop(const json& event) {
  auto index = event.find("index");
  if (index == event.end() || !index->is_number_integer()) return true;
  auto tool = tool_blocks_.find(index->get<int>());
  if (tool == tool_blocks_.end() || tool->second.has_arguments) return true;
  // A tool without input streams no JSON; OpenAI clients parse "{}".
  tool->second.has_arguments = true;
  return EmitToolDelta(tool->second.index, "", "", "{}");
}

bool ClaudeStreamDecoder::OnMessageStop() {
  done_ = true;
  v1::ChatCompletionChunk finish = NewChunk();
  v1::ChunkChoice* choice = finish.add_choices();
  choice->set_index(0);
  choice->mutable_delta();
  choice->set_finish_reason(FinishReason(stop_reason_));
  if (!Emit(std::move(finish))) return false;

  v1::ChatCompletionChunk usage_chunk = NewChunk();
  v1::Usage* usage = usage_chunk.mutable_usage();
  // Claude counts cached prompt tokens apart from input_tokens; OpenAI's
  // prompt_tokens includes them.
  int64_t prompt = input_tokens_ + cache_creation_tokens_ + cache_read_tokens_;
  auto saturate = [](int64_t n) {
    return static_cast<int32_t>(std::min<int64_t>(n, INT32_MAX));
  };
  usage->set_prompt_tokens(saturate(prompt));
  usage->set_completion_tokens(saturate(output_tokens_));
  usage->set_total_tokens(saturate(prompt + output_tokens_));
  usage->mutable_prompt_tokens_details()->set_cached_tokens(
      static_cast<int32_t>(cache_read_tokens_));
  usage->mutable_completion_tokens_details();
  return Emit(std::move(usage_chunk));
}

// Counts are cumulative: a later event replaces the fields it carries.
void ClaudeStreamDecoder::ReadUsage(const json& usage) {
  auto read = [&usage](const char* key, int64_t* out) {
    auto it = usage.find(key);
    if (it == usage.end() || !it->is_number_integer()) return;
    // Clamped so the sums in OnMessageStop cannot overflow (UB) and the
    // int32 usage fields stay meaningful on absurd upstream counts.
    *out = it->is_number_unsigned()
               ? static_cast<int64_t>(
                     std::min<uint64_t>(it->get<uint64_t>(), INT32_MAX))
               : std::clamp<int64_t>(it->get<int64_t>(), 0, INT32_MAX);
  };
  read("input_tokens", &input_tokens_);
  read("cache_creation_input_tokens", &cache_creation_tokens_);
  read("cache_read_input_tokens", &cache_read_tokens_);
  read("output_tokens", &output_tokens_);
}

v1::ChatCompletionChunk ClaudeStreamDecoder::NewChunk() const {
  v1::ChatCompletionChunk chunk;
  chunk.set_id(id_);
  chunk.set_object("chat.completion.chunk");
  chunk.set_created(created_);
  chunk.set_model(model_);
  return chunk;
}

bool ClaudeStreamDecoder::EmitDelta(v1::Message delta) {
  v1::ChatCompletionChunk chunk = NewChunk();
  v1::ChunkChoice* choice = chunk.add_choices();
  choice->set_index(0);
  *choice->mutable_delta() = std::move(delta);
  return Emit(std::move(chunk));
}

// The first delta of a call carries id, type and name, the next ones only
// argument text: the shape OpenAI streams and its clients accumulate.
bool ClaudeStreamDecoder::EmitToolDelta(int index, const std::string& id,
                                        const std::string& name,
                                        const std::string& arguments) {
  v1::Message delta;
  v1::ToolCall* call = delta.add_tool_calls();
  call->set_index(index);
  if (!id.empty() || !name.empty()) {
    call->set_id(id);
    call->set_type("function");
    call->mutable_function()->set_name(name);
  }
  call->mutable_function()->set_arguments(arguments);
  return EmitDelta(std::move(delta));
}

bool ClaudeStreamDecoder::Emit(v1::ChatCompletionChunk chunk) {
  if (!pending_events_.empty()) {
    chunk.set_passthrough_events(std::exchange(pending_events_, ""));
  }
  if (!sink_.Write(std::move(chunk))) {
    client_gone_ = true;
    return false;
  }
  return true;
}

absl::Status DecodeClaudeMessage(const json& message, int64_t created,
                                 ChunkSink& sink) {
  auto content = message.is_object() ? message.find("content") : message.end();
  if (!message.is_object() || content == message.end() ||
      !content->is_array()) {
    return MalformedUpstream("the answer is not a Messages API message");
  }
  ClaudeStreamDecoder decoder(sink, created);
  json start = message;
  start["content"] = json::array();
  bool ok = decoder.HandleEvent(
      {{"type", "message_start"}, {"message", std::move(start)}});
  for (size_t i = 0; ok && i < content->size(); ++i) {
    ok = decoder.HandleEvent({{"type", "content_block_start"},
                              {"index", i},
                              {"content_block", (*content)[i]}}) &&
         decoder.HandleEvent({{"type", "content_block_stop"}, {"index", i}});
  }
  json delta = {{"stop_reason", message.value("stop_reason", json())}};
  if (ok) {
    ok = decoder.HandleEvent({{"type", "message_delta"},
                              {"delta", std::move(delta)},
                              {"usage", message.value("usage", json())}}) &&
         decoder.HandleEvent({{"type", "message_stop"}});
  }
  if (decoder.client_gone()) return absl::CancelledError("client left");
  return decoder.error();
}

}  // namespace aigw
