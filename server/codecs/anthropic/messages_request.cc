#include "server/codecs/anthropic/messages_request.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "providers/common/api_error.h"
#include "providers/common/json_struct.h"
#include "providers/common/reasoning_blocks.h"
#include "server/codecs/json_fields.h"

namespace aigw::anthropic {

namespace {

// Adaptive thinking as a budget: "medium" where a level is taken.
constexpr int32_t kAdaptiveThinkingBudget = 8192;

using nlohmann::json;

using codecs::Bad;
using codecs::Bool;
using codecs::Str;
using codecs::Untranslatable;

absl::StatusOr<std::string> TextOf(const json& value, const std::string& path) {
  if (value.is_string()) return value.get<std::string>();
  if (!value.is_array()) return Bad(path, "expected a string or text blocks");
  std::string text;
  for (size_t i = 0; i < value.size(); ++i) {
    const json& block = value[i];
    std::string where = absl::StrCat(path, "[", i, "]");
    if (!block.is_object() || Str(block, "type") != "text" ||
        !block.contains("text") || !block["text"].is_string()) {
      return Bad(where, "expected a text block");
    }
    if (!text.empty()) text += "\n\n";
    text += block["text"].get<std::string>();
  }
  return text;
}

absl::StatusOr<v1::ContentPart> ImagePart(const json& block,
                                          const std::string& path) {
  const json& source = block.value("source", json::object());
  std::string type = source.is_object() ? Str(source, "type") : "";
  v1::ContentPart part;
  part.set_type("image_url");
  if (type == "base64") {
    if (!source.contains("data") || !source["data"].is_string() ||
        !source.contains("media_type") || !source["media_type"].is_string()) {
      return Bad(path + ".source", "base64 needs media_type and data");
    }
    part.mutable_image_url()->set_url(
        absl::StrCat("data:", source["media_type"].get<std::string>(),
                     ";base64,", source["data"].get<std::string>()));
    return part;
  }
  if (type == "url" && source.contains("url") && source["url"].is_string()) {
    part.mutable_image_url()->set_url(source["url"].get<std::string>());
    return part;
  }
  return Bad(path + ".source", "expected a base64 or url image source");
}

// Whether a block carries a cache_control hint.
bool HasCacheHint(const json& block) {
  return block.contains("cache_control") && block["cache_control"].is_object();
}

// A block's cache_control hint, kept in `out` (the last one of a message
// wins: the breakpoint moves to the message's end).
void KeepCacheHint(const json& block, v1::CacheControl* out) {
  const json& hint = block["cache_control"];
  out->set_type(Str(hint, "type", "ephemeral"));
  out->set_ttl(Str(hint, "ttl"));
}

// One Anthropic message: one canonical message, or several when a user
// turn carries tool results (each becomes a `tool` message, first).
absl::Status AddMessage(const json& m, const std::string& path,
                        v1::ChatCompletionRequest& request) {
  if (!m.is_object()) return Bad(path, "expected an object");
  std::string role = Str(m, "role");
  if (role != "user" && role != "assistant") {
    return Bad(path + ".role", "expected user or assistant");
  }
  if (!m.contains("content")) return Bad(path + ".content", "required");
  const json& content = m["content"];
  v1::Message message;
  message.set_role(role);
  if (content.is_string()) {
    message.set_content(content.get<std::string>());
    *request.add_messages() = std::move(message);
    return absl::OkStatus();
  }
  if (!content.is_array()) {
    return Bad(path + ".content", "expected a string or content blocks");
  }
  std::string text;
  bool has_image = false;
  std::vector<v1::ContentPart> parts;
  for (size_t i = 0; i < content.size(); ++i) {
    const json& block = content[i];
    std::string where = absl::StrCat(path, ".content[", i, "]");
    if (!block.is_object()) return Bad(where, "expected a content block");
    std::string type = Str(block, "type");
    if (type != "tool_result" && HasCacheHint(block)) {
      KeepCacheHint(block, message.mutable_cache_control());
    }
    if (type == "text") {
      if (!block.contains("text") || !block["text"].is_string()) {
        return Bad(where + ".text", "expected a string");
      }
      v1::ContentPart part;
      part.set_type("text");
      part.set_text(block["text"].get<std::string>());
      text += part.text();
      parts.push_back(std::move(part));
    } else if (type == "image") {
      if (role != "user") return Bad(where, "images only in user turns");
      if (Str(block.value("source", json::object()), "type") == "file") {
        Untranslatable(where + ".source",
                       "a file of Anthropic's Files API has no translation",
                       request);
        continue;
      }
      absl::StatusOr<v1::ContentPart> part = ImagePart(block, where);
      if (!part.ok()) return part.status();
      has_image = true;
      parts.push_back(std::move(*part));
    } else if (type == "tool_use") {
      if (role != "assistant") return Bad(where, "tool_use in a user turn");
      if (!block.contains("id") || !block["id"].is_string() ||
          !block.contains("name") || !block["name"].is_string()) {
        return Bad(where, "tool_use needs id and name");
      }
      v1::ToolCall* call = message.add_tool_calls();
      call->set_id(block["id"].get<std::string>());
      call->set_type("function");
      call->mutable_function()->set_name(block["name"].get<std::string>());
      call->mutable_function()->set_arguments(
          block.value("input", json::object()).dump());
    } else if (type == "tool_result") {
      if (role != "user") return Bad(where, "tool_result in an assistant turn");
      if (!block.contains("tool_use_id") || !block["tool_use_id"].is_string()) {
        return Bad(where + ".tool_use_id", "required");
      }
      v1::Message* result = request.add_messages();
      result->set_role("tool");
      result->set_tool_call_id(block["tool_use_id"].get<std::string>());
      std::string output;
      if (block.contains("content")) {
        absl::StatusOr<std::string> body =
            TextOf(block["content"], where + ".content");
        if (body.ok()) {
          output = *body;
        } else {
          Untranslatable(where + ".content",
                         "a tool result of other than text blocks", request);
        }
      }
      if (Bool(block, "is_error")) output = "Error: " + output;
      result->set_content(output);
      if (HasCacheHint(block)) {
        KeepCacheHint(block, result->mutable_cache_control());
      }
    } else if (type == "thinking") {
      // Claude signs each block: each keeps its own text and signature.
      AddReasoningBlock(Str(block, "thinking"), Str(block, "signature"),
                        /*after_text=*/!text.empty(), &message);
    } else if (type == "redacted_thinking") {
      // Opaque to every other provider: left out.
    } else {
      Untranslatable(
          where + ".type",
          absl::StrCat("content block type '", type, "' has no translation"),
          request);
    }
  }
  if (has_image) {
    for (v1::ContentPart& part : parts) *message.add_parts() = std::move(part);
  } else if (!parts.empty() || message.tool_calls_size() == 0) {
    message.set_content(text);
  }
  // A user turn of only tool results adds no empty user message.
  if (role == "user" && parts.empty() && content.size() > 0) {
    return absl::OkStatus();
  }
  *request.add_messages() = std::move(message);
  return absl::OkStatus();
}

absl::Status AddTools(const json& tools, v1::ChatCompletionRequest& request) {
  if (!tools.is_array()) return Bad("tools", "expected an array");
  for (size_t i = 0; i < tools.size(); ++i) {
    const json& tool = tools[i];
    std::string where = absl::StrCat("tools[", i, "]");
    if (!tool.is_object() || !tool.contains("name") ||
        !tool["name"].is_string()) {
      return Bad(where, "expected a tool with a name");
    }
    std::string type = Str(tool, "type", "custom");
    if (type != "custom" && !tool.contains("input_schema")) {
      Untranslatable(
          where + ".type",
          absl::StrCat("server tool '", type, "' runs only on Anthropic's API"),
          request);
      continue;
    }
    v1::Tool* out = request.add_tools();
    out->set_type("function");
    v1::FunctionDefinition* function = out->mutable_function();
    function->set_name(tool["name"].get<std::string>());
    if (HasCacheHint(tool)) KeepCacheHint(tool, out->mutable_cache_control());
    if (tool.contains("description") && tool["description"].is_string()) {
      function->set_description(tool["description"].get<std::string>());
    }
    json schema = tool.value("input_schema", json::object());
    if (!schema.is_object())
      return Bad(where + ".input_schema", "expected an object");
    JsonObjectToStruct(schema, function->mutable_parameters());
  }
  return absl::OkStatus();
}

absl::Status SetToolChoice(const json& choice,
                           v1::ChatCompletionRequest& request) {
  if (!choice.is_object()) return Bad("tool_choice", "expected an object");
  std::string type = Str(choice, "type");
  v1::ToolChoice* out = request.mutable_tool_choice();
  if (type == "auto") {
    out->set_mode("auto");
  } else if (type == "any") {
    out->set_mode("required");
  } else if (type == "none") {
    out->set_mode("none");
  } else if (type == "tool") {
    if (!choice.contains("name") || !choice["name"].is_string()) {
      return Bad("tool_choice.name", "required for type tool");
    }
    out->set_function_name(choice["name"].get<std::string>());
  } else {
    return Bad("tool_choice.type", "expected auto, any, tool or none");
  }
  if (Bool(choice, "disable_parallel_tool_use")) {
    request.set_parallel_tool_calls(false);
  }
  return absl::OkStatus();
}

// thinking: enabled with a budget (the canonical budget in tokens),
// disabled (a budget of 0), or adaptive (the model decides: a medium
// budget, which is "medium" for providers that take a level).
absl::Status SetThinking(const json& thinking,
                         v1::ChatCompletionRequest& request) {
  if (!thinking.is_object()) return Bad("thinking", "expected an object");
  std::string type = Str(thinking, "type");
  if (type == "enabled") {
    if (!thinking.contains("budget_tokens") ||
        !thinking["budget_tokens"].is_number_integer() ||
        thinking["budget_tokens"].get<int64_t>() < 1) {
      return Bad("thinking.budget_tokens", "required, a positive integer");
    }
    request.set_reasoning_budget_tokens(static_cast<int32_t>(std::min<int64_t>(
        thinking["budget_tokens"].get<int64_t>(), INT32_MAX)));
  } else if (type == "disabled") {
    request.set_reasoning_budget_tokens(0);
  } else if (type == "adaptive") {
    request.set_reasoning_budget_tokens(kAdaptiveThinkingBudget);
    request.set_reasoning_adaptive(true);
  } else {
    return Bad("thinking.type", "expected enabled, disabled or adaptive");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<v1::ChatCompletionRequest> ParseMessagesRequest(
    absl::string_view body, bool count_tokens) {
  absl::StatusOr<json> j = ParseJsonBody(body);
  if (!j.ok()) return j.status();
  return MessagesRequestFromJson(*j, count_tokens);
}

absl::StatusOr<v1::ChatCompletionRequest> MessagesRequestFromJson(
    const json& j, bool count_tokens) {
  if (!j.is_object()) return InvalidRequest("The body must be a JSON object.");
  v1::ChatCompletionRequest request;
  if (!j.contains("model") || !j["model"].is_string() ||
      j["model"].get<std::string>().empty()) {
    return Bad("model", "required");
  }
  request.set_model(j["model"].get<std::string>());
  bool has_max_tokens = j.contains("max_tokens") && !j["max_tokens"].is_null();
  if (has_max_tokens || !count_tokens) {
    if (!has_max_tokens || !j["max_tokens"].is_number_integer() ||
        j["max_tokens"].get<int64_t>() < 1) {
      return Bad("max_tokens", "required, a positive integer");
    }
    request.set_max_tokens(static_cast<int32_t>(
        std::min<int64_t>(j["max_tokens"].get<int64_t>(), INT32_MAX)));
  }
  if (j.contains("system") && !j["system"].is_null()) {
    absl::StatusOr<std::string> system = TextOf(j["system"], "system");
    if (!system.ok()) return system.status();
    v1::Message* message = request.add_messages();
    message->set_role("system");
    message->set_content(*system);
    if (j["system"].is_array()) {
      for (const json& block : j["system"]) {
        if (block.is_object() && HasCacheHint(block)) {
          KeepCacheHint(block, message->mutable_cache_control());
        }
      }
    }
  }
  if (!j.contains("messages") || !j["messages"].is_array() ||
      j["messages"].empty()) {
    return Bad("messages", "required, a non-empty array");
  }
  for (size_t i = 0; i < j["messages"].size(); ++i) {
    absl::Status status = AddMessage(
        j["messages"][i], absl::StrCat("messages[", i, "]"), request);
    if (!status.ok()) return status;
  }
  if (j.contains("stream") && j["stream"].is_boolean()) {
    request.set_stream(j["stream"].get<bool>());
  }
  for (const char* name : {"temperature", "top_p"}) {
    if (!j.contains(name) || j[name].is_null()) continue;
    if (!j[name].is_number()) return Bad(name, "expected a number");
    double value = j[name].get<double>();
    if (std::string(name) == "temperature") {
      request.set_temperature(value);
    } else {
      request.set_top_p(value);
    }
  }
  if (j.contains("top_k") && j["top_k"].is_number_integer()) {
    (*request.mutable_extra()->mutable_fields())["top_k"].set_number_value(
        j["top_k"].get<double>());
  }
  if (j.contains("stop_sequences") && !j["stop_sequences"].is_null()) {
    if (!j["stop_sequences"].is_array()) {
      return Bad("stop_sequences", "expected an array of strings");
    }
    for (const json& stop : j["stop_sequences"]) {
      if (!stop.is_string()) return Bad("stop_sequences", "expected strings");
      request.add_stop(stop.get<std::string>());
    }
  }
  if (j.contains("tools") && !j["tools"].is_null()) {
    absl::Status status = AddTools(j["tools"], request);
    if (!status.ok()) return status;
  }
  if (j.contains("tool_choice") && !j["tool_choice"].is_null()) {
    absl::Status status = SetToolChoice(j["tool_choice"], request);
    if (!status.ok()) return status;
  }
  if (j.contains("thinking") && !j["thinking"].is_null()) {
    absl::Status status = SetThinking(j["thinking"], request);
    if (!status.ok()) return status;
  }
  // Features of Anthropic's own API that change the answer.
  for (const char* name : {"mcp_servers", "container", "context_management"}) {
    if (j.contains(name) && !j[name].is_null()) {
      Untranslatable(name, "runs only on Anthropic's API", request);
    }
  }
  if (j.contains("metadata") && j["metadata"].is_object() &&
      j["metadata"].contains("user_id") &&
      j["metadata"]["user_id"].is_string()) {
    request.set_user(j["metadata"]["user_id"].get<std::string>());
  }
  return request;
}

}  // namespace aigw::anthropic
