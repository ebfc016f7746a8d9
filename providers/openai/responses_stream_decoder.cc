#include "providers/openai/responses_stream_decoder.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "providers/common/api_error.h"

namespace aigw {

namespace {

using nlohmann::json;

constexpr size_t kMaxEventBytes = 8 << 20;

std::string Text(const json& j, const char* key) {
  auto found = j.find(key);
  return found != j.end() && found->is_string() ? found->get<std::string>()
                                                : "";
}

int Int(const json& j, const char* key) {
  auto found = j.find(key);
  return found != j.end() && found->is_number_integer() ? found->get<int>() : 0;
}

void ReadUsage(const json& usage, v1::Usage* out) {
  if (!usage.is_object()) return;
  out->set_prompt_tokens(Int(usage, "input_tokens"));
  out->set_completion_tokens(Int(usage, "output_tokens"));
  out->set_total_tokens(Int(usage, "total_tokens"));
  auto input = usage.find("input_tokens_details");
  if (input != usage.end() && input->is_object()) {
    out->mutable_prompt_tokens_details()->set_cached_tokens(
        Int(*input, "cached_tokens"));
  }
  auto output = usage.find("output_tokens_details");
  if (output != usage.end() && output->is_object()) {
    out->mutable_completion_tokens_details()->set_reasoning_tokens(
        Int(*output, "reasoning_tokens"));
  }
}

std::string FinishReason(const json& response, bool has_tools) {
  if (Text(response, "status") == "incomplete") {
    auto details = response.find("incomplete_details");
    if (details != response.end() && details->is_object() &&
        Text(*details, "reason") == "content_filter") {
      return "content_filter";
    }
    return "length";
  }
  return has_tools ? "tool_calls" : "stop";
}

}  // namespace

bool ResponsesStreamDecoder::Fail(absl::Status status) {
  error_ = std::move(status);
  return false;
}

v1::ChatCompletionChunk ResponsesStreamDecoder::NewChunk() const {
  v1::ChatCompletionChunk chunk;
  chunk.set_id(id_);
  chunk.set_object("chat.completion.chunk");
  chunk.set_model(model_);
  return chunk;
}

bool ResponsesStreamDecoder::Emit(v1::ChatCompletionChunk chunk) {
  if (!pending_events_.empty()) {
    chunk.set_passthrough_events(std::exchange(pending_events_, ""));
  }
  if (!sink_.Write(std::move(chunk))) {
    client_gone_ = true;
    return false;
  }
  return true;
}

bool ResponsesStreamDecoder::Feed(absl::string_view bytes) {
  framer_.Feed(bytes, &events_);
  if (framer_.buffered_bytes() > kMaxEventBytes) {
    return Fail(MalformedUpstream("a stream event exceeds 8 MiB"));
  }
  bool keep_going = error_.ok() && !client_gone_;
  for (const SseEvent& event : events_) {
    if (keep_going) keep_going = HandleSse(event);
  }
  events_.clear();
  return keep_going;
}

absl::Status ResponsesStreamDecoder::Finish() {
  framer_.Finish(&events_);
  for (const SseEvent& event : events_) {
    if (!HandleSse(event)) break;
  }
  events_.clear();
  if (!error_.ok() || client_gone_) return error_;
  if (!done_) return MalformedUpstream("the stream ended before its response");
  return absl::OkStatus();
}

bool ResponsesStreamDecoder::HandleSse(const SseEvent& event) {
  if (event.data.empty() || event.data == "[DONE]") return true;
  pending_events_ = SseEventText(event);
  json j = json::parse(event.data, nullptr, false);
  if (!j.is_object()) {
    return Fail(MalformedUpstream("a stream event is not a JSON object"));
  }
  bool keep_going = HandleEvent(j);
  if (keep_going && !pending_events_.empty()) {
    keep_going = Emit(NewChunk());  // an event that decodes to no delta
  }
  pending_events_.clear();
  return keep_going;
}

bool ResponsesStreamDecoder::HandleEvent(const json& event) {
  const std::string type = Text(event, "type");
  auto delta = [&](v1::Message message) {
    v1::ChatCompletionChunk chunk = NewChunk();
    v1::ChunkChoice* choice = chunk.add_choices();
    choice->set_index(0);
    *choice->mutable_delta() = std::move(message);
    return Emit(std::move(chunk));
  };
  if (type == "response.created") {
    const json& response = event.value("response", json::object());
    id_ = Text(response, "id");
    model_ = Text(response, "model");
    v1::Message role;
    role.set_role("assistant");
    role.set_content("");
    return delta(std::move(role));
  }
  if (type == "response.output_text.delta") {
    v1::Message text;
    text.set_content(Text(event, "delta"));
    return delta(std::move(text));
  }
  if (type == "response.reasoning_summary_text.delta" ||
      type == "response.reasoning_text.delta") {
    v1::Message reasoning;
    reasoning.set_reasoning_content(Text(event, "delta"));
    return delta(std::move(reasoning));
  }
  if (type == "response.output_item.added") {
    const json& item = event.value("item", json::object());
    if (Text(item, "type") != "function_call") return true;
    int index = static_cast<int>(tools_.size());
    tools_[Int(event, "output_index")] = index;
    v1::Message call;
    v1::ToolCall* tool = call.add_tool_calls();
    tool->set_index(index);
    tool->set_id(Text(item, "call_id"));
    tool->set_type("function");
    tool->mutable_function()->set_name(Text(item, "name"));
    tool->mutable_function()->set_arguments(Text(item, "arguments"));
    return delta(std::move(call));
  }
  if (type == "response.function_call_arguments.delta") {
    auto found = tools_.find(Int(event, "output_index"));
    if (found == tools_.end()) return true;
    v1::Message call;
    v1::ToolCall* tool = call.add_tool_calls();
    tool->set_index(found->second);
    tool->mutable_function()->set_arguments(Text(event, "delta"));
    return delta(std::move(call));
  }
  if (type == "response.completed" || type == "response.incomplete") {
    done_ = true;
    const json& response = event.value("response", json::object());
    v1::ChatCompletionChunk finish = NewChunk();
    v1::ChunkChoice* choice = finish.add_choices();
    choice->set_index(0);
    choice->set_finish_reason(FinishReason(response, !tools_.empty()));
    ReadUsage(response.value("usage", json::object()), finish.mutable_usage());
    return Emit(std::move(finish));
  }
  if (type == "response.failed" || type == "error") {
    const json& response = event.value("response", json::object());
    const json& error =
        type == "error" ? event : response.value("error", json::object());
    std::string message = Text(error, "message");
    return Fail(StatusFromUpstreamHttp(
        500,
        json{{"error",
              {{"message", message.empty() ? "the response failed" : message},
               {"code", Text(error, "code")}}}}
            .dump()));
  }
  return true;
}

absl::StatusOr<v1::ChatCompletion> ChatCompletionFromResponse(
    const json& response) {
  if (!response.is_object() || !response.contains("output") ||
      !response["output"].is_array()) {
    return MalformedUpstream("the answer is not a Responses API response");
  }
  v1::ChatCompletion completion;
  completion.set_id(Text(response, "id"));
  completion.set_object("chat.completion");
  completion.set_model(Text(response, "model"));
  v1::Choice* choice = completion.add_choices();
  v1::Message* message = choice->mutable_message();
  message->set_role("assistant");
  std::string text;
  for (const json& item : response["output"]) {
    std::string type = Text(item, "type");
    if (type == "message") {
      for (const json& part : item.value("content", json::array())) {
        if (Text(part, "type") == "output_text") text += Text(part, "text");
      }
    } else if (type == "function_call") {
      v1::ToolCall* call = message->add_tool_calls();
      call->set_id(Text(item, "call_id"));
      call->set_type("function");
      call->mutable_function()->set_name(Text(item, "name"));
      call->mutable_function()->set_arguments(Text(item, "arguments"));
    } else if (type == "reasoning") {
      for (const json& summary : item.value("summary", json::array())) {
        message->set_reasoning_content(message->reasoning_content() +
                                       Text(summary, "text"));
      }
    }
  }
  message->set_content(text);
  choice->set_finish_reason(
      FinishReason(response, message->tool_calls_size() > 0));
  ReadUsage(response.value("usage", json::object()),
            completion.mutable_usage());
  return completion;
}

}  // namespace aigw
