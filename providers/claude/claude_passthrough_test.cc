#include "providers/claude/claude_passthrough.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "providers/common/api_error.h"

namespace aigw {
namespace {

using nlohmann::json;

json Clean(const std::string& text, std::vector<std::string>* dropped,
           UnsupportedParams mode = UnsupportedParams::kDrop,
           absl::Status* status = nullptr) {
  json body = json::parse(text);
  ParamPolicy policy(mode, dropped);
  absl::Status result = CleanPassthroughBody(body, policy);
  if (status != nullptr) *status = result;
  return body;
}

// Another provider's thinking (relayed unsigned) is not sent to Claude;
// signed thinking and every other field of the body are.
TEST(ClaudePassthrough, UnsignedThinkingIsLeftOut) {
  std::vector<std::string> dropped;
  const json signed_only = json::parse(R"({"model":"m","max_tokens":5,
    "thinking":{"type":"enabled","budget_tokens":1024},
    "messages":[{"role":"user","content":"hi"},
      {"role":"assistant","content":[
        {"type":"thinking","thinking":"t","signature":"sig"},
        {"type":"text","text":"a"}]}]})");
  EXPECT_EQ(Clean(signed_only.dump(), &dropped), signed_only);
  json out = Clean(R"({"model":"m","max_tokens":5,
    "messages":[{"role":"user","content":"hi"},
      {"role":"assistant","content":[
        {"type":"thinking","thinking":"qwen thought","signature":""},
        {"type":"text","text":"a","cache_control":{"type":"ephemeral"}}]},
      {"role":"user","content":"more"},
      {"role":"assistant","content":[{"type":"thinking","thinking":"x"}]},
      {"role":"user","content":"again"}]})",
                   &dropped);
  ASSERT_EQ(out["messages"].size(), 4);
  ASSERT_EQ(out["messages"][1]["content"].size(), 1);
  EXPECT_EQ(out["messages"][1]["content"][0]["type"], "text");
  EXPECT_EQ(out["messages"][1]["content"][0]["cache_control"]["type"],
            "ephemeral");
  EXPECT_EQ(out["messages"][3]["content"], "again");
  EXPECT_TRUE(dropped.empty());
  // Any type anywhere is no crash.
  json odd = Clean(R"({"messages":[{"role":5,"content":[{"type":1},
      {"type":"thinking","signature":7}]}], "thinking":{"type":[]}})",
                   &dropped);
  EXPECT_EQ(odd["messages"][0]["content"].size(), 1u);
}

constexpr char kToolLoop[] = R"({"model":"m","max_tokens":5000,
    "thinking":{"type":"enabled","budget_tokens":1024},
    "messages":[{"role":"user","content":"weather, then time?"},
      {"role":"assistant","content":[
        {"type":"thinking","thinking":"qwen thought"},
        {"type":"tool_use","id":"t1","name":"w","input":{}}]},
      {"role":"user","content":[
        {"type":"tool_result","tool_use_id":"t1","content":"sun"}]},
      {"role":"assistant","content":[
        {"type":"tool_use","id":"t2","name":"time","input":{}}]},
      {"role":"user","content":[
        {"type":"tool_result","tool_use_id":"t2","content":"10:00"}]}]})";

// The ongoing tool-use turn whose first message had only unsigned thinking
// cannot think on Claude: thinking is dropped and reported, or under
// `reject` a 400 naming it.
TEST(ClaudePassthrough, ATurnThatLostItsThinkingTurnsThinkingOff) {
  std::vector<std::string> dropped;
  json out = Clean(kToolLoop, &dropped);
  EXPECT_FALSE(out.contains("thinking"));
  EXPECT_EQ(out["messages"][1]["content"].size(), 1u);
  EXPECT_EQ(dropped, std::vector<std::string>{"thinking"});

  std::vector<std::string> strict;
  absl::Status status;
  Clean(kToolLoop, &strict, UnsupportedParams::kReject, &status);
  EXPECT_EQ(GetErrorDetails(status).param, "thinking");
}

// Claude's own tool loops go as sent: its later replies in a loop start
// without thinking; adaptive thinking may skip it; unsigned thinking of an
// earlier turn does not matter.
TEST(ClaudePassthrough, ClaudesOwnTurnsKeepThinkingOn) {
  std::vector<std::string> dropped;
  std::string signed_loop = kToolLoop;
  signed_loop.replace(signed_loop.find(R"("qwen thought"})"), 15,
                      R"("t","signature":"s"})");
  EXPECT_EQ(Clean(signed_loop, &dropped), json::parse(signed_loop));

  json adaptive = json::parse(kToolLoop);
  adaptive["thinking"] = {{"type", "adaptive"}};
  EXPECT_EQ(Clean(adaptive.dump(), &dropped)["thinking"]["type"], "adaptive");

  json earlier = json::parse(kToolLoop);
  earlier["messages"].push_back(
      {{"role", "assistant"},
       {"content", {{{"type", "text"}, {"text", "ok"}}}}});
  earlier["messages"].push_back({{"role", "user"}, {"content", "and now?"}});
  EXPECT_EQ(Clean(earlier.dump(), &dropped)["thinking"]["type"], "enabled");
  EXPECT_TRUE(dropped.empty());
}

}  // namespace
}  // namespace aigw
