// A multi-turn tool conversation from an OpenAI client, translated the way
// the gateway does it end to end: OpenAI JSON -> canonical -> the claude
// adapter's Anthropic request -> the Anthropic front door's codec ->
// canonical -> OpenAI JSON. Tool-call ids, names and argument bytes, the
// tool results and the turn order survive unchanged.
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "providers/claude/claude_request.h"
#include "providers/common/openai_request_json.h"
#include "providers/common/param_policy.h"
#include "server/codecs/anthropic/messages_request.h"
#include "server/codecs/anthropic/messages_response.h"

namespace aigw {
namespace {

using nlohmann::json;

constexpr char kConversation[] = R"({
  "model": "gpt-4o", "max_tokens": 300,
  "messages": [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Weather in Hangzhou and Paris, and the time?"},
    {"role": "assistant", "content": null, "tool_calls": [
      {"id": "call_a1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"杭州\",\"unit\":\"c\"}"}},
      {"id": "call_b2", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
      {"id": "call_c3", "type": "function", "function": {"name": "get_time", "arguments": "{\"tz\":\"Asia/Shanghai\"}"}}]},
    {"role": "tool", "tool_call_id": "call_a1", "content": "22°C, cloudy"},
    {"role": "tool", "tool_call_id": "call_b2", "content": "15°C"},
    {"role": "tool", "tool_call_id": "call_c3", "content": "10:00"},
    {"role": "assistant", "content": "Hangzhou 22°C, Paris 15°C, 10:00."},
    {"role": "user", "content": "Thanks!"}],
  "tools": [
    {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "unit": {"type": "string"}}}}},
    {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}}}}]
})";

TEST(RoundTripTest, OpenAiToAnthropicToOpenAiKeepsToolCalls) {
  absl::StatusOr<v1::ChatCompletionRequest> from_openai =
      ParseChatRequest(kConversation);
  ASSERT_TRUE(from_openai.ok()) << from_openai.status();

  std::vector<std::string> dropped;
  ParamPolicy policy(UnsupportedParams::kReject, &dropped);
  absl::StatusOr<json> anthropic = ClaudeRequestJson(*from_openai, policy);
  ASSERT_TRUE(anthropic.ok()) << anthropic.status();

  absl::StatusOr<v1::ChatCompletionRequest> back =
      anthropic::MessagesRequestFromJson(*anthropic);
  ASSERT_TRUE(back.ok()) << back.status() << "\n" << anthropic->dump(2);

  json original = json::parse(kConversation);
  json again = ChatRequestToJson(*back);
  const json& sent = original["messages"];
  const json& got = again["messages"];
  ASSERT_EQ(got.size(), sent.size()) << again.dump(2);
  for (size_t i = 0; i < sent.size(); ++i) {
    EXPECT_EQ(got[i]["role"], sent[i]["role"]) << i;
    if (sent[i].contains("tool_calls")) {
      ASSERT_EQ(got[i]["tool_calls"].size(), sent[i]["tool_calls"].size());
      for (size_t c = 0; c < sent[i]["tool_calls"].size(); ++c) {
        const json& a = sent[i]["tool_calls"][c];
        const json& b = got[i]["tool_calls"][c];
        EXPECT_EQ(b["id"], a["id"]);
        EXPECT_EQ(b["function"]["name"], a["function"]["name"]);
        // The argument bytes, not just an equal object.
        EXPECT_EQ(b["function"]["arguments"], a["function"]["arguments"]);
      }
    } else if (sent[i]["content"].is_string()) {
      EXPECT_EQ(got[i]["content"], sent[i]["content"]) << i;
    }
    if (sent[i].contains("tool_call_id")) {
      EXPECT_EQ(got[i]["tool_call_id"], sent[i]["tool_call_id"]) << i;
    }
  }
  ASSERT_EQ(again["tools"].size(), 2u);
  EXPECT_EQ(again["tools"][0]["function"]["parameters"],
            original["tools"][0]["function"]["parameters"]);
  EXPECT_EQ(again["max_tokens"], 300);
}

// Signed thinking of a tool turn, with a thinking budget, survives the same
// round trip: the signature, the thinking text and the budget come back.
TEST(RoundTripTest, SignedThinkingAndBudgetSurvive) {
  absl::StatusOr<v1::ChatCompletionRequest> from_openai =
      ParseChatRequest(kConversation);
  ASSERT_TRUE(from_openai.ok()) << from_openai.status();
  v1::ChatCompletionRequest request = *from_openai;
  request.set_reasoning_budget_tokens(1024);
  v1::Message* turn = request.mutable_messages(2);
  turn->set_reasoning_content("Three calls: two weathers, one time.");
  turn->set_reasoning_signature("EqQBCgIYAhIM1gbcDa9GJwZA2b3h");

  std::vector<std::string> dropped;
  ParamPolicy policy(UnsupportedParams::kReject, &dropped);
  absl::StatusOr<json> anthropic = ClaudeRequestJson(request, policy);
  ASSERT_TRUE(anthropic.ok()) << anthropic.status();
  EXPECT_EQ((*anthropic)["messages"][1]["content"][0]["type"], "thinking");

  absl::StatusOr<v1::ChatCompletionRequest> back =
      anthropic::MessagesRequestFromJson(*anthropic);
  ASSERT_TRUE(back.ok()) << back.status() << "\n" << anthropic->dump(2);
  EXPECT_EQ(back->reasoning_budget_tokens(), 1024);
  const v1::Message& again = back->messages(2);
  EXPECT_EQ(again.reasoning_content(), turn->reasoning_content());
  EXPECT_EQ(again.reasoning_signature(), turn->reasoning_signature());
  ASSERT_EQ(again.tool_calls_size(), 3);
  EXPECT_EQ(again.tool_calls(0).id(), "call_a1");
}

// Interleaved thinking: two signed blocks in one turn go back to Claude
// as two blocks, each with its own text and signature, never merged.
TEST(RoundTripTest, EverySignedThinkingBlockKeepsItsSignature) {
  absl::StatusOr<v1::ChatCompletionRequest> from_anthropic =
      anthropic::ParseMessagesRequest(R"({
    "model": "claude-x", "max_tokens": 4000,
    "thinking": {"type": "enabled", "budget_tokens": 2048},
    "messages": [
      {"role": "user", "content": "Weather in Paris, then the time there?"},
      {"role": "assistant", "content": [
        {"type": "thinking", "thinking": "Weather first.", "signature": "sig-A"},
        {"type": "tool_use", "id": "toolu_1", "name": "get_weather",
         "input": {"city": "Paris"}},
        {"type": "thinking", "thinking": "Now the time.", "signature": "sig-B"},
        {"type": "tool_use", "id": "toolu_2", "name": "get_time",
         "input": {"tz": "Europe/Paris"}}]},
      {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "toolu_1", "content": "18C"},
        {"type": "tool_result", "tool_use_id": "toolu_2", "content": "10:00"}]}]
  })");
  ASSERT_TRUE(from_anthropic.ok()) << from_anthropic.status();
  const v1::Message& turn = from_anthropic->messages(1);
  EXPECT_EQ(turn.reasoning_content(), "Weather first.Now the time.");
  EXPECT_FALSE(turn.has_reasoning_signature());
  ASSERT_EQ(turn.reasoning_blocks_size(), 2);

  std::vector<std::string> dropped;
  ParamPolicy policy(UnsupportedParams::kReject, &dropped);
  absl::StatusOr<json> claude = ClaudeRequestJson(*from_anthropic, policy);
  ASSERT_TRUE(claude.ok()) << claude.status();
  EXPECT_EQ((*claude)["thinking"]["type"], "enabled");
  // Interleaved thinking goes back exactly as it came: each block between
  // the tool_use blocks where Claude wrote it.
  EXPECT_EQ((*claude)["messages"][1]["content"], json::parse(R"([
    {"type": "thinking", "thinking": "Weather first.", "signature": "sig-A"},
    {"type": "tool_use", "id": "toolu_1", "name": "get_weather",
     "input": {"city": "Paris"}},
    {"type": "thinking", "thinking": "Now the time.", "signature": "sig-B"},
    {"type": "tool_use", "id": "toolu_2", "name": "get_time",
     "input": {"tz": "Europe/Paris"}}])"));
}

// Thinking, text, thinking again, then a tool call: each block goes back
// to Claude where it was, the text between them.
TEST(RoundTripTest, ThinkingAroundTheTextKeepsItsPlace) {
  const json turn = json::parse(R"([
    {"type": "thinking", "thinking": "Plan.", "signature": "sig-A"},
    {"type": "text", "text": "Let me check."},
    {"type": "thinking", "thinking": "Which tool.", "signature": "sig-B"},
    {"type": "tool_use", "id": "toolu_1", "name": "get_weather",
     "input": {"city": "Paris"}}])");
  json body = {{"model", "claude-x"},
               {"max_tokens", 4000},
               {"thinking", {{"type", "enabled"}, {"budget_tokens", 2048}}},
               {"messages",
                {{{"role", "user"}, {"content", "Weather?"}},
                 {{"role", "assistant"}, {"content", turn}},
                 {{"role", "user"},
                  {"content",
                   {{{"type", "tool_result"},
                     {"tool_use_id", "toolu_1"},
                     {"content", "18C"}}}}}}}};
  absl::StatusOr<v1::ChatCompletionRequest> request =
      anthropic::ParseMessagesRequest(body.dump());
  ASSERT_TRUE(request.ok()) << request.status();
  std::vector<std::string> dropped;
  ParamPolicy policy(UnsupportedParams::kReject, &dropped);
  absl::StatusOr<json> claude = ClaudeRequestJson(*request, policy);
  ASSERT_TRUE(claude.ok()) << claude.status();
  EXPECT_EQ((*claude)["messages"][1]["content"], turn);

  // The same turn as a whole answer to an Anthropic client.
  v1::ChatCompletion completion;
  *completion.add_choices()->mutable_message() = request->messages(1);
  completion.mutable_choices(0)->set_finish_reason("tool_calls");
  EXPECT_EQ(anthropic::MessageJson(completion, "m")["content"], turn);
}

}  // namespace
}  // namespace aigw
