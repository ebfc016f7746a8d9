#include "providers/gemini/gemini_request.h"

#include <gtest/gtest.h>

#include <string>

#include "providers/common/api_error.h"
#include "providers/common/openai_request_json.h"

namespace aigw {
namespace {

using nlohmann::json;

v1::ChatCompletionRequest Request(const std::string& openai_json) {
  absl::StatusOr<v1::ChatCompletionRequest> request =
      ParseChatRequest(openai_json);
  EXPECT_TRUE(request.ok()) << request.status();
  return request.ok() ? *request : v1::ChatCompletionRequest();
}

// Under `unsupported_params: drop`; `dropped` gets what was left out.
json Body(const std::string& openai_json,
          std::vector<std::string>* dropped = nullptr) {
  std::vector<std::string> local;
  ParamPolicy policy(UnsupportedParams::kDrop, dropped ? dropped : &local);
  absl::StatusOr<json> body = GeminiChatBody(Request(openai_json), policy);
  EXPECT_TRUE(body.ok()) << body.status();
  return body.ok() ? *body : json();
}

// The 400 a request gets under `unsupported_params: reject`, with the field
// it names.
void ExpectRejected(const std::string& openai_json, const std::string& param) {
  std::vector<std::string> dropped;
  ParamPolicy policy(UnsupportedParams::kReject, &dropped);
  absl::StatusOr<json> body = GeminiChatBody(Request(openai_json), policy);
  ASSERT_FALSE(body.ok()) << openai_json;
  EXPECT_EQ(body.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(GetErrorDetails(body.status()).http_status, 400);
  EXPECT_EQ(GetErrorDetails(body.status()).param, param) << body.status();
  EXPECT_NE(body.status().message().find(param), absl::string_view::npos)
      << body.status();
}

TEST(GeminiRequest, ConversationSystemAndSamplingTranslateExactly) {
  json body = Body(R"({
    "model": "gemini-2.5-flash",
    "messages": [
      {"role": "system", "content": "Be brief."},
      {"role": "developer", "content": [{"type": "text", "text": "Use French."}]},
      {"role": "user", "content": "Hello"},
      {"role": "user", "content": [{"type": "text", "text": "again"}]},
      {"role": "assistant", "content": "Bonjour", "reasoning_content": "Greet."},
      {"role": "user", "content": "Weather?"}],
    "temperature": 0.5, "top_p": 0.9, "max_tokens": 10,
    "max_completion_tokens": 100, "stop": ["END", "STOP"], "seed": 7, "n": 2,
    "presence_penalty": 0.25, "frequency_penalty": -0.5, "stream": true,
    "stream_options": {"include_usage": true}})");
  EXPECT_EQ(body, json::parse(R"({
    "systemInstruction": {"parts": [{"text": "Be brief."}, {"text": "Use French."}]},
    "contents": [
      {"role": "user", "parts": [{"text": "Hello"}, {"text": "again"}]},
      {"role": "model", "parts": [{"text": "Greet.", "thought": true},
                                  {"text": "Bonjour"}]},
      {"role": "user", "parts": [{"text": "Weather?"}]}],
    "generationConfig": {"temperature": 0.5, "topP": 0.9,
      "maxOutputTokens": 100, "stopSequences": ["END", "STOP"], "seed": 7,
      "candidateCount": 2, "presencePenalty": 0.25, "frequencyPenalty": -0.5}
  })"))
      << body.dump(2);
}

TEST(GeminiRequest, MaxTokensAloneAndSingleStopString) {
  json body = Body(R"({"model": "m", "max_tokens": 64, "stop": "\n\n",
    "messages": [{"role": "user", "content": "hi"}]})");
  EXPECT_EQ(
      body["generationConfig"],
      json::parse(R"({"maxOutputTokens": 64, "stopSequences": ["\n\n"]})"));
  EXPECT_FALSE(Body(R"({"model": "m",
    "messages": [{"role": "user", "content": "hi"}]})")
                   .contains("generationConfig"));
}

TEST(GeminiRequest, ToolsToolCallsAndResultsTranslateExactly) {
  json body = Body(R"({
    "model": "gemini-2.5-flash",
    "messages": [
      {"role": "user", "content": "Weather in Paris and Tokyo?"},
      {"role": "assistant", "content": "", "tool_calls": [
        {"id": "call_0", "type": "function", "function": {"name": "get_weather",
         "arguments": "{\"city\":\"Paris\"}"}},
        {"id": "call_1", "type": "function", "function": {"name": "get_weather",
         "arguments": "{\"city\":\"Tokyo\"}"}},
        {"id": "call_2", "type": "function", "function": {"name": "get_time",
         "arguments": ""}}]},
      {"role": "tool", "tool_call_id": "call_0", "content": "{\"temp\": 21}"},
      {"role": "tool", "tool_call_id": "call_1", "content": "rainy, 14 C"},
      {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "[1, 2]"}]},
      {"role": "user", "content": "Thanks!"}],
    "tools": [
      {"type": "function", "function": {"name": "get_weather",
        "description": "Current weather", "parameters": {"type": "object",
        "properties": {"city": {"type": "string"}}, "required": ["city"]}}},
      {"type": "function", "function": {"name": "get_time"}}],
    "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
    "parallel_tool_calls": true})");
  EXPECT_EQ(body, json::parse(R"({
    "contents": [
      {"role": "user", "parts": [{"text": "Weather in Paris and Tokyo?"}]},
      {"role": "model", "parts": [
        {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}},
         "thoughtSignature": "skip_thought_signature_validator"},
        {"functionCall": {"name": "get_weather", "args": {"city": "Tokyo"}}},
        {"functionCall": {"name": "get_time", "args": {}}}]},
      {"role": "user", "parts": [
        {"functionResponse": {"name": "get_weather", "response": {"temp": 21}}},
        {"functionResponse": {"name": "get_weather",
                              "response": {"content": "rainy, 14 C"}}},
        {"functionResponse": {"name": "get_time",
                              "response": {"content": "[1, 2]"}}},
        {"text": "Thanks!"}]}],
    "tools": [{"functionDeclarations": [
      {"name": "get_weather", "description": "Current weather",
       "parametersJsonSchema": {"type": "object",
         "properties": {"city": {"type": "string"}}, "required": ["city"]}},
      {"name": "get_time"}]}],
    "toolConfig": {"functionCallingConfig": {"mode": "ANY",
                   "allowedFunctionNames": ["get_weather"]}}
  })"))
      << body.dump(2);
}

TEST(GeminiRequest, ToolChoiceModes) {
  const std::pair<const char*, const char*> cases[] = {
      {"auto", "AUTO"}, {"required", "ANY"}, {"none", "NONE"}};
  for (const auto& [openai, gemini] : cases) {
    json body =
        Body(std::string(R"({"model": "m", "tool_choice": ")") + openai +
             R"(", "tools": [{"type": "function", "function": {"name": "f"}}],
                     "messages": [{"role": "user", "content": "hi"}]})");
    EXPECT_EQ(body["toolConfig"],
              json({{"functionCallingConfig", {{"mode", gemini}}}}))
        << openai;
  }
}

TEST(GeminiRequest, ToolResultNamesComeFromTheLatestCallWithThatIdOrItsName) {
  json body = Body(R"({"model": "m", "messages": [
    {"role": "user", "content": "go"},
    {"role": "assistant", "tool_calls": [{"id": "call_0", "type": "function",
      "function": {"name": "first", "arguments": "{}"}}]},
    {"role": "tool", "tool_call_id": "call_0", "content": "1"},
    {"role": "assistant", "tool_calls": [{"id": "call_0", "type": "function",
      "function": {"name": "second", "arguments": "{}"}}]},
    {"role": "tool", "tool_call_id": "call_0", "content": "2"},
    {"role": "function", "name": "legacy", "content": "{\"ok\": true}"}]})");
  const json& contents = body["contents"];
  ASSERT_EQ(contents.size(), 5u);
  EXPECT_EQ(contents[2]["parts"][0]["functionResponse"]["name"], "first");
  EXPECT_EQ(contents[4]["parts"][0]["functionResponse"]["name"], "second");
  EXPECT_EQ(contents[4]["parts"][1],
            json::parse(R"({"functionResponse": {"name": "legacy",
                            "response": {"ok": true}}})"));
}

TEST(GeminiRequest, ImagesBecomeInlineDataOrFileData) {
  json body = Body(R"({"model": "m", "messages": [{"role": "user", "content": [
    {"type": "text", "text": "Compare"},
    {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
    {"type": "image_url", "image_url": {"url": "https://example.com/a/cat.WEBP?x=1.png#f", "detail": "auto"}},
    {"type": "image_url", "image_url": {"url": "https://example.com/photo"}}]}]})");
  EXPECT_EQ(body["contents"][0]["parts"], json::parse(R"([
    {"text": "Compare"},
    {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}},
    {"fileData": {"mimeType": "image/webp",
                  "fileUri": "https://example.com/a/cat.WEBP?x=1.png#f"}},
    {"fileData": {"mimeType": "image/jpeg", "fileUri": "https://example.com/photo"}}
  ])"));
}

TEST(GeminiRequest, JsonModeAndJsonSchema) {
  EXPECT_EQ(Body(R"({"model": "m", "response_format": {"type": "json_object"},
                     "messages": [{"role": "user", "content": "hi"}]})")
                ["generationConfig"],
            json::parse(R"({"responseMimeType": "application/json"})"));
  EXPECT_EQ(Body(R"({"model": "m", "response_format": {"type": "json_schema",
                     "json_schema": {"name": "answer", "strict": true, "schema":
                     {"type": "object", "properties": {"n": {"type": "integer"}}}}},
                     "messages": [{"role": "user", "content": "hi"}]})")
                ["generationConfig"],
            json::parse(R"({"responseMimeType": "application/json",
              "responseJsonSchema": {"type": "object",
                                 "properties": {"n": {"type": "integer"}}}})"));
  EXPECT_FALSE(Body(R"({"model": "m", "response_format": {"type": "text"},
                        "messages": [{"role": "user", "content": "hi"}]})")
                   .contains("generationConfig"));
}

TEST(GeminiRequest, WhatGeminiCannotExpressIsA400NamingTheField) {
  const std::string user = R"({"role": "user", "content": "hi"})";
  auto with = [&](const std::string& fields) {
    return R"({"model": "m", "messages": [)" + user + "], " + fields + "}";
  };
  ExpectRejected(with(R"("logit_bias": {"5": 1})"), "logit_bias");
  ExpectRejected(with(R"("parallel_tool_calls": false)"),
                 "parallel_tool_calls");
  ExpectRejected(with(R"("seed": 99999999999)"), "seed");
  ExpectRejected(with(R"("tools": [{"type": "function", "function":
      {"name": "f", "strict": true}}])"),
                 "tools[0].function.strict");
  ExpectRejected(with(R"("tools": [{"type": "web_search"}])"), "tools[0].type");
  ExpectRejected(
      with(R"("tools": [{"type": "function", "function": {"name": "f"},
      "cache_control": {}}])"),
      "tools[0].cache_control");
  ExpectRejected(with(R"("tool_choice": "sometimes")"), "tool_choice");
  ExpectRejected(with(R"("response_format": {"type": "yaml"})"),
                 "response_format.type");
  ExpectRejected(R"({"model": "m", "messages": [
      {"role": "user", "content": "hi", "function_call": {"name": "f"}}]})",
                 "messages[0].function_call");
  ExpectRejected(R"({"model": "m", "messages": [{"role": "user", "content": [
      {"type": "input_audio", "input_audio": {"data": "AA==", "format": "wav"}}]}]})",
                 "messages[0].content[0].type");
  ExpectRejected(R"({"model": "m", "messages": [{"role": "user", "content": [
      {"type": "image_url", "image_url": {"url": "https://x/a.png", "detail": "high"}}]}]})",
                 "messages[0].content[0].image_url.detail");
  ExpectRejected(R"({"model": "m", "messages": [{"role": "user", "content": [
      {"type": "image_url", "image_url": {"url": "ftp://x/a.png"}}]}]})",
                 "messages[0].content[0].image_url.url");
  ExpectRejected(R"({"model": "m", "messages": [{"role": "user", "content": [
      {"type": "image_url", "image_url": {"url": "data:image/png,rawbytes"}}]}]})",
                 "messages[0].content[0].image_url.url");
  ExpectRejected(R"({"model": "m", "messages": [{"role": "system", "content": [
      {"type": "image_url", "image_url": {"url": "https://x/a.png"}}]}, )" +
                     user + "]}",
                 "messages[0].content[0].type");
  ExpectRejected(R"({"model": "m", "messages": [)" + user + R"(,
      {"role": "assistant", "tool_calls": [{"id": "c", "type": "function",
       "function": {"name": "f", "arguments": "{not json"}}]}]})",
                 "messages[1].tool_calls[0].function.arguments");
  ExpectRejected(R"({"model": "m", "messages": [)" + user + R"(,
      {"role": "assistant", "tool_calls": [{"id": "c", "type": "function",
       "function": {"name": "f", "arguments": "[1]"}}]}]})",
                 "messages[1].tool_calls[0].function.arguments");
  ExpectRejected(R"({"model": "m", "messages": [)" + user + R"(,
      {"role": "tool", "tool_call_id": "nowhere", "content": "x"}]})",
                 "messages[1].tool_call_id");
  ExpectRejected(R"({"model": "m", "messages": [
      {"role": "system", "content": "only instructions"}]})",
                 "messages");
}

TEST(GeminiRequest, DropPolicyLeavesFieldsOutAndNamesThem) {
  std::vector<std::string> dropped;
  json body = Body(R"({"model": "m", "messages": [
      {"role": "user", "content": [{"type": "image_url",
        "image_url": {"url": "https://x/a.png", "detail": "high"}}]}],
      "seed": 99999999999, "parallel_tool_calls": false,
      "tools": [{"type": "function", "function": {"name": "f",
        "parameters": {"type": "object"}, "strict": true}}]})",
                   &dropped);
  EXPECT_EQ(dropped,
            (std::vector<std::string>{"messages[*].content[*].image_url.detail",
                                      "tools[*].function.strict",
                                      "parallel_tool_calls", "seed"}));
  // The strict tool's schema is still sent; the image too.
  EXPECT_EQ(body["tools"][0]["functionDeclarations"][0]["parametersJsonSchema"],
            json::parse(R"({"type": "object"})"));
  EXPECT_EQ(body["contents"][0]["parts"][0]["fileData"]["fileUri"],
            "https://x/a.png");
  EXPECT_FALSE(body.contains("generationConfig"));
}

// NextChat's defaults, informational fields and SDK history bookkeeping:
// accepted even under reject, nothing reported, neutral values left out.
TEST(GeminiRequest, NeutralInformationalAndHistoryFieldsAccepted) {
  const std::string request = R"({"model": "m", "stream": true,
      "messages": [{"role": "user", "content": "hi", "name": "bob"},
        {"role": "assistant", "content": "yo", "refusal": null,
         "annotations": [], "audio": null, "function_call": null,
         "parsed": null, "tool_calls": []},
        {"role": "user", "content": "more"}],
      "temperature": 0.5, "presence_penalty": 0, "frequency_penalty": 0,
      "top_p": 1, "n": 1, "logprobs": false, "top_logprobs": 0,
      "logit_bias": {}, "user": "u-1", "metadata": {"a": "b"},
      "store": true, "service_tier": "auto", "parallel_tool_calls": true})";
  std::vector<std::string> dropped;
  ParamPolicy reject(UnsupportedParams::kReject, &dropped);
  absl::StatusOr<json> body = GeminiChatBody(Request(request), reject);
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_TRUE(dropped.empty());
  EXPECT_EQ((*body)["generationConfig"],
            json::parse(R"({"temperature": 0.5, "topP": 1})"));
}

TEST(GeminiRequest, ReasoningEffortAndLogprobsMapped) {
  json body = Body(R"({"model": "m", "messages": [
      {"role": "user", "content": "hi"}], "reasoning_effort": "medium",
      "logprobs": true, "top_logprobs": 3})");
  EXPECT_EQ(body["generationConfig"], json::parse(R"({
      "thinkingConfig": {"thinkingBudget": 8192},
      "responseLogprobs": true, "logprobs": 3})"));
  ExpectRejected(R"({"model": "m", "messages": [
      {"role": "user", "content": "hi"}], "reasoning_effort": "huge"})",
                 "reasoning_effort");
  auto thinking = [](const std::string& model, const std::string& effort) {
    return Body(R"({"model": ")" + model +
                R"(", "messages": [{"role": "user", "content": "hi"}],
                "reasoning_effort": ")" +
                effort + R"("})")["generationConfig"]["thinkingConfig"];
  };
  // Only Flash models can turn thinking off; minimal is the lowest budget
  // every 2.5 model takes; Gemini 3 has levels.
  EXPECT_EQ(thinking("gemini-2.5-flash", "none"),
            json::parse(R"({"thinkingBudget": 0})"));
  EXPECT_TRUE(thinking("gemini-2.5-pro", "none").is_null());
  EXPECT_EQ(thinking("gemini-2.5-pro", "minimal"),
            json::parse(R"({"thinkingBudget": 512})"));
  EXPECT_EQ(thinking("gemini-2.5-pro", "xhigh"),
            json::parse(R"({"thinkingBudget": 24576})"));
  EXPECT_EQ(thinking("gemini-3-pro-preview", "low"),
            json::parse(R"({"thinkingLevel": "low"})"));
  EXPECT_EQ(thinking("gemini-3-pro-preview", "high"),
            json::parse(R"({"thinkingLevel": "high"})"));
}

// An Anthropic client's thinking budget: Gemini 2.5's own unit, Gemini 3's
// nearest level; the thoughts come back as the client asked for thinking.
TEST(GeminiRequest, BudgetTokensBecomeThinkingConfig) {
  auto thinking = [](const std::string& model, int budget) {
    v1::ChatCompletionRequest request = Request(R"({"model": ")" + model +
                                                R"(", "messages": [
        {"role": "user", "content": "hi"}]})");
    request.set_reasoning_budget_tokens(budget);
    std::vector<std::string> dropped;
    ParamPolicy policy(UnsupportedParams::kReject, &dropped);
    absl::StatusOr<json> body = GeminiChatBody(request, policy);
    EXPECT_TRUE(body.ok()) << body.status();
    return body.ok() ? (*body)["generationConfig"]["thinkingConfig"] : json();
  };
  EXPECT_EQ(thinking("gemini-2.5-flash", 3000), json::parse(R"(
      {"thinkingBudget": 3000, "includeThoughts": true})"));
  EXPECT_EQ(thinking("gemini-2.5-flash", 0),
            json::parse(R"({"thinkingBudget": 0})"));
  EXPECT_EQ(thinking("gemini-3-pro-preview", 16000), json::parse(R"(
      {"thinkingLevel": "high", "includeThoughts": true})"));
}

// Adaptive thinking (the model decides) is Gemini's dynamic thinking.
TEST(GeminiRequest, AdaptiveThinkingIsDynamic) {
  auto thinking = [](const std::string& model) {
    v1::ChatCompletionRequest request = Request(R"({"model": ")" + model +
                                                R"(", "messages": [
        {"role": "user", "content": "hi"}]})");
    request.set_reasoning_budget_tokens(8192);
    request.set_reasoning_adaptive(true);
    std::vector<std::string> dropped;
    ParamPolicy policy(UnsupportedParams::kReject, &dropped);
    absl::StatusOr<json> body = GeminiChatBody(request, policy);
    EXPECT_TRUE(body.ok()) << body.status();
    return body.ok() ? (*body)["generationConfig"]["thinkingConfig"] : json();
  };
  EXPECT_EQ(thinking("gemini-2.5-pro"), json::parse(R"(
      {"thinkingBudget": -1, "includeThoughts": true})"));
  EXPECT_EQ(thinking("gemini-3-pro-preview"),
            json::parse(R"({"includeThoughts": true})"));
}

TEST(GeminiRequest, PathsAndHeadersCarryOnlyTheProviderKey) {
  v1::ChatCompletionRequest request = Request(
      R"({"model": "gemini-2.0-flash", "messages": [{"role": "user", "content": "hi"}]})");
  GeminiEndpoint endpoint{"/proxy", "v1beta"};
  std::vector<std::string> dropped;
  ParamPolicy policy(UnsupportedParams::kReject, &dropped);
  absl::StatusOr<UpstreamRequest> stream =
      GeminiChatRequest(request, endpoint, "AIza-key", true, policy);
  ASSERT_TRUE(stream.ok()) << stream.status();
  EXPECT_EQ(stream->method, "POST");
  EXPECT_EQ(
      stream->path,
      "/proxy/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse");
  HeaderMap expected = {{"x-goog-api-key", "AIza-key"},
                        {"Content-Type", "application/json"},
                        {"Accept", "text/event-stream"}};
  EXPECT_EQ(stream->headers, expected);
  EXPECT_EQ(
      json::parse(stream->body),
      json::parse(
          R"({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]})"));

  absl::StatusOr<UpstreamRequest> whole =
      GeminiChatRequest(request, GeminiEndpoint{"", "v1"}, "k2", false, policy);
  ASSERT_TRUE(whole.ok());
  EXPECT_EQ(whole->path, "/v1/models/gemini-2.0-flash:generateContent");
  EXPECT_EQ(whole->headers.count("Accept"), 0u);
  EXPECT_EQ(whole->headers.count("Authorization"), 0u);
}

TEST(GeminiRequest, ModelNamesAreResourceNamesOrRejected) {
  EXPECT_EQ(*GeminiModelResource("gemini-2.5-flash-preview-05-20"),
            "models/gemini-2.5-flash-preview-05-20");
  EXPECT_EQ(*GeminiModelResource("models/gemini-pro"), "models/gemini-pro");
  EXPECT_EQ(*GeminiModelResource("tunedModels/my-model-1"),
            "tunedModels/my-model-1");
  for (const char* bad : {"", "../files/x", "a/b", "m:generateContent",
                          "m?key=1", "models/", "-x", "m#f", "m%2F"}) {
    absl::StatusOr<std::string> r = GeminiModelResource(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) EXPECT_EQ(GetErrorDetails(r.status()).param, "model");
  }
}

}  // namespace
}  // namespace aigw
