#include "server/codecs/anthropic/passthrough_body.h"

#include <nlohmann/json.hpp>
#include <vector>

#include "absl/strings/match.h"

namespace aigw::anthropic {

namespace {

using nlohmann::json;

bool UnsignedThinking(const json& block) {
  if (!block.is_object() || !block.contains("type") ||
      block["type"] != "thinking") {
    return false;
  }
  auto signature = block.find("signature");
  return signature == block.end() || !signature->is_string() ||
         signature->get_ref<const std::string&>().empty();
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

bool HasBlock(const json& message, absl::string_view type) {
  if (!message.is_object() || !message.contains("content") ||
      !message["content"].is_array()) {
    return false;
  }
  for (const json& block : message["content"]) {
    if (block.is_object() && block.value("type", "") == type) return true;
  }
  return false;
}

bool Thinking(const json& message) {
  return HasBlock(message, "thinking") ||
         HasBlock(message, "redacted_thinking");
}

// Claude requires the thinking of the assistant turn whose tool_use the
// last user turn answers. When that thinking was unsigned (and dropped
// above), Claude cannot think in this request: thinking is turned off
// rather than failing the whole request.
bool ToolTurnLostItsThinking(const json& messages,
                             const std::vector<bool>& lost) {
  const size_t n = messages.size();
  if (n < 2) return false;
  const json& last = messages[n - 1];
  const json& turn = messages[n - 2];
  return last.value("role", "") == "user" && HasBlock(last, "tool_result") &&
         turn.value("role", "") == "assistant" && HasBlock(turn, "tool_use") &&
         lost[n - 2] && !Thinking(turn);
}

}  // namespace

std::string PassthroughBody(absl::string_view body) {
  // Most bodies carry no thinking at all: not parsed again.
  if (!absl::StrContains(body, "\"thinking\"")) return std::string(body);
  json j = json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("messages") || !j["messages"].is_array()) {
    return std::string(body);
  }
  bool changed = false;
  json messages = json::array();
  std::vector<bool> lost;  // per kept message: its thinking was dropped
  for (json& message : j["messages"]) {
    const bool dropped = DropUnsignedThinking(message);
    changed = changed || dropped;
    if (dropped && message["content"].empty()) continue;  // only thinking
    messages.push_back(std::move(message));
    lost.push_back(dropped);
  }
  if (!changed) return std::string(body);
  if (ToolTurnLostItsThinking(messages, lost)) j.erase("thinking");
  j["messages"] = std::move(messages);
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace aigw::anthropic
