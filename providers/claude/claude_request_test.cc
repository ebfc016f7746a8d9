#include "providers/claude/claude_request.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "providers/common/api_error.h"
#include "providers/common/openai_request_json.h"
#include "providers/common/reasoning_blocks.h"

namespace aigw {
namespace {

using nlohmann::json;

// Canonical request from the OpenAI JSON a client would send.
v1::ChatCompletionRequest Request(const std::string& openai_json) {
  absl::StatusOr<v1::ChatCompletionRequest> request =
      ParseChatRequest(openai_json);
  EXPECT_TRUE(request.ok()) << request.status();
  return request.ok() ? *request : v1::ChatCompletionRequest();
}

// Under `unsupported_params: drop`; `dropped` gets what was left out.
json Translate(const std::string& openai_json,
               std::vector<std::string>* dropped = nullptr) {
  std::vector<std::string> local;
  ParamPolicy policy(UnsupportedParams::kDrop, dropped ? dropped : &local);
  absl::StatusOr<json> body = ClaudeRequestJson(Request(openai_json), policy);
  EXPECT_TRUE(body.ok()) << body.status();
  return body.ok() ? *body : json();
}

// The 400 a request gets under `unsupported_params: reject`, with the field
// it names.
ErrorDetails Rejection(const std::string& openai_json) {
  std::vector<std::string> dropped;
  ParamPolicy policy(UnsupportedParams::kReject, &dropped);
  absl::StatusOr<json> body = ClaudeRequestJson(Request(openai_json), policy);
  EXPECT_FALSE(body.ok()) << (body.ok() ? body->dump() : "");
  if (body.ok()) return {};
  EXPECT_EQ(body.status().code(), absl::StatusCode::kInvalidArgument);
  return GetErrorDetails(body.status());
}

TEST(ClaudeRequest, PlainChatWithSystemAndDefaultMaxTokens) {
  json body = Translate(R"({"model":"claude-sonnet-4-5","messages":[
      {"role":"system","content":"Be brief."},
      {"role":"developer","content":"Answer in French."},
      {"role":"user","content":"Hello"}]})");
  EXPECT_EQ(body, json::parse(R"({
      "model":"claude-sonnet-4-5","max_tokens":4096,
      "system":[{"type":"text","text":"Be brief."},
                {"type":"text","text":"Answer in French."}],
      "messages":[{"role":"user","content":[{"type":"text","text":"Hello"}]}]
  })"));
}

TEST(ClaudeRequest, SamplingStopAndUserMapped) {
  json body = Translate(R"({"model":"m","messages":[{"role":"user",
      "content":"hi"}],"temperature":0.5,"top_p":0.9,"max_tokens":100,
      "max_completion_tokens":200,"stop":["END","###"],"user":"u-42",
      "n":1,"presence_penalty":0,"stream_options":{"include_usage":true}})");
  EXPECT_EQ(body, json::parse(R"({
      "model":"m","max_tokens":200,"temperature":0.5,"top_p":0.9,
      "stop_sequences":["END","###"],"metadata":{"user_id":"u-42"},
      "messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}]
  })"));
  EXPECT_EQ(Translate(R"({"model":"m","max_tokens":7,"messages":[
                {"role":"user","content":"hi"}]})")["max_tokens"],
            7);
}

TEST(ClaudeRequest, ConsecutiveSameRoleMessagesMerged) {
  json body = Translate(R"({"model":"m","messages":[
      {"role":"user","content":"one"},
      {"role":"system","content":"sys"},
      {"role":"user","content":[{"type":"text","text":"two"},
                                {"type":"text","text":""}]},
      {"role":"assistant","content":"a1"},
      {"role":"assistant","content":"a2"},
      {"role":"user","content":"three"}]})");
  EXPECT_EQ(body["messages"], json::parse(R"([
      {"role":"user","content":[{"type":"text","text":"one"},
                                {"type":"text","text":"two"}]},
      {"role":"assistant","content":[{"type":"text","text":"a1"},
                                     {"type":"text","text":"a2"}]},
      {"role":"user","content":[{"type":"text","text":"three"}]}])"));
  EXPECT_EQ(body["system"], json::parse(R"([{"type":"text","text":"sys"}])"));
}

TEST(ClaudeRequest, ImagesAsBase64AndUrlSources) {
  json body = Translate(R"({"model":"m","messages":[{"role":"user","content":[
      {"type":"text","text":"What is this?"},
      {"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0K"}},
      {"type":"image_url","image_url":{"url":"https://x.test/cat.jpg",
                                       "detail":"high"}}]}]})");
  EXPECT_EQ(body["messages"][0]["content"], json::parse(R"([
      {"type":"text","text":"What is this?"},
      {"type":"image","source":{"type":"base64","media_type":"image/png",
                                "data":"iVBORw0K"}},
      {"type":"image","source":{"type":"url","url":"https://x.test/cat.jpg"}}
  ])"));
}

TEST(ClaudeRequest, BadImageUrlsRejected) {
  EXPECT_EQ(Rejection(R"({"model":"m","messages":[{"role":"user","content":[
                {"type":"image_url","image_url":{"url":"data:image/png,abc"}}
            ]}]})")
                .param,
            "messages[0].content[0].image_url.url");
  EXPECT_EQ(Rejection(R"({"model":"m","messages":[{"role":"user","content":[
                {"type":"image_url","image_url":{"url":"ftp://x/y.png"}}]}]})")
                .param,
            "messages[0].content[0].image_url.url");
  EXPECT_EQ(Rejection(R"({"model":"m","messages":[{"role":"user","content":[
                {"type":"input_audio","input_audio":{"data":"x"}}]}]})")
                .param,
            "messages[0].content[0].type");
}

TEST(ClaudeRequest, ToolsToolCallsAndToolResults) {
  json body = Translate(R"({"model":"m","messages":[
      {"role":"user","content":"Weather in Paris and Rome?"},
      {"role":"assistant","content":"Let me check.","tool_calls":[
        {"id":"toolu_1","type":"function","function":{"name":"get_weather",
         "arguments":"{\"city\":\"Paris\"}"}},
        {"id":"toolu_2","type":"function","function":{"name":"get_weather",
         "arguments":"{\"city\":\"Rome\"}"}}]},
      {"role":"tool","tool_call_id":"toolu_1","content":"18C"},
      {"role":"tool","tool_call_id":"toolu_2","content":[
        {"type":"text","text":"21C"}]},
      {"role":"user","content":"Thanks"}],
    "tools":[{"type":"function","function":{"name":"get_weather",
      "description":"Current weather","parameters":{"type":"object",
      "properties":{"city":{"type":"string"}},"required":["city"]},
      "strict":true}},
      {"type":"function","function":{"name":"now"}}],
    "tool_choice":"required","parallel_tool_calls":false})");
  EXPECT_EQ(body, json::parse(R"({
    "model":"m","max_tokens":4096,
    "messages":[
      {"role":"user","content":[{"type":"text",
                                 "text":"Weather in Paris and Rome?"}]},
      {"role":"assistant","content":[
        {"type":"text","text":"Let me check."},
        {"type":"tool_use","id":"toolu_1","name":"get_weather",
         "input":{"city":"Paris"}},
        {"type":"tool_use","id":"toolu_2","name":"get_weather",
         "input":{"city":"Rome"}}]},
      {"role":"user","content":[
        {"type":"tool_result","tool_use_id":"toolu_1","content":"18C"},
        {"type":"tool_result","tool_use_id":"toolu_2",
         "content":[{"type":"text","text":"21C"}]},
        {"type":"text","text":"Thanks"}]}],
    "tools":[
      {"name":"get_weather","description":"Current weather","strict":true,
       "input_schema":{"type":"object","properties":{"city":{"type":"string"}},
                       "required":["city"]}},
      {"name":"now","input_schema":{"type":"object","properties":{}}}],
    "tool_choice":{"type":"any","disable_parallel_tool_use":true}
  })"));
}

TEST(ClaudeRequest, ToolResultWithPartsAndEarlierReasoningNotResent) {
  json body = Translate(R"({"model":"m","messages":[
      {"role":"user","content":"chart?"},
      {"role":"assistant","content":"","reasoning_content":"I should plot.",
       "tool_calls":[{"id":"t1","type":"function","function":{"name":"plot",
       "arguments":"{}"}}]},
      {"role":"tool","tool_call_id":"t1","content":[
        {"type":"text","text":"done"},
        {"type":"image_url","image_url":{"url":"data:image/jpeg;base64,/9j/"}}]}
  ]})");
  EXPECT_EQ(body["messages"], json::parse(R"([
      {"role":"user","content":[{"type":"text","text":"chart?"}]},
      {"role":"assistant","content":[{"type":"tool_use","id":"t1",
                                      "name":"plot","input":{}}]},
      {"role":"user","content":[{"type":"tool_result","tool_use_id":"t1",
        "content":[{"type":"text","text":"done"},
                   {"type":"image","source":{"type":"base64",
                    "media_type":"image/jpeg","data":"/9j/"}}]}]}])"));
}

TEST(ClaudeRequest, ToolChoiceModesMapped) {
  const std::string head =
      R"({"model":"m","messages":[{"role":"user","content":"x"}],)"
      R"("tools":[{"type":"function","function":{"name":"f"}}],)";
  EXPECT_EQ(Translate(head + R"("tool_choice":"auto"})")["tool_choice"],
            json::parse(R"({"type":"auto"})"));
  EXPECT_EQ(Translate(head + R"("tool_choice":"none"})")["tool_choice"],
            json::parse(R"({"type":"none"})"));
  EXPECT_EQ(Translate(head + R"("tool_choice":{"type":"function",
                "function":{"name":"f"}}})")["tool_choice"],
            json::parse(R"({"type":"tool","name":"f"})"));
  EXPECT_EQ(Translate(head + R"("parallel_tool_calls":false})")["tool_choice"],
            json::parse(R"({"type":"auto","disable_parallel_tool_use":true})"));
  EXPECT_FALSE(Translate(head + R"("parallel_tool_calls":true})")
                   .contains("tool_choice"));
  EXPECT_EQ(Rejection(head + R"("tool_choice":"sometimes"})").param,
            "tool_choice");
}

TEST(ClaudeRequest, ToolCallWithInvalidArgumentsJsonRejected) {
  const std::string request = R"({"model":"m","messages":[
      {"role":"user","content":"x"},
      {"role":"assistant","tool_calls":[{"id":"t1","type":"function",
        "function":{"name":"f","arguments":"{\"a\":"}}]}]})";
  EXPECT_EQ(Rejection(request).param,
            "messages[1].tool_calls[0].function.arguments");
  EXPECT_EQ(Rejection(R"({"model":"m","messages":[
      {"role":"assistant","tool_calls":[{"id":"t1","type":"function",
        "function":{"name":"f","arguments":"[1]"}}]}]})")
                .param,
            "messages[0].tool_calls[0].function.arguments");
  // No arguments at all is an empty input object.
  EXPECT_EQ(Translate(R"({"model":"m","messages":[{"role":"assistant",
      "tool_calls":[{"id":"t1","type":"function","function":{"name":"f",
      "arguments":""}}]}]})")["messages"][0]["content"][0]["input"],
            json::object());
}

TEST(ClaudeRequest, JsonSchemaResponseFormatBecomesOutputConfig) {
  json body = Translate(R"({"model":"m","messages":[{"role":"user",
      "content":"x"}],"response_format":{"type":"json_schema","json_schema":{
      "name":"person","strict":true,"schema":{"type":"object","properties":{
      "name":{"type":"string"}},"required":["name"],
      "additionalProperties":false}}}})");
  EXPECT_EQ(body["output_config"], json::parse(R"({"format":{
      "type":"json_schema","schema":{"type":"object","properties":{
      "name":{"type":"string"}},"required":["name"],
      "additionalProperties":false}}})"));
  EXPECT_FALSE(Translate(R"({"model":"m","messages":[{"role":"user",
      "content":"x"}],"response_format":{"type":"text"}})")
                   .contains("output_config"));
}

TEST(ClaudeRequest, ThinkingAndTopKFromExtraBody) {
  json body = Translate(R"({"model":"m","messages":[{"role":"user",
      "content":"x"}],"thinking":{"type":"enabled","budget_tokens":2048},
      "top_k":40})");
  EXPECT_EQ(body["thinking"],
            json::parse(R"({"type":"enabled","budget_tokens":2048})"));
  // Claude refuses top_k while thinking.
  EXPECT_FALSE(body.contains("top_k"));
  EXPECT_EQ(Translate(R"({"model":"m","messages":[{"role":"user",
      "content":"x"}],"top_k":40})")["top_k"],
            40);
  EXPECT_EQ(Rejection(R"({"model":"m","messages":[{"role":"user",
      "content":"x"}],"thinking":true})")
                .param,
            "thinking");
  // Wrong types inside it are a 400 naming them, not a crash.
  EXPECT_EQ(Rejection(R"({"model":"m","messages":[{"role":"user",
      "content":"x"}],"thinking":{"type":1,"budget_tokens":2048}})")
                .param,
            "thinking.type");
  EXPECT_EQ(Rejection(R"({"model":"m","messages":[{"role":"user",
      "content":"x"}],"thinking":{"type":"enabled","budget_tokens":"lots"}})")
                .param,
            "thinking.budget_tokens");
  EXPECT_EQ(Rejection(R"({"model":"m","messages":[{"role":"user",
      "content":"x"}],"thinking":{"type":"enabled","budget_tokens":1024.5}})")
                .param,
            "thinking.budget_tokens");
}

TEST(ClaudeRequest, FieldsClaudeCannotExpressRejectedByName) {
  const std::string head =
      R"({"model":"m","messages":[{"role":"user","content":"x"}],)";
  EXPECT_EQ(Rejection(head + R"("n":2})").param, "n");
  EXPECT_EQ(Rejection(head + R"("seed":7})").param, "seed");
  EXPECT_EQ(Rejection(head + R"("presence_penalty":0.5})").param,
            "presence_penalty");
  EXPECT_EQ(Rejection(head + R"("frequency_penalty":1})").param,
            "frequency_penalty");
  EXPECT_EQ(
      Rejection(head + R"("response_format":{"type":"json_object"}})").param,
      "response_format.type");
  EXPECT_EQ(Rejection(head + R"("logit_bias":{"1":2},"logprobs":true})").param,
            "logit_bias");
  EXPECT_EQ(Rejection(R"({"model":"m","messages":[{"role":"system",
      "content":[{"type":"image_url","image_url":{"url":"https://x/y"}}]}]})")
                .param,
            "messages[0].content");
  EXPECT_EQ(Rejection(R"({"model":"m","messages":[{"role":"function",
      "name":"f","content":"x"}]})")
                .param,
            "messages[0].role");
  EXPECT_EQ(Rejection(R"({"model":"m","messages":[{"role":"function",
      "content":"x"}]})")
                .param,
            "messages[0].role");
  EXPECT_EQ(Rejection(R"({"model":"m","messages":[{"role":"tool",
      "content":"x"}]})")
                .param,
            "messages[0].tool_call_id");
  EXPECT_EQ(Rejection(R"({"model":"m","messages":[{"role":"assistant",
      "content":""}]})")
                .param,
            "messages[0].content");
  EXPECT_EQ(Rejection(head + R"("tools":[{"type":"code_interpreter"}]})").param,
            "tools[0].type");
}

TEST(ClaudeRequest, DropPolicyLeavesFieldsOutAndNamesThem) {
  std::vector<std::string> dropped;
  json body = Translate(R"({"model":"m","messages":[{"role":"user",
      "content":"x"}],"n":2,"seed":7,"frequency_penalty":0.5,
      "logit_bias":{"1":2},"response_format":{"type":"json_object"}})",
                        &dropped);
  EXPECT_EQ(body, json::parse(R"({"model":"m","max_tokens":4096,
      "messages":[{"role":"user","content":[{"type":"text","text":"x"}]}]})"));
  EXPECT_EQ(dropped, (std::vector<std::string>{"logit_bias", "n", "seed",
                                               "frequency_penalty",
                                               "response_format.type"}));
}

// NextChat's defaults and the openai SDK's informational fields change
// nothing: no error even under reject, nothing reported, top_p 1 left out
// (newer Claude models refuse temperature and top_p together).
TEST(ClaudeRequest, NeutralAndInformationalFieldsAccepted) {
  const std::string request = R"({"model":"m","stream":true,
      "messages":[{"role":"user","content":"x"}],"temperature":0.5,
      "presence_penalty":0,"frequency_penalty":0,"top_p":1,"n":1,
      "max_tokens":4000,"logprobs":false,"top_logprobs":0,"logit_bias":{},
      "parallel_tool_calls":true,"metadata":{"k":"v"},"store":false,
      "service_tier":"auto","prompt_cache_key":"p","safety_identifier":"s"})";
  std::vector<std::string> dropped;
  json body = Translate(request, &dropped);
  EXPECT_TRUE(dropped.empty());
  EXPECT_EQ(body, json::parse(R"({"model":"m","max_tokens":4000,
      "temperature":0.5,
      "messages":[{"role":"user","content":[{"type":"text","text":"x"}]}]})"));
  std::vector<std::string> none;
  ParamPolicy reject(UnsupportedParams::kReject, &none);
  EXPECT_TRUE(ClaudeRequestJson(Request(request), reject).ok());
}

// What the openai SDK's runTools() and parse() send back in history.
TEST(ClaudeRequest, SdkHistoryBookkeepingIgnored) {
  std::vector<std::string> dropped;
  json body = Translate(R"({"model":"m","messages":[
      {"role":"user","content":"weather?","name":"alice"},
      {"role":"assistant","content":null,"refusal":null,"audio":null,
       "function_call":null,"parsed":null,"annotations":[],
       "tool_calls":[{"id":"call_1","type":"function",
         "function":{"name":"get","arguments":"{}"},"parsed_arguments":{}}]},
      {"role":"tool","tool_call_id":"call_1","content":"sunny"},
      {"role":"assistant","content":"{\"a\":1}","parsed":{"a":1},
       "refusal":null,"tool_calls":[]},
      {"role":"assistant","content":null,"refusal":"I can't help."},
      {"role":"user","content":"ok"}]})",
                        &dropped);
  EXPECT_TRUE(dropped.empty()) << dropped[0];
  EXPECT_EQ(body["messages"], json::parse(R"([
      {"role":"user","content":[{"type":"text","text":"weather?"}]},
      {"role":"assistant","content":[{"type":"tool_use","id":"call_1",
        "name":"get","input":{}}]},
      {"role":"user","content":[{"type":"tool_result","tool_use_id":"call_1",
        "content":"sunny"}]},
      {"role":"assistant","content":[{"type":"text","text":"{\"a\":1}"},
        {"type":"text","text":"I can't help."}]},
      {"role":"user","content":[{"type":"text","text":"ok"}]}])"));
}

TEST(ClaudeRequest, ReasoningEffortBecomesAThinkingBudget) {
  json body = Translate(R"({"model":"m","messages":[{"role":"user",
      "content":"x"}],"reasoning_effort":"low","max_tokens":500,
      "temperature":1})");
  EXPECT_EQ(body["thinking"],
            json::parse(R"({"type":"enabled","budget_tokens":1024})"));
  EXPECT_EQ(body["max_tokens"], 1524);  // the answer's 500 on top of it
  EXPECT_EQ(body["temperature"], 1);

  std::vector<std::string> dropped;
  body = Translate(R"({"model":"m","messages":[{"role":"user",
      "content":"x"}],"reasoning_effort":"high","temperature":0.2,
      "top_p":0.5})",
                   &dropped);
  EXPECT_FALSE(body.contains("temperature"));
  EXPECT_FALSE(body.contains("top_p"));
  EXPECT_EQ(dropped, (std::vector<std::string>{"temperature", "top_p"}));

  EXPECT_FALSE(Translate(R"({"model":"m","messages":[{"role":"user",
      "content":"x"}],"reasoning_effort":"minimal"})")
                   .contains("thinking"));
  EXPECT_EQ(Rejection(R"({"model":"m","messages":[{"role":"user",
      "content":"x"}],"reasoning_effort":"max"})")
                .param,
            "reasoning_effort");
}

TEST(ClaudeRequest, ReasoningEffortBudgetFitsTheOutputLimit) {
  json body = Translate(R"({"model":"m","messages":[{"role":"user",
      "content":"x"}],"reasoning_effort":"high","max_tokens":20000})");
  EXPECT_EQ(body["thinking"]["budget_tokens"], 12000);
  EXPECT_EQ(body["max_tokens"], 32000);
}

// Claude refuses thinking without the signed thinking of earlier tool-use
// turns (runTools' second call) and with a forced tool choice.
TEST(ClaudeRequest, ReasoningEffortDroppedWhereClaudeCannotThink) {
  std::vector<std::string> dropped;
  json body = Translate(R"({"model":"m","reasoning_effort":"low",
      "messages":[{"role":"user","content":"weather?"},
        {"role":"assistant","tool_calls":[{"id":"c1","type":"function",
          "function":{"name":"get","arguments":"{}"}}]},
        {"role":"tool","tool_call_id":"c1","content":"sunny"}]})",
                        &dropped);
  EXPECT_FALSE(body.contains("thinking"));
  EXPECT_EQ(dropped, std::vector<std::string>{"reasoning_effort"});
  dropped.clear();
  body = Translate(R"({"model":"m","reasoning_effort":"low",
      "messages":[{"role":"user","content":"x"}],"tool_choice":"required",
      "tools":[{"type":"function","function":{"name":"f"}}]})",
                   &dropped);
  EXPECT_FALSE(body.contains("thinking"));
  EXPECT_EQ(dropped, std::vector<std::string>{"reasoning_effort"});
}

// Signed thinking of an earlier tool-use turn (an Anthropic or Responses
// client kept it) goes back first in that turn, and thinking may go on.
TEST(ClaudeRequest, SignedThinkingOfToolTurnsGoesBack) {
  v1::ChatCompletionRequest request = Request(R"({"model":"m",
      "reasoning_effort":"low",
      "messages":[{"role":"user","content":"weather?"},
        {"role":"assistant","reasoning_content":"Use get.",
         "tool_calls":[{"id":"c1","type":"function",
          "function":{"name":"get","arguments":"{}"}}]},
        {"role":"tool","tool_call_id":"c1","content":"sunny"}]})");
  request.mutable_messages(1)->set_reasoning_signature("sig-1");
  std::vector<std::string> dropped;
  ParamPolicy policy(UnsupportedParams::kReject, &dropped);
  absl::StatusOr<json> body = ClaudeRequestJson(request, policy);
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_EQ((*body)["thinking"]["type"], "enabled");
  EXPECT_EQ((*body)["messages"][1]["content"], json::parse(R"([
      {"type":"thinking","thinking":"Use get.","signature":"sig-1"},
      {"type":"tool_use","id":"c1","name":"get","input":{}}])"));

  // Without thinking in this request, earlier thinking stays out.
  request.mutable_extra()->clear_fields();
  body = ClaudeRequestJson(request, policy);
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_EQ((*body)["messages"][1]["content"].size(), 1);
}

// Only the final tool-use turn must bring its signed thinking: an earlier
// one served by another provider (no signature) does not stop thinking,
// a final one does.
TEST(ClaudeRequest, OnlyTheFinalToolTurnNeedsItsThinking) {
  v1::ChatCompletionRequest request = Request(R"({"model":"m",
      "reasoning_effort":"low",
      "messages":[{"role":"user","content":"weather?"},
        {"role":"assistant","reasoning_content":"qwen thought",
         "tool_calls":[{"id":"c1","type":"function",
          "function":{"name":"get","arguments":"{}"}}]},
        {"role":"tool","tool_call_id":"c1","content":"sunny"},
        {"role":"assistant","content":"Sunny."},
        {"role":"user","content":"time?"},
        {"role":"assistant","reasoning_content":"Use time.",
         "tool_calls":[{"id":"c2","type":"function",
          "function":{"name":"time","arguments":"{}"}}]},
        {"role":"tool","tool_call_id":"c2","content":"10:00"}]})");
  request.mutable_messages(5)->set_reasoning_signature("sig-2");
  std::vector<std::string> dropped;
  ParamPolicy policy(UnsupportedParams::kReject, &dropped);
  absl::StatusOr<json> body = ClaudeRequestJson(request, policy);
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_EQ((*body)["thinking"]["type"], "enabled");
  EXPECT_EQ((*body)["messages"][1]["content"].size(), 1);  // unsigned: out
  EXPECT_EQ((*body)["messages"][5]["content"][0]["signature"], "sig-2");

  request.mutable_messages(5)->clear_reasoning_signature();
  body = ClaudeRequestJson(request, policy);
  EXPECT_EQ(GetErrorDetails(body.status()).param, "reasoning_effort");
}

// Thinking after a turn's last block (a client's odd input) is left out:
// Claude ends no message with thinking.
TEST(ClaudeRequest, NoMessageEndsWithThinking) {
  v1::ChatCompletionRequest request = Request(R"({"model":"m",
      "reasoning_effort":"low",
      "messages":[{"role":"user","content":"weather?"},
        {"role":"assistant","tool_calls":[{"id":"c1","type":"function",
          "function":{"name":"get","arguments":"{}"}}]},
        {"role":"tool","tool_call_id":"c1","content":"sunny"}]})");
  v1::Message* turn = request.mutable_messages(1);
  turn->clear_tool_calls();
  AddReasoningBlock("Use get.", "sig-1", /*after_text=*/false, turn);
  turn->add_tool_calls()->set_id("c1");
  turn->mutable_tool_calls(0)->set_type("function");
  turn->mutable_tool_calls(0)->mutable_function()->set_name("get");
  turn->mutable_tool_calls(0)->mutable_function()->set_arguments("{}");
  AddReasoningBlock("Trailing.", "sig-2", /*after_text=*/false, turn);
  std::vector<std::string> dropped;
  ParamPolicy policy(UnsupportedParams::kReject, &dropped);
  absl::StatusOr<json> body = ClaudeRequestJson(request, policy);
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_EQ((*body)["messages"][1]["content"], json::parse(R"([
      {"type":"thinking","thinking":"Use get.","signature":"sig-1"},
      {"type":"tool_use","id":"c1","name":"get","input":{}}])"));
}

// A budget in tokens (an Anthropic client's thinking) keeps Claude's
// meaning, inside max_tokens; 0 turns thinking off.
TEST(ClaudeRequest, BudgetTokensAreClaudesOwn) {
  v1::ChatCompletionRequest request = Request(
      R"({"model":"m","max_tokens":4000,"messages":[{"role":"user","content":"x"}]})");
  request.set_reasoning_budget_tokens(2048);
  std::vector<std::string> dropped;
  ParamPolicy policy(UnsupportedParams::kReject, &dropped);
  absl::StatusOr<json> body = ClaudeRequestJson(request, policy);
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_EQ((*body)["thinking"],
            json::parse(R"({"type":"enabled","budget_tokens":2048})"));
  EXPECT_EQ((*body)["max_tokens"], 4000);
  request.set_reasoning_budget_tokens(0);
  body = ClaudeRequestJson(request, policy);
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_EQ((*body)["thinking"], json::parse(R"({"type":"disabled"})"));
}

// Adaptive thinking (the model decides) reaches Claude as itself, and like
// enabled thinking it sends the signed thinking of earlier turns back.
TEST(ClaudeRequest, AdaptiveThinkingIsSentAsAdaptive) {
  v1::ChatCompletionRequest request = Request(
      R"({"model":"m","max_tokens":4000,"messages":[
        {"role":"user","content":"x"},
        {"role":"assistant","content":"y","reasoning_content":"t"},
        {"role":"user","content":"z"}]})");
  request.mutable_messages(1)->set_reasoning_signature("sig");
  request.set_reasoning_budget_tokens(8192);
  request.set_reasoning_adaptive(true);
  std::vector<std::string> dropped;
  ParamPolicy policy(UnsupportedParams::kReject, &dropped);
  absl::StatusOr<json> body = ClaudeRequestJson(request, policy);
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_EQ((*body)["thinking"], json::parse(R"({"type":"adaptive"})"));
  EXPECT_EQ((*body)["max_tokens"], 4000);
  EXPECT_EQ((*body)["messages"][1]["content"][0],
            json::parse(R"({"type":"thinking","thinking":"t",
                            "signature":"sig"})"));
}

TEST(ClaudeRequest, TemperatureAboveClaudesRangeGoesThroughThePolicy) {
  std::vector<std::string> dropped;
  json body = Translate(R"({"model":"m","messages":[{"role":"user",
      "content":"x"}],"temperature":1.2})",
                        &dropped);
  EXPECT_FALSE(body.contains("temperature"));
  EXPECT_EQ(dropped, std::vector<std::string>{"temperature"});
}

TEST(ClaudeRequest, CacheControlOnContentPartsKept) {
  json body = Translate(R"({"model":"m","messages":[{"role":"user",
      "content":[{"type":"text","text":"long doc",
                  "cache_control":{"type":"ephemeral"}}]}]})");
  EXPECT_EQ(body["messages"][0]["content"][0],
            json::parse(R"({"type":"text","text":"long doc",
                            "cache_control":{"type":"ephemeral"}})"));
}

// Canonical caching hints (a gRPC client's, or a translated Anthropic
// request's) land on the last block of their message and on their tool.
TEST(ClaudeRequest, CacheControlHintsOnMessagesAndTools) {
  v1::ChatCompletionRequest request = Request(R"({"model":"m","messages":[
      {"role":"system","content":"Long rules."},
      {"role":"user","content":"x"}],
      "tools":[{"type":"function","function":{"name":"f"}}]})");
  request.mutable_messages(0)->mutable_cache_control()->set_type("ephemeral");
  request.mutable_messages(0)->mutable_cache_control()->set_ttl("1h");
  request.mutable_messages(1)->mutable_cache_control()->set_type("ephemeral");
  request.mutable_tools(0)->mutable_cache_control()->set_type("ephemeral");
  std::vector<std::string> dropped;
  ParamPolicy policy(UnsupportedParams::kReject, &dropped);
  absl::StatusOr<json> body = ClaudeRequestJson(request, policy);
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_EQ((*body)["system"][0]["cache_control"],
            json::parse(R"({"type":"ephemeral","ttl":"1h"})"));
  EXPECT_EQ((*body)["messages"][0]["content"][0]["cache_control"],
            json::parse(R"({"type":"ephemeral"})"));
  EXPECT_EQ((*body)["tools"][0]["cache_control"],
            json::parse(R"({"type":"ephemeral"})"));
}

TEST(ClaudeRequest, HttpRequestCarriesOnlyTheProviderKey) {
  UpstreamRequest request =
      ClaudeHttpRequest("/proxy", "sk-ant-1", "2023-06-01", "{}", true);
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.path, "/proxy/v1/messages");
  EXPECT_EQ(request.body, "{}");
  HeaderMap expected = {{"x-api-key", "sk-ant-1"},
                        {"anthropic-version", "2023-06-01"},
                        {"content-type", "application/json"},
                        {"accept", "text/event-stream"}};
  EXPECT_EQ(request.headers, expected);
  EXPECT_EQ(ClaudeHttpRequest("", "k", "v", "", false).path, "/v1/messages");
  EXPECT_EQ(
      ClaudeHttpRequest("", "k", "v", "", false).headers.find("accept")->second,
      "application/json");
}

}  // namespace
}  // namespace aigw
