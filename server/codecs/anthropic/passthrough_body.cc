#include "server/codecs/anthropic/passthrough_body.h"

#include <nlohmann/json.hpp>

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
  for (json& message : j["messages"]) {
    if (DropUnsignedThinking(message)) {
      changed = true;
      if (message["content"].empty()) continue;  // only thinking: gone
    }
    messages.push_back(std::move(message));
  }
  if (!changed) return std::string(body);
  j["messages"] = std::move(messages);
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace aigw::anthropic
