#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "providers/common/api_error.h"
#include "providers/common/json_struct.h"
#include "providers/common/reasoning_blocks.h"
#include "server/codecs/json_fields.h"
#include "server/codecs/openai_responses/responses.h"

namespace aigw::responses {

namespace {

using nlohmann::json;

using codecs::Bad;
using codecs::Bool;
using codecs::Str;
using codecs::Untranslatable;

// Text and image parts of a message item's content.
absl::Status AddContent(const json& content, const std::string& path,
                        v1::Message& message,
                        v1::ChatCompletionRequest& request) {
  if (content.is_string()) {
    message.set_content(content.get<std::string>());
    return absl::OkStatus();
  }
  if (!content.is_array()) return Bad(path, "expected a string or parts");
  std::string text;
  bool has_image = false;
  std::vector<v1::ContentPart> parts;
  for (size_t i = 0; i < content.size(); ++i) {
    const json& part = content[i];
    std::string where = absl::StrCat(path, "[", i, "]");
    std::string type = part.is_object() ? Str(part, "type") : "";
    if (type == "input_text" || type == "output_text" || type == "text") {
      if (!part.contains("text") || !part["text"].is_string()) {
        return Bad(where + ".text", "expected a string");
      }
      v1::ContentPart out;
      out.set_type("text");
      out.set_text(part["text"].get<std::string>());
      text += out.text();
      parts.push_back(std::move(out));
    } else if (type == "input_image") {
      if (part.contains("file_id") && !part.contains("image_url")) {
        Untranslatable(where + ".file_id",
                       "a file of OpenAI's Files API has no translation",
                       request);
        continue;
      }
      if (!part.contains("image_url") || !part["image_url"].is_string()) {
        return Bad(where + ".image_url", "expected a URL or data URL");
      }
      v1::ContentPart out;
      out.set_type("image_url");
      out.mutable_image_url()->set_url(part["image_url"].get<std::string>());
      if (part.contains("detail") && part["detail"].is_string()) {
        out.mutable_image_url()->set_detail(part["detail"].get<std::string>());
      }
      has_image = true;
      parts.push_back(std::move(out));
    } else if (type == "refusal") {
      message.set_refusal(Str(part, "refusal"));
    } else {
      Untranslatable(
          where + ".type",
          absl::StrCat("content type '", type, "' has no translation"),
          request);
    }
  }
  if (has_image) {
    for (v1::ContentPart& part : parts) *message.add_parts() = std::move(part);
  } else {
    message.set_content(text);
  }
  return absl::OkStatus();
}

class InputReader {
 public:
  // `owner`: whose stored items item_references may name.
  InputReader(v1::ChatCompletionRequest& request, std::string owner)
      : request_(request), owner_(std::move(owner)) {}

  absl::Status Add(const json& item, const std::string& path, int depth = 0) {
    if (!item.is_object()) return Bad(path, "expected an input item");
    std::string type =
        Str(item, "type", item.contains("role") ? "message" : "");
    if (type == "item_reference") {
      json stored;
      std::string id = Str(item, "id");
      if (depth > 0 || !ItemStore::Global().Get(owner_, id, &stored)) {
        // An OpenAI upstream that stored it may still know it.
        Untranslatable(path,
                       absl::StrCat("item '", id,
                                    "' is not known to this gateway: "
                                    "it keeps no conversation state "
                                    "beyond recent answers; send the "
                                    "item itself (store: false)"),
                       request_);
        return absl::OkStatus();
      }
      return Add(stored, path, depth + 1);
    }
    if (type == "message") return AddMessage(item, path);
    if (type == "function_call") {
      if (!item.contains("call_id") || !item["call_id"].is_string() ||
          !item.contains("name") || !item["name"].is_string()) {
        return Bad(path, "function_call needs call_id and name");
      }
      v1::Message& assistant = Assistant();
      v1::ToolCall* call = assistant.add_tool_calls();
      call->set_id(item["call_id"].get<std::string>());
      call->set_type("function");
      call->mutable_function()->set_name(item["name"].get<std::string>());
      const json& arguments = item.value("arguments", json("{}"));
      call->mutable_function()->set_arguments(arguments.is_string()
                                                  ? arguments.get<std::string>()
                                                  : arguments.dump());
      return absl::OkStatus();
    }
    if (type == "function_call_output") {
      if (!item.contains("call_id") || !item["call_id"].is_string()) {
        return Bad(path + ".call_id", "required");
      }
      CloseAssistant();
      v1::Message* tool = request_.add_messages();
      tool->set_role("tool");
      tool->set_tool_call_id(item["call_id"].get<std::string>());
      const json& output = item.value("output", json(""));
      if (output.is_string()) {
        tool->set_content(output.get<std::string>());
      } else {
        v1::Message parts;
        absl::Status status =
            AddContent(output, path + ".output", parts, request_);
        if (!status.ok()) return status;
        tool->set_content(parts.content());
      }
      return absl::OkStatus();
    }
    if (type == "reasoning") {
      std::string text;
      for (const json& summary : item.value("summary", json::array())) {
        if (summary.is_object() && summary.contains("text") &&
            summary["text"].is_string()) {
          text += summary["text"].get<std::string>();
        }
      }
      // A provider's signature of that thinking (see the encoder); OpenAI's
      // own encrypted reasoning stays in the body it passes through. Each
      // item is one block with its own signature.
      const std::string encrypted = Str(item, "encrypted_content");
      absl::string_view signature = encrypted;
      if (!absl::ConsumePrefix(&signature, kSignaturePrefix)) signature = "";
      AddReasoningBlock(text, signature, /*after_text=*/false,
                        &pending_reasoning_);
      return absl::OkStatus();
    }
    Untranslatable(
        path + ".type",
        absl::StrCat("input item type '", type, "' has no translation"),
        request_);
    return absl::OkStatus();
  }

 private:
  absl::Status AddMessage(const json& item, const std::string& path) {
    std::string role = Str(item, "role");
    if (role == "developer") role = "system";
    if (role != "system" && role != "user" && role != "assistant") {
      return Bad(path + ".role",
                 "expected system, developer, user or assistant");
    }
    v1::Message message;
    message.set_role(role);
    absl::Status status = AddContent(item.value("content", json("")),
                                     path + ".content", message, request_);
    if (!status.ok()) return status;
    if (role == "assistant") {
      TakeReasoning(/*after_text=*/false, message);
      *request_.add_messages() = std::move(message);
      open_assistant_ = true;
      return absl::OkStatus();
    }
    CloseAssistant();
    *request_.add_messages() = std::move(message);
    return absl::OkStatus();
  }

  // The reasoning items just before an assistant message are its own (so
  // are those between the function calls of one turn: interleaved
  // thinking), block by block; `after_text`: they follow its text.
  void TakeReasoning(bool after_text, v1::Message& message) {
    for (const v1::ReasoningBlock& block :
         ReasoningBlocksOf(pending_reasoning_)) {
      AddReasoningBlock(block.text(), block.signature(), after_text, &message);
    }
    pending_reasoning_.Clear();
  }

  v1::Message& LastMessage() {
    return *request_.mutable_messages(request_.messages_size() - 1);
  }

  // The assistant message function calls join: the one just before, or a
  // new one.
  v1::Message& Assistant() {
    if (!open_assistant_) {
      v1::Message* message = request_.add_messages();
      message->set_role("assistant");
      open_assistant_ = true;
    }
    v1::Message& assistant = LastMessage();
    TakeReasoning(/*after_text=*/!assistant.content().empty(), assistant);
    return assistant;
  }

  // A tool output or a user turn ends the assistant turn: reasoning items
  // after its last call are still its own.
  void CloseAssistant() {
    if (open_assistant_ && pending_reasoning_.ByteSizeLong() > 0) {
      v1::Message& assistant = LastMessage();
      TakeReasoning(/*after_text=*/!assistant.content().empty(), assistant);
    }
    open_assistant_ = false;
  }

  v1::ChatCompletionRequest& request_;
  const std::string owner_;
  bool open_assistant_ = false;
  // The reasoning items not yet taken by an assistant message.
  v1::Message pending_reasoning_;
};

absl::Status AddTools(const json& tools, v1::ChatCompletionRequest& request) {
  if (!tools.is_array()) return Bad("tools", "expected an array");
  for (size_t i = 0; i < tools.size(); ++i) {
    const json& tool = tools[i];
    std::string where = absl::StrCat("tools[", i, "]");
    std::string type = tool.is_object() ? Str(tool, "type") : "";
    if (type != "function") {
      Untranslatable(
          where + ".type",
          absl::StrCat("built-in tool '", type, "' runs only on OpenAI's API"),
          request);
      continue;
    }
    if (!tool.contains("name") || !tool["name"].is_string()) {
      return Bad(where + ".name", "required");
    }
    v1::Tool* out = request.add_tools();
    out->set_type("function");
    v1::FunctionDefinition* function = out->mutable_function();
    function->set_name(tool["name"].get<std::string>());
    if (tool.contains("description") && tool["description"].is_string()) {
      function->set_description(tool["description"].get<std::string>());
    }
    if (tool.contains("parameters") && tool["parameters"].is_object()) {
      JsonObjectToStruct(tool["parameters"], function->mutable_parameters());
    }
    if (tool.contains("strict") && tool["strict"].is_boolean()) {
      function->set_strict(tool["strict"].get<bool>());
    }
  }
  return absl::OkStatus();
}

absl::Status SetToolChoice(const json& choice,
                           v1::ChatCompletionRequest& request) {
  if (choice.is_string()) {
    std::string mode = choice.get<std::string>();
    if (mode != "auto" && mode != "none" && mode != "required") {
      return Bad("tool_choice", "expected auto, none, required or a function");
    }
    request.mutable_tool_choice()->set_mode(mode);
    return absl::OkStatus();
  }
  if (choice.is_object() && Str(choice, "type") == "function" &&
      choice.contains("name") && choice["name"].is_string()) {
    request.mutable_tool_choice()->set_function_name(
        choice["name"].get<std::string>());
    return absl::OkStatus();
  }
  return Bad("tool_choice", "expected auto, none, required or a function");
}

absl::Status SetTextFormat(const json& text,
                           v1::ChatCompletionRequest& request) {
  if (!text.is_object() || !text.contains("format")) return absl::OkStatus();
  const json& format = text["format"];
  std::string type = format.is_object() ? Str(format, "type") : "";
  if (type == "text") return absl::OkStatus();
  v1::ResponseFormat* out = request.mutable_response_format();
  if (type == "json_object") {
    out->set_type("json_object");
    return absl::OkStatus();
  }
  if (type != "json_schema") {
    return Bad("text.format.type", "expected text, json_object or json_schema");
  }
  out->set_type("json_schema");
  v1::JsonSchema* schema = out->mutable_json_schema();
  schema->set_name(Str(format, "name", "response"));
  if (format.contains("description") && format["description"].is_string()) {
    schema->set_description(format["description"].get<std::string>());
  }
  if (format.contains("schema") && format["schema"].is_object()) {
    JsonObjectToStruct(format["schema"], schema->mutable_schema());
  }
  if (format.contains("strict") && format["strict"].is_boolean()) {
    schema->set_strict(format["strict"].get<bool>());
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<v1::ChatCompletionRequest> ParseResponsesRequest(
    absl::string_view body, RequestEcho* echo) {
  absl::StatusOr<json> parsed = ParseJsonBody(body);
  if (!parsed.ok()) return parsed.status();
  const json& j = *parsed;
  if (!j.is_object()) return InvalidRequest("The body must be a JSON object.");
  v1::ChatCompletionRequest request;
  // Kept by an OpenAI upstream (passthrough), not by this gateway.
  for (const char* stateful :
       {"previous_response_id", "conversation", "prompt", "background"}) {
    if (j.contains(stateful) && !j[stateful].is_null() &&
        j[stateful] != json(false)) {
      Untranslatable(stateful,
                     "refers to state kept by OpenAI, and this gateway "
                     "keeps none: send the whole conversation in `input`",
                     request);
    }
  }
  if (!j.contains("model") || !j["model"].is_string() ||
      j["model"].get<std::string>().empty()) {
    return Bad("model", "required");
  }
  request.set_model(j["model"].get<std::string>());
  echo->model = request.model();
  if (j.contains("instructions") && j["instructions"].is_string()) {
    v1::Message* system = request.add_messages();
    system->set_role("system");
    system->set_content(j["instructions"].get<std::string>());
  }
  if (!j.contains("input")) return Bad("input", "required");
  const json& input = j["input"];
  if (input.is_string()) {
    v1::Message* user = request.add_messages();
    user->set_role("user");
    user->set_content(input.get<std::string>());
  } else if (input.is_array()) {
    InputReader reader(request, echo->owner);
    for (size_t i = 0; i < input.size(); ++i) {
      absl::Status status =
          reader.Add(input[i], absl::StrCat("input[", i, "]"));
      if (!status.ok()) return status;
    }
  } else {
    return Bad("input", "expected a string or an array of items");
  }
  if (j.contains("stream") && j["stream"].is_boolean()) {
    request.set_stream(j["stream"].get<bool>());
  }
  if (j.contains("max_output_tokens") &&
      j["max_output_tokens"].is_number_integer()) {
    request.set_max_tokens(static_cast<int32_t>(std::clamp<int64_t>(
        j["max_output_tokens"].get<int64_t>(), 1, INT32_MAX)));
  }
  if (j.contains("temperature") && j["temperature"].is_number()) {
    request.set_temperature(j["temperature"].get<double>());
  }
  if (j.contains("top_p") && j["top_p"].is_number()) {
    request.set_top_p(j["top_p"].get<double>());
  }
  if (j.contains("parallel_tool_calls") &&
      j["parallel_tool_calls"].is_boolean()) {
    request.set_parallel_tool_calls(j["parallel_tool_calls"].get<bool>());
  }
  if (j.contains("user") && j["user"].is_string()) {
    request.set_user(j["user"].get<std::string>());
  }
  if (j.contains("tools") && !j["tools"].is_null()) {
    absl::Status status = AddTools(j["tools"], request);
    if (!status.ok()) return status;
  }
  if (j.contains("tool_choice") && !j["tool_choice"].is_null()) {
    absl::Status status = SetToolChoice(j["tool_choice"], request);
    if (!status.ok()) return status;
  }
  if (j.contains("text") && !j["text"].is_null()) {
    absl::Status status = SetTextFormat(j["text"], request);
    if (!status.ok()) return status;
  }
  if (j.contains("reasoning") && j["reasoning"].is_object() &&
      j["reasoning"].contains("effort") &&
      j["reasoning"]["effort"].is_string()) {
    (*request.mutable_extra()->mutable_fields())["reasoning_effort"]
        .set_string_value(j["reasoning"]["effort"].get<std::string>());
  }
  for (const char* name : {"tools", "tool_choice", "text", "temperature",
                           "top_p", "max_output_tokens", "parallel_tool_calls",
                           "instructions", "metadata", "reasoning", "user"}) {
    if (j.contains(name)) echo->fields[name] = j[name];
  }
  return request;
}

}  // namespace aigw::responses
