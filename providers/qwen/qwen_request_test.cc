#include "providers/qwen/qwen_request.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "providers/common/api_error.h"
#include "providers/common/openai_request_json.h"

namespace aigw {
namespace {

using nlohmann::json;

v1::ChatCompletionRequest Parse(const std::string& body) {
  absl::StatusOr<v1::ChatCompletionRequest> request = ParseChatRequest(body);
  EXPECT_TRUE(request.ok()) << request.status();
  return request.ok() ? *request : v1::ChatCompletionRequest();
}

// Under `unsupported_params: reject`, so nothing is silently left out.
UpstreamRequest Build(const std::string& body, QwenMode mode) {
  std::vector<std::string> dropped;
  ParamPolicy policy(UnsupportedParams::kReject, &dropped);
  absl::StatusOr<UpstreamRequest> upstream =
      ChatUpstreamRequest(Parse(body), mode, "/proxy", "sk-provider", policy);
  EXPECT_TRUE(upstream.ok()) << upstream.status();
  return upstream.ok() ? *upstream : UpstreamRequest();
}

absl::StatusOr<UpstreamRequest> BuildNative(const std::string& body,
                                            UnsupportedParams mode,
                                            std::vector<std::string>* dropped) {
  ParamPolicy policy(mode, dropped);
  return ChatUpstreamRequest(Parse(body), QwenMode::kNative, "", "sk-provider",
                             policy);
}

std::string Header(const UpstreamRequest& r, const std::string& name) {
  auto it = r.headers.find(name);
  return it == r.headers.end() ? "<missing>" : it->second;
}

TEST(QwenRequest, NativeTextBodyPathAndHeaders) {
  UpstreamRequest upstream = Build(R"({
    "model": "qwen-max",
    "messages": [
      {"role": "developer", "content": "Be brief."},
      {"role": "user", "content": "Weather in Paris?"},
      {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1",
        "type": "function", "function": {"name": "get_weather",
        "arguments": "{\"city\":\"Paris\"}"}}]},
      {"role": "tool", "tool_call_id": "call_1", "content": "18C"}
    ],
    "temperature": 0.5, "top_p": 0.9, "max_tokens": 100, "seed": 7,
    "stop": ["END"], "n": 2, "presence_penalty": 0.3,
    "tools": [{"type": "function", "function": {"name": "get_weather",
      "description": "Weather by city", "parameters": {"type": "object",
      "properties": {"city": {"type": "string"}}}}}],
    "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
    "parallel_tool_calls": true,
    "response_format": {"type": "json_object"},
    "enable_thinking": false,
    "stream": true, "stream_options": {"include_usage": true}
  })",
                                   QwenMode::kNative);
  EXPECT_EQ(upstream.method, "POST");
  EXPECT_EQ(upstream.path,
            "/proxy/api/v1/services/aigc/text-generation/generation");
  EXPECT_EQ(upstream.headers.size(), 4u);
  EXPECT_EQ(Header(upstream, "Authorization"), "Bearer sk-provider");
  EXPECT_EQ(Header(upstream, "Content-Type"), "application/json");
  EXPECT_EQ(Header(upstream, "Accept"), "text/event-stream");
  EXPECT_EQ(Header(upstream, "X-DashScope-SSE"), "enable");
  json expected = json::parse(R"({
    "model": "qwen-max",
    "input": {"messages": [
      {"role": "system", "content": "Be brief."},
      {"role": "user", "content": "Weather in Paris?"},
      {"role": "assistant", "content": "", "tool_calls": [{"id": "call_1",
        "type": "function", "function": {"name": "get_weather",
        "arguments": "{\"city\":\"Paris\"}"}}]},
      {"role": "tool", "tool_call_id": "call_1", "content": "18C"}
    ]},
    "parameters": {
      "result_format": "message", "incremental_output": true,
      "temperature": 0.5, "top_p": 0.9, "max_tokens": 100, "seed": 7,
      "stop": ["END"], "n": 2, "presence_penalty": 0.3,
      "tools": [{"type": "function", "function": {"name": "get_weather",
        "description": "Weather by city", "parameters": {"type": "object",
        "properties": {"city": {"type": "string"}}}}}],
      "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
      "parallel_tool_calls": true,
      "response_format": {"type": "json_object"},
      "enable_thinking": false
    }
  })");
  EXPECT_EQ(json::parse(upstream.body), expected);
}

TEST(QwenRequest, VisionModelUsesMultimodalApiWithImageAndTextItems) {
  UpstreamRequest upstream = Build(R"({
    "model": "qwen-vl-max",
    "messages": [
      {"role": "system", "content": "Describe images."},
      {"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBO", "detail": "auto"}},
        {"type": "text", "text": "What is this?"}]}
    ]
  })",
                                   QwenMode::kNative);
  EXPECT_EQ(upstream.path,
            "/proxy/api/v1/services/aigc/multimodal-generation/generation");
  json body = json::parse(upstream.body);
  EXPECT_EQ(body["input"]["messages"], json::parse(R"([
    {"role": "system", "content": [{"text": "Describe images."}]},
    {"role": "user", "content": [{"image": "data:image/png;base64,iVBO"},
                                 {"text": "What is this?"}]}
  ])"));
  EXPECT_EQ(body["parameters"], json::parse(R"({"result_format": "message",
                                                "incremental_output": true})"));
}

TEST(QwenRequest, TextPartsAreJoinedForTextModels) {
  UpstreamRequest upstream = Build(R"({"model": "qwen-plus", "messages": [
    {"role": "user", "content": [{"type": "text", "text": "Hello, "},
                                 {"type": "text", "text": "world"}]}]})",
                                   QwenMode::kNative);
  EXPECT_EQ(json::parse(upstream.body)["input"]["messages"][0]["content"],
            "Hello, world");
}

TEST(QwenRequest, MaxCompletionTokensWinsAndJsonSchemaPassesThrough) {
  UpstreamRequest upstream = Build(R"({"model": "qwen-plus",
    "messages": [{"role": "user", "content": "hi"}],
    "max_tokens": 10, "max_completion_tokens": 20,
    "response_format": {"type": "json_schema", "json_schema": {"name": "w",
      "schema": {"type": "object"}, "strict": true}}})",
                                   QwenMode::kNative);
  json parameters = json::parse(upstream.body)["parameters"];
  EXPECT_EQ(parameters["max_tokens"], 20);
  EXPECT_EQ(parameters["response_format"], json::parse(R"({"type":
    "json_schema", "json_schema": {"name": "w", "schema": {"type": "object"},
    "strict": true}})"));
}

TEST(QwenRequest, WhatDashScopeCannotExpressIsA400NamingTheField) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"("frequency_penalty": 0.5)", "frequency_penalty"},
      {R"("logit_bias": {"1": 2})", "logit_bias"},
      {R"("tool_choice": "required", "tools": [{"type": "function",
          "function": {"name": "f"}}])",
       "tool_choice"},
      {R"("tools": [{"type": "function", "function": {"name": "f",
          "strict": true}}])",
       "tools[0].function.strict"},
      {R"("tools": [{"type": "web_search"}])", "tools[0].type"},
      {R"("response_format": {"type": "xml"})", "response_format.type"},
  };
  for (const auto& [fields, param] : cases) {
    std::string body = absl::StrCat(
        R"({"model": "qwen-plus", "messages": [{"role": "user",
            "content": "hi"}], )",
        fields, "}");
    std::vector<std::string> dropped;
    absl::StatusOr<UpstreamRequest> upstream =
        BuildNative(body, UnsupportedParams::kReject, &dropped);
    ASSERT_FALSE(upstream.ok()) << fields;
    EXPECT_EQ(upstream.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(GetErrorDetails(upstream.status()).http_status, 400);
    EXPECT_EQ(GetErrorDetails(upstream.status()).param, param) << fields;
  }
}

TEST(QwenRequest, MessageContentDashScopeCannotTakeIsA400) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"model": "qwen-plus", "messages": [{"role": "user", "content": [
          {"type": "image_url", "image_url": {"url": "https://x/y.png"}}]}]})",
       "messages[0].content[0]"},
      {R"({"model": "qwen-vl-plus", "messages": [{"role": "user", "content": [
          {"type": "image_url", "image_url": {"url": "https://x/y.png",
           "detail": "high"}}]}]})",
       "messages[0].content[0].image_url.detail"},
      {R"({"model": "qwen-omni-turbo", "messages": [{"role": "user",
          "content": [{"type": "input_audio", "input_audio": {"data": "AA",
          "format": "wav"}}]}]})",
       "messages[0].content[0].type"},
      {R"({"model": "qwen-plus", "messages": [{"role": "function",
          "name": "f", "content": "1"}]})",
       "messages[0].role"},
      {R"({"model": "qwen-plus", "messages": [{"role": "user",
          "content": "hi", "function_call": {"name": "f"}}]})",
       "messages[0].function_call"},
  };
  for (const auto& [body, param] : cases) {
    std::vector<std::string> dropped;
    absl::StatusOr<UpstreamRequest> upstream =
        BuildNative(body, UnsupportedParams::kReject, &dropped);
    ASSERT_FALSE(upstream.ok()) << body;
    EXPECT_EQ(GetErrorDetails(upstream.status()).http_status, 400);
    EXPECT_EQ(GetErrorDetails(upstream.status()).param, param) << body;
  }
}

// NextChat's first message: its defaults, the informational fields and
// SDK history bookkeeping are accepted even under reject, and the neutral
// values are left out of DashScope's parameters.
TEST(QwenRequest, NextChatDefaultsAndHistoryBookkeepingAccepted) {
  const std::string body = R"({"model": "qwen-max", "stream": true,
      "messages": [{"role": "system", "content": "You are ChatGPT."},
        {"role": "user", "content": "hi", "name": "bob"},
        {"role": "assistant", "content": "hello", "refusal": null,
         "annotations": [], "audio": null, "function_call": null,
         "parsed": null, "tool_calls": []},
        {"role": "assistant", "content": null, "refusal": "I can't."},
        {"role": "user", "content": "more"}],
      "temperature": 0.5, "presence_penalty": 0, "frequency_penalty": 0,
      "top_p": 1, "max_tokens": 4000, "n": 1, "logprobs": false,
      "top_logprobs": 0, "logit_bias": {}, "user": "u", "metadata": {},
      "store": false, "service_tier": "auto", "prompt_cache_key": "k",
      "safety_identifier": "s"})";
  std::vector<std::string> dropped;
  absl::StatusOr<UpstreamRequest> upstream =
      BuildNative(body, UnsupportedParams::kReject, &dropped);
  ASSERT_TRUE(upstream.ok()) << upstream.status();
  EXPECT_TRUE(dropped.empty());
  json sent = json::parse(upstream->body);
  EXPECT_EQ(sent["parameters"], json::parse(R"({"result_format": "message",
      "incremental_output": true, "temperature": 0.5, "max_tokens": 4000})"));
  EXPECT_EQ(sent["input"]["messages"][3],
            json::parse(R"({"role": "assistant", "content": "I can't."})"));
}

TEST(QwenRequest, DropPolicyLeavesFieldsOutAndNamesThem) {
  std::vector<std::string> dropped;
  absl::StatusOr<UpstreamRequest> upstream = BuildNative(
      R"({"model": "qwen-plus", "messages": [{"role": "user",
          "content": "hi"}], "frequency_penalty": 0.5, "logit_bias": {"1": 2},
          "tools": [{"type": "function", "function": {"name": "f",
            "parameters": {"type": "object"}, "strict": true}}]})",
      UnsupportedParams::kDrop, &dropped);
  ASSERT_TRUE(upstream.ok()) << upstream.status();
  EXPECT_EQ(dropped, (std::vector<std::string>{"frequency_penalty",
                                               "tools[*].function.strict",
                                               "logit_bias"}));
  json parameters = json::parse(upstream->body)["parameters"];
  EXPECT_FALSE(parameters.contains("frequency_penalty"));
  EXPECT_FALSE(parameters.contains("logit_bias"));
  EXPECT_EQ(parameters["tools"][0]["function"]["parameters"],
            json::parse(R"({"type": "object"})"));
}

TEST(QwenRequest, ReasoningEffortBecomesThinking) {
  std::vector<std::string> dropped;
  absl::StatusOr<UpstreamRequest> upstream = BuildNative(
      R"({"model": "qwen3-max", "messages": [{"role": "user",
          "content": "hi"}], "reasoning_effort": "low"})",
      UnsupportedParams::kReject, &dropped);
  ASSERT_TRUE(upstream.ok()) << upstream.status();
  json parameters = json::parse(upstream->body)["parameters"];
  EXPECT_EQ(parameters["enable_thinking"], true);
  EXPECT_EQ(parameters["thinking_budget"], 1024);
  upstream = BuildNative(R"({"model": "qwen3-max", "messages": [{"role":
      "user", "content": "hi"}], "reasoning_effort": "none"})",
                         UnsupportedParams::kReject, &dropped);
  ASSERT_TRUE(upstream.ok()) << upstream.status();
  EXPECT_EQ(json::parse(upstream->body)["parameters"]["enable_thinking"],
            false);
}

// An Anthropic client's thinking budget is DashScope's own unit.
TEST(QwenRequest, BudgetTokensBecomeThinkingBudget) {
  v1::ChatCompletionRequest request = Parse(
      R"({"model": "qwen3-max", "messages": [{"role": "user", "content": "hi"}]})");
  request.set_reasoning_budget_tokens(3000);
  std::vector<std::string> dropped;
  ParamPolicy policy(UnsupportedParams::kReject, &dropped);
  absl::StatusOr<UpstreamRequest> upstream = ChatUpstreamRequest(
      request, QwenMode::kNative, "", "sk-provider", policy);
  ASSERT_TRUE(upstream.ok()) << upstream.status();
  json parameters = json::parse(upstream->body)["parameters"];
  EXPECT_EQ(parameters["enable_thinking"], true);
  EXPECT_EQ(parameters["thinking_budget"], 3000);
  request.set_reasoning_budget_tokens(0);
  upstream = ChatUpstreamRequest(request, QwenMode::kNative, "", "sk-provider",
                                 policy);
  ASSERT_TRUE(upstream.ok()) << upstream.status();
  EXPECT_EQ(json::parse(upstream->body)["parameters"]["enable_thinking"],
            false);
}

// In compatible mode too the budget is DashScope's enable_thinking and
// thinking_budget, never OpenAI's reasoning_effort.
TEST(QwenRequest, CompatibleModeSendsTheThinkingBudget) {
  v1::ChatCompletionRequest request = Parse(
      R"({"model": "qwen3-max", "messages": [{"role": "user", "content": "hi"}]})");
  request.set_reasoning_budget_tokens(3000);
  json body = CompatibleChatBody(request);
  EXPECT_EQ(body["enable_thinking"], true);
  EXPECT_EQ(body["thinking_budget"], 3000);
  EXPECT_FALSE(body.contains("reasoning_effort"));
  request.set_reasoning_budget_tokens(0);
  body = CompatibleChatBody(request);
  EXPECT_EQ(body["enable_thinking"], false);
  EXPECT_FALSE(body.contains("thinking_budget"));
  // Adaptive thinking: on, the model deciding how much.
  request.set_reasoning_budget_tokens(8192);
  request.set_reasoning_adaptive(true);
  body = CompatibleChatBody(request);
  EXPECT_EQ(body["enable_thinking"], true);
  EXPECT_FALSE(body.contains("thinking_budget"));
}

// QwQ and -thinking models always think: DashScope rejects
// enable_thinking false for them, so "no thinking" is not sent there.
TEST(QwenRequest, ThinkingOnlyModelsNeverGetThinkingDisabled) {
  for (const char* model :
       {"qwq-plus", "qwen3-235b-a22b-thinking-2507", "qwen-plus-thinking"}) {
    v1::ChatCompletionRequest request = Parse(
        absl::StrCat(R"({"model": ")", model,
                     R"(", "messages": [{"role": "user", "content": "hi"}]})"));
    request.set_reasoning_budget_tokens(0);
    EXPECT_FALSE(CompatibleChatBody(request).contains("enable_thinking"))
        << model;
    std::vector<std::string> dropped;
    ParamPolicy policy(UnsupportedParams::kReject, &dropped);
    absl::StatusOr<UpstreamRequest> upstream = ChatUpstreamRequest(
        request, QwenMode::kNative, "", "sk-provider", policy);
    ASSERT_TRUE(upstream.ok()) << upstream.status();
    EXPECT_FALSE(
        json::parse(upstream->body)["parameters"].contains("enable_thinking"))
        << model;
    request.set_reasoning_budget_tokens(2000);
    EXPECT_EQ(CompatibleChatBody(request)["thinking_budget"], 2000) << model;
  }
  std::vector<std::string> dropped;
  absl::StatusOr<UpstreamRequest> upstream =
      BuildNative(R"({"model": "qwq-plus", "messages": [{"role": "user",
          "content": "hi"}], "reasoning_effort": "none"})",
                  UnsupportedParams::kReject, &dropped);
  ASSERT_TRUE(upstream.ok()) << upstream.status();
  EXPECT_FALSE(
      json::parse(upstream->body)["parameters"].contains("enable_thinking"));
}

TEST(QwenRequest, CompatibleModeSendsTheOpenAiBodyStreamedWithUsage) {
  const std::string body = R"({"model": "qwen-plus",
    "messages": [{"role": "developer", "content": "Be brief."},
                 {"role": "user", "content": "hi"}],
    "frequency_penalty": 0.5, "user": "u-1", "logit_bias": {"1": 2}})";
  UpstreamRequest upstream = Build(body, QwenMode::kCompatible);
  EXPECT_EQ(upstream.path, "/proxy/compatible-mode/v1/chat/completions");
  EXPECT_EQ(upstream.headers.size(), 3u);
  EXPECT_EQ(Header(upstream, "Authorization"), "Bearer sk-provider");
  EXPECT_EQ(Header(upstream, "Accept"), "text/event-stream");
  EXPECT_EQ(Header(upstream, "X-DashScope-SSE"), "<missing>");
  json expected = ChatRequestToJson(Parse(body));
  expected["messages"][0]["role"] = "system";
  expected["stream"] = true;
  expected["stream_options"] = {{"include_usage", true}};
  EXPECT_EQ(json::parse(upstream.body), expected);
  EXPECT_EQ(json::parse(upstream.body)["logit_bias"], json({{"1", 2}}));
}

TEST(QwenRequest, MultimodalApiIsChosenByModelFamily) {
  for (const char* model :
       {"qwen-vl-max", "qwen-vl-plus-latest", "qwen2.5-vl-72b-instruct",
        "qwen-omni-turbo", "qwen3-omni-flash", "qvq-max", "qwen-audio-turbo"}) {
    EXPECT_TRUE(UsesMultimodalApi(model)) << model;
  }
  for (const char* model : {"qwen-max", "qwen-plus", "qwen3-235b-a22b",
                            "qwq-plus", "deepseek-r1"}) {
    EXPECT_FALSE(UsesMultimodalApi(model)) << model;
  }
}

}  // namespace
}  // namespace aigw
