#include "server/codecs/anthropic/messages_response.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "providers/common/api_error.h"
#include "providers/common/reasoning_blocks.h"
#include "server/codecs/event_stream.h"

namespace aigw::anthropic {

namespace {

using nlohmann::json;

std::string Dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

void AddEvent(const char* name, const json& data, std::string& out) {
  absl::StrAppend(&out, "event: ", name, "\ndata: ", Dump(data), "\n\n");
}

std::string MessageId(const std::string& id) {
  return id.rfind("msg_", 0) == 0 ? id : absl::StrCat("msg_", id);
}

// Tool arguments as an object (Anthropic's `input`); text that is not a
// JSON object is kept under "arguments".
json InputOf(const std::string& arguments) {
  json input = json::parse(arguments.empty() ? "{}" : arguments, nullptr,
                           /*allow_exceptions=*/false);
  if (input.is_object()) return input;
  return json{{"arguments", arguments}};
}

const char* ErrorType(int http_status) {
  switch (http_status) {
    case 400:
    case 422:
      return "invalid_request_error";
    case 401:
      return "authentication_error";
    case 403:
      return "permission_error";
    case 404:
      return "not_found_error";
    case 413:
      return "request_too_large";
    case 429:
      return "rate_limit_error";
    case 503:
    case 529:
      return "overloaded_error";
    default:
      return http_status >= 500 ? "api_error" : "invalid_request_error";
  }
}

}  // namespace

std::string StopReason(const std::string& finish_reason) {
  if (finish_reason == "length") return "max_tokens";
  if (finish_reason == "tool_calls" || finish_reason == "function_call") {
    return "tool_use";
  }
  if (finish_reason == "content_filter") return "refusal";
  return "end_turn";
}

json UsageJson(const v1::Usage& usage) {
  json out = {{"input_tokens", usage.prompt_tokens()},
              {"output_tokens", usage.completion_tokens()}};
  if (usage.prompt_tokens_details().cached_tokens() > 0) {
    out["cache_read_input_tokens"] =
        usage.prompt_tokens_details().cached_tokens();
  }
  return out;
}

json MessageJson(const v1::ChatCompletion& completion,
                 const std::string& model) {
  json content = json::array();
  std::string finish = "stop";
  if (completion.choices_size() > 0) {
    const v1::Choice& choice = completion.choices(0);
    const v1::Message& message = choice.message();
    finish = choice.finish_reason();
    // Thinking blocks where they came: before the text, or between the
    // tool_use blocks (interleaved thinking).
    const std::vector<v1::ReasoningBlock> reasoning =
        ReasoningBlocksOf(message);
    auto add_thinking_in = [&](int slot) {
      for (const v1::ReasoningBlock& block : reasoning) {
        if (block.text().empty() && block.signature().empty()) continue;
        if (ReasoningSlot(block, message.tool_calls_size()) != slot) continue;
        content.push_back({{"type", "thinking"},
                           {"thinking", block.text()},
                           {"signature", block.signature()}});
      }
    };
    add_thinking_in(0);
    std::string text = message.content();
    for (const v1::ContentPart& part : message.parts()) {
      if (part.type() == "text") text += part.text();
    }
    if (!text.empty()) content.push_back({{"type", "text"}, {"text", text}});
    add_thinking_in(1);
    for (int i = 0; i < message.tool_calls_size(); ++i) {
      const v1::ToolCall& call = message.tool_calls(i);
      content.push_back({{"type", "tool_use"},
                         {"id", call.id()},
                         {"name", call.function().name()},
                         {"input", InputOf(call.function().arguments())}});
      add_thinking_in(i + 2);
    }
  }
  return {{"id", MessageId(completion.id())},
          {"type", "message"},
          {"role", "assistant"},
          {"model", model},
          {"content", content},
          {"stop_reason", StopReason(finish)},
          {"stop_sequence", nullptr},
          {"usage", UsageJson(completion.usage())}};
}

std::string AnswerBody(const v1::ChatCompletion& completion,
                       const std::string& model) {
  if (!completion.passthrough_body().empty()) {
    json body = json::parse(completion.passthrough_body(), nullptr, false);
    if (body.is_object()) {
      body["model"] = model;
      return Dump(body);
    }
  }
  return Dump(MessageJson(completion, model));
}

int HttpStatusOf(const absl::Status& status) {
  return GetErrorDetails(status).http_status;
}

std::string ErrorBodyJson(const absl::Status& status) {
  int http = HttpStatusOf(status);
  return Dump({{"type", "error"},
               {"error",
                {{"type", ErrorType(http)},
                 {"message", std::string(status.message())}}}});
}

void StreamEncoder::Start(const v1::ChatCompletionChunk& chunk,
                          std::string& out) {
  started_ = true;
  AddEvent(
      "message_start",
      {{"type", "message_start"},
       {"message",
        {{"id", MessageId(chunk.id().empty() ? "aigw" : chunk.id())},
         {"type", "message"},
         {"role", "assistant"},
         {"model", model_},
         {"content", json::array()},
         {"stop_reason", nullptr},
         {"stop_sequence", nullptr},
         {"usage", {{"input_tokens", input_tokens_}, {"output_tokens", 0}}}}}},
      out);
  AddEvent("ping", {{"type", "ping"}}, out);
}

int StreamEncoder::Open(Block kind, const json& content_block,
                        std::string& out) {
  Close(out);
  // A text or thinking block follows the tool calls before it: they end.
  if (kind != Block::kToolUse) CloseTools(out);
  ++index_;
  if (kind != Block::kToolUse) {
    open_ = kind;
    open_index_ = index_;
    thinking_signed_ = false;
  }
  AddEvent("content_block_start",
           {{"type", "content_block_start"},
            {"index", index_},
            {"content_block", content_block}},
           out);
  return index_;
}

void StreamEncoder::Close(std::string& out) {
  if (open_ == Block::kNone) return;
  AddEvent("content_block_stop",
           {{"type", "content_block_stop"}, {"index", open_index_}}, out);
  open_ = Block::kNone;
}

// Tool blocks stay open until the end or the next text: an upstream may
// interleave the argument fragments of parallel calls.
void StreamEncoder::CloseTools(std::string& out) {
  for (int block : open_tools_) {
    AddEvent("content_block_stop",
             {{"type", "content_block_stop"}, {"index", block}}, out);
  }
  open_tools_.clear();
}

std::string StreamEncoder::Relay(const std::string& events) {
  relayed_ = true;
  started_ = true;
  if (events.find("message_start") == std::string::npos) return events;
  // Only message_start names the model: that event is rewritten.
  return codecs::EditEventData(events, [this](json& data) {
    auto type = data.find("type");
    if (type == data.end() || *type != "message_start" ||
        !data.contains("message") || !data["message"].is_object()) {
      return false;
    }
    data["message"]["model"] = model_;
    return true;
  });
}

std::string StreamEncoder::Encode(const v1::ChatCompletionChunk& chunk) {
  if (!chunk.passthrough_events().empty()) {
    return Relay(chunk.passthrough_events());
  }
  if (relayed_) return "";  // the upstream's events say it all
  std::string out;
  if (!started_) Start(chunk, out);
  if (chunk.has_usage()) usage_ = chunk.usage();
  for (const v1::ChunkChoice& choice : chunk.choices()) {
    if (choice.index() != 0) continue;  // Anthropic has one answer
    const v1::Message& delta = choice.delta();
    if (delta.has_reasoning_content() && !delta.reasoning_content().empty()) {
      // Thinking after a signature is the next signed block.
      if (open_ != Block::kThinking || thinking_signed_) {
        Open(Block::kThinking,
             {{"type", "thinking"}, {"thinking", ""}, {"signature", ""}}, out);
      }
      AddEvent("content_block_delta",
               {{"type", "content_block_delta"},
                {"index", open_index_},
                {"delta",
                 {{"type", "thinking_delta"},
                  {"thinking", delta.reasoning_content()}}}},
               out);
    }
    // Claude streams the signature last in its thinking block; a signature
    // with no unsigned block open is a block whose text was withheld.
    if (!delta.reasoning_signature().empty()) {
      if (open_ != Block::kThinking || thinking_signed_) {
        Open(Block::kThinking,
             {{"type", "thinking"}, {"thinking", ""}, {"signature", ""}}, out);
      }
      AddEvent("content_block_delta",
               {{"type", "content_block_delta"},
                {"index", open_index_},
                {"delta",
                 {{"type", "signature_delta"},
                  {"signature", delta.reasoning_signature()}}}},
               out);
      thinking_signed_ = true;
    }
    if (delta.has_content() && !delta.content().empty()) {
      if (open_ != Block::kText) {
        Open(Block::kText, {{"type", "text"}, {"text", ""}}, out);
      }
      AddEvent("content_block_delta",
               {{"type", "content_block_delta"},
                {"index", open_index_},
                {"delta", {{"type", "text_delta"}, {"text", delta.content()}}}},
               out);
    }
    for (const v1::ToolCall& call : delta.tool_calls()) {
      int tool = call.has_index() ? call.index() : 0;
      auto known = tool_blocks_.find(tool);
      // A new call: an index not seen, or a different id at that index
      // (some upstreams repeat the id on every fragment).
      if (known == tool_blocks_.end() ||
          (!call.id().empty() && call.id() != tool_ids_[tool])) {
        int block = Open(Block::kToolUse,
                         {{"type", "tool_use"},
                          {"id", call.id()},
                          {"name", call.function().name()},
                          {"input", json::object()}},
                         out);
        tool_blocks_[tool] = block;
        tool_ids_[tool] = call.id();
        open_tools_.push_back(block);
      }
      const std::string& fragment = call.function().arguments();
      if (fragment.empty()) continue;
      AddEvent("content_block_delta",
               {{"type", "content_block_delta"},
                {"index", tool_blocks_[tool]},
                {"delta",
                 {{"type", "input_json_delta"}, {"partial_json", fragment}}}},
               out);
    }
    if (!choice.finish_reason().empty()) {
      stop_reason_ = StopReason(choice.finish_reason());
    }
  }
  return out;
}

std::string StreamEncoder::Finish(const absl::Status& status) {
  std::string out;
  if (relayed_) {
    // The upstream's message_stop went out; only a failure adds an event.
    if (!status.ok()) {
      absl::StrAppend(&out, "event: error\ndata: ", ErrorBodyJson(status),
                      "\n\n");
    }
    return out;
  }
  if (!status.ok()) {
    Close(out);
    CloseTools(out);
    absl::StrAppend(&out, "event: error\ndata: ", ErrorBodyJson(status),
                    "\n\n");
    return out;
  }
  if (!started_) Start(v1::ChatCompletionChunk(), out);
  Close(out);
  CloseTools(out);
  AddEvent(
      "message_delta",
      {{"type", "message_delta"},
       {"delta", {{"stop_reason", stop_reason_}, {"stop_sequence", nullptr}}},
       {"usage", UsageJson(usage_)}},
      out);
  AddEvent("message_stop", {{"type", "message_stop"}}, out);
  return out;
}

}  // namespace aigw::anthropic
