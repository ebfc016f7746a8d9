#include "providers/claude/claude_passthrough.h"

#include <utility>
#include <vector>

#include "providers/common/api_error.h"
#include "providers/common/json_struct.h"

namespace aigw {

namespace {

using nlohmann::json;

bool UnsignedThinking(const json& block) {
  return StringAt(block, "type") == "thinking" &&
         StringAt(block, "signature").empty();
}

// Drops the unsigned thinking of one message; true if it changed.
bool DropUnsignedThinking(json& message) {
  if (!message.is_object() || !message.contains("content") ||
      !message["content"].is_array()) {
    return false;
  }
  json& content = message["content"];
  const size_t before = content.size();
  json kept = json::array();
  for (json& block : content) {
    if (!UnsignedThinking(block)) kept.push_back(std::move(block));
  }
  content = std::move(kept);
  return content.size() != before;
}

bool HasBlock(const json& message, const char* type) {
  if (!message.is_object() || !message.contains("content") ||
      !message["content"].is_array()) {
    return false;
  }
  for (const json& block : message["content"]) {
    if (StringAt(block, "type") == type) return true;
  }
  return false;
}

bool StartsWithThinking(const json& message) {
  if (!message.is_object() || !message.contains("content") ||
      !message["content"].is_array() || message["content"].empty()) {
    return false;
  }
  const std::string type = StringAt(message["content"][0], "type");
  return type == "thinking" || type == "redacted_thinking";
}

// A user message that is more than tool results starts a new turn.
bool StartsATurn(const json& message) {
  if (StringAt(message, "role") != "user") return false;
  if (!message.contains("content") || !message["content"].is_array()) {
    return true;
  }
  for (const json& block : message["content"]) {
    if (StringAt(block, "type") != "tool_result") return true;
  }
  return message["content"].empty();
}

// The ongoing tool-use turn (Claude's assistant turn spans its tool
// loops) lost the thinking that its first assistant message must start
// with: `lost` marks the messages whose unsigned thinking was dropped.
bool TurnLostItsThinking(const json& messages, const std::vector<bool>& lost) {
  size_t start = 0;
  for (size_t i = messages.size(); i > 0; --i) {
    if (StartsATurn(messages[i - 1])) {
      start = i;
      break;
    }
  }
  for (size_t i = start; i < messages.size(); ++i) {
    if (StringAt(messages[i], "role") != "assistant") continue;
    if (!lost[i] || StartsWithThinking(messages[i])) return false;
    for (size_t j = i; j < messages.size(); ++j) {
      if (HasBlock(messages[j], "tool_use")) return true;
    }
    return false;
  }
  return false;
}

}  // namespace

absl::Status CleanPassthroughBody(json& body, ParamPolicy& policy) {
  if (!body.is_object() || !body.contains("messages") ||
      !body["messages"].is_array()) {
    return absl::OkStatus();
  }
  bool changed = false;
  json messages = json::array();
  std::vector<bool> lost;  // per kept message: its thinking was dropped
  for (json& message : body["messages"]) {
    const bool dropped = DropUnsignedThinking(message);
    changed = changed || dropped;
    if (dropped && message["content"].empty()) continue;  // only thinking
    messages.push_back(std::move(message));
    lost.push_back(dropped);
  }
  body["messages"] = std::move(messages);
  if (!changed) return absl::OkStatus();
  const bool enabled = body.contains("thinking") &&
                       StringAt(body["thinking"], "type") == "enabled";
  if (enabled && TurnLostItsThinking(body["messages"], lost)) {
    AIGW_RETURN_IF_ERROR(policy.Unsupported(InvalidRequest(
        "'thinking' cannot be on for Claude here: the tool-use turn this "
        "request continues has only another provider's (unsigned) thinking",
        "thinking", "unsupported_parameter")));
    body.erase("thinking");
  }
  return absl::OkStatus();
}

}  // namespace aigw
