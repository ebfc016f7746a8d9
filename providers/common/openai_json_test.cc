#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "providers/common/api_error.h"
#include "providers/common/openai_request_json.h"
#include "providers/common/openai_response_json.h"

namespace aigw {
namespace {

using nlohmann::json;

TEST(OpenAiRequestJson, RoundTripKeepsEveryField) {
  json in = json::parse(R"({
    "model": "gpt-4o",
    "messages": [
      {"role": "system", "content": "be brief"},
      {"role": "user", "name": "ann", "content": [
        {"type": "text", "text": "what is this?"},
        {"type": "image_url", "image_url": {"url": "https://x/y.png", "detail": "low"}},
        {"type": "input_audio", "input_audio": {"data": "AAA", "format": "wav"}}
      ]},
      {"role": "assistant", "content": null, "tool_calls": [
        {"id": "call_1", "type": "function",
         "function": {"name": "f", "arguments": "{\"a\":1}"}}]},
      {"role": "tool", "tool_call_id": "call_1", "content": "42"}
    ],
    "stream": true,
    "stream_options": {"include_usage": true},
    "temperature": 0.5, "top_p": 0.9, "n": 2, "stop": ["x", "y"],
    "max_tokens": 10, "max_completion_tokens": 20, "seed": 7,
    "presence_penalty": 0.1, "frequency_penalty": 0.2, "user": "u1",
    "tools": [{"type": "function", "function": {"name": "f",
               "description": "d", "parameters": {"type": "object"},
               "strict": true}}],
    "tool_choice": {"type": "function", "function": {"name": "f"}},
    "response_format": {"type": "json_schema", "json_schema": {
        "name": "s", "schema": {"type": "object"}, "strict": true}},
    "parallel_tool_calls": false,
    "logit_bias": {"50256": -100},
    "metadata": {"k": "v"},
    "foo_custom": [1, "two", null, 3.5]
  })");
  absl::StatusOr<v1::ChatCompletionRequest> request = ChatRequestFromJson(in);
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->messages(1).parts_size(), 3);
  EXPECT_EQ(request->messages(1).parts(1).image_url().detail(), "low");
  EXPECT_EQ(request->extra().fields().size(), 3u);

  json out = ChatRequestToJson(*request);
  // The assistant message keeps its explicit null content; everything else
  // must come back exactly as sent.
  EXPECT_EQ(out, in) << out.dump(2);
}

TEST(OpenAiRequestJson, PassthroughFieldsSurvive) {
  absl::StatusOr<v1::ChatCompletionRequest> request = ParseChatRequest(
      R"({"model":"m","messages":[{"role":"user","content":"hi","x_msg":1}],
          "reasoning_effort":"low","top_logprobs":3})");
  ASSERT_TRUE(request.ok());
  json out = ChatRequestToJson(*request);
  EXPECT_EQ(out["reasoning_effort"], "low");
  EXPECT_EQ(out["top_logprobs"], 3);
  EXPECT_TRUE(out["top_logprobs"].is_number_integer());
  EXPECT_EQ(out["messages"][0]["x_msg"], 1);
}

// An Anthropic client's thinking budget as the nearest effort level; an
// explicit reasoning_effort wins, and a budget of 0 sends nothing.
TEST(OpenAiRequestJson, BudgetTokensBecomeAnEffortLevel) {
  absl::StatusOr<v1::ChatCompletionRequest> request = ParseChatRequest(
      R"({"model":"o4-mini","messages":[{"role":"user","content":"hi"}]})");
  ASSERT_TRUE(request.ok());
  request->set_reasoning_budget_tokens(1024);
  EXPECT_EQ(ChatRequestToJson(*request)["reasoning_effort"], "low");
  request->set_reasoning_budget_tokens(8000);
  EXPECT_EQ(ChatRequestToJson(*request)["reasoning_effort"], "medium");
  request->set_reasoning_budget_tokens(30000);
  EXPECT_EQ(ChatRequestToJson(*request)["reasoning_effort"], "high");
  request->set_reasoning_budget_tokens(0);
  EXPECT_FALSE(ChatRequestToJson(*request).contains("reasoning_effort"));
}

// Chat models reject reasoning_effort: a budget is dropped for them.
TEST(OpenAiRequestJson, BudgetTokensAreDroppedForChatModels) {
  for (const char* model : {"gpt-4o", "deepseek-chat", "llama3", "qwen-plus",
                            "omni-moderation", "o", "gpt-5-chat-latest"}) {
    v1::ChatCompletionRequest request;
    request.set_model(model);
    request.set_reasoning_budget_tokens(4096);
    EXPECT_FALSE(ChatRequestToJson(request).contains("reasoning_effort"))
        << model;
  }
  for (const char* model :
       {"o1", "o3-mini", "gpt-5", "gpt-5-mini", "gpt-oss-20b"}) {
    v1::ChatCompletionRequest request;
    request.set_model(model);
    request.set_reasoning_budget_tokens(4096);
    EXPECT_EQ(ChatRequestToJson(request)["reasoning_effort"], "medium")
        << model;
  }
}

TEST(OpenAiRequestJson, SingleStopStringIsKept) {
  auto request = ParseChatRequest(
      R"({"model":"m","messages":[{"role":"user","content":"hi"}],"stop":"END"})");
  ASSERT_TRUE(request.ok());
  EXPECT_EQ(ChatRequestToJson(*request)["stop"], "END");
}

struct BadRequestCase {
  const char* body;
  const char* param;
};

class OpenAiRequestJsonErrors
    : public ::testing::TestWithParam<BadRequestCase> {};

TEST_P(OpenAiRequestJsonErrors, WrongTypesAre400NamingTheField) {
  absl::StatusOr<v1::ChatCompletionRequest> request =
      ParseChatRequest(GetParam().body);
  ASSERT_FALSE(request.ok());
  ErrorDetails details = GetErrorDetails(request.status());
  EXPECT_EQ(details.http_status, 400);
  EXPECT_EQ(details.type, "invalid_request_error");
  EXPECT_EQ(details.param, GetParam().param) << request.status();
}

INSTANTIATE_TEST_SUITE_P(
    BadBodies, OpenAiRequestJsonErrors,
    ::testing::Values(
        BadRequestCase{"{not json", ""}, BadRequestCase{"[1,2]", ""},
        BadRequestCase{R"({"model":5,"messages":[]})", "model"},
        BadRequestCase{R"({"model":"m","messages":"hi"})", "messages"},
        BadRequestCase{R"({"model":"m","messages":[5]})", "messages[0]"},
        BadRequestCase{R"({"model":"m","messages":[{"role":1}]})",
                       "messages[0].role"},
        BadRequestCase{
            R"({"model":"m","messages":[{"role":"user","content":7}]})",
            "messages[0].content"},
        BadRequestCase{R"({"model":"m","messages":[],"temperature":"hot"})",
                       "temperature"},
        BadRequestCase{R"({"model":"m","messages":[],"max_tokens":1.5})",
                       "max_tokens"},
        BadRequestCase{R"({"model":"m","messages":[],"stream":"yes"})",
                       "stream"},
        BadRequestCase{R"({"model":"m","messages":[],"stop":[1]})", "stop[0]"},
        BadRequestCase{R"({"model":"m","messages":[],"tools":{}})", "tools"},
        BadRequestCase{R"({"model":"m","messages":[],"tool_choice":3})",
                       "tool_choice"}));

TEST(OpenAiResponseJson, ChunkRoundTrip) {
  json in = json::parse(R"({"id":"c1","object":"chat.completion.chunk",
    "created":5,"model":"m","choices":[{"index":0,"delta":{"role":"assistant",
    "content":"hi","tool_calls":[{"index":1,"id":"call_9","type":"function",
    "function":{"name":"f","arguments":"{\"a"}}]},"logprobs":null,
    "finish_reason":null}],"obfuscation":"xx"})");
  absl::StatusOr<v1::ChatCompletionChunk> chunk = ChatChunkFromJson(in);
  ASSERT_TRUE(chunk.ok()) << chunk.status();
  EXPECT_EQ(chunk->choices(0).delta().tool_calls(0).index(), 1);
  json out = json::parse(ChatChunkToJsonString(*chunk));
  EXPECT_EQ(out["choices"], in["choices"]);
  EXPECT_EQ(out["id"], "c1");
  EXPECT_FALSE(out.contains("usage"));
}

TEST(OpenAiResponseJson, UsageDetailsRoundTrip) {
  json usage = json::parse(R"({"prompt_tokens":10,"completion_tokens":5,
    "total_tokens":15,"prompt_tokens_details":{"cached_tokens":4,
    "audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":3,
    "audio_tokens":0,"accepted_prediction_tokens":0,
    "rejected_prediction_tokens":0}})");
  absl::StatusOr<v1::Usage> parsed = UsageFromJson(usage);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->prompt_tokens_details().cached_tokens(), 4);
  EXPECT_EQ(parsed->completion_tokens_details().reasoning_tokens(), 3);
  EXPECT_EQ(UsageToJson(*parsed), usage);
}

TEST(OpenAiResponseJson, CompletionWithToolCalls) {
  json in = json::parse(R"({"id":"x","object":"chat.completion","created":1,
    "model":"m","choices":[{"index":0,"message":{"role":"assistant",
    "content":null,"tool_calls":[{"id":"call_1","type":"function",
    "function":{"name":"f","arguments":"{}"}}]},"finish_reason":"tool_calls"}],
    "usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}})");
  absl::StatusOr<v1::ChatCompletion> completion = ChatCompletionFromJson(in);
  ASSERT_TRUE(completion.ok());
  json out = ChatCompletionToJson(*completion);
  EXPECT_EQ(out["choices"][0]["message"]["tool_calls"],
            in["choices"][0]["message"]["tool_calls"]);
  EXPECT_TRUE(out["choices"][0]["message"]["content"].is_null());
  EXPECT_EQ(out["choices"][0]["finish_reason"], "tool_calls");
  EXPECT_EQ(out["usage"]["total_tokens"], 3);
}

TEST(ApiError, UpstreamErrorsKeepStatusAndMessage) {
  absl::Status status = StatusFromUpstreamHttp(
      400,
      R"({"error":{"message":"bad max_tokens","type":"invalid_request_error","param":"max_tokens","code":"unsupported_parameter"}})");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  json body = json::parse(ErrorBodyJson(status));
  EXPECT_EQ(body["error"]["message"], "bad max_tokens");
  EXPECT_EQ(body["error"]["param"], "max_tokens");
  EXPECT_EQ(body["error"]["code"], "unsupported_parameter");
  EXPECT_EQ(GetErrorDetails(status).http_status, 400);

  absl::Status server = StatusFromUpstreamHttp(503, "overloaded");
  EXPECT_EQ(server.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(GetErrorDetails(server).http_status, 502);
  EXPECT_EQ(StatusFromUpstreamHttp(429, "{}").code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(StatusFromUpstreamHttp(401, "{}").code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(ApiError, SseErrorBodyIsReadFromItsFirstDataLine) {
  // DashScope's answer to a failed streaming request.
  const std::string body =
      "id:1\r\nevent:error\r\n:HTTP_STATUS/401\r\ndata:{\"code\":"
      "\"InvalidApiKey\",\"message\":\"Invalid API-key provided.\","
      "\"request_id\":\"r2\"}\r\n\r\ndata: {\"message\":\"second\"}\n\n";
  absl::Status status = StatusFromUpstreamHttp(401, body);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(status.message(), "Invalid API-key provided.");
  EXPECT_EQ(GetErrorDetails(status).http_status, 401);
  EXPECT_EQ(GetErrorDetails(status).code, "InvalidApiKey");

  // With a space after "data:", an OpenAI-shaped error, a 5xx prefix.
  status = StatusFromUpstreamHttp(
      503, "event: error\ndata: {\"error\":{\"message\":\"busy\"}}\n\n");
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(status.message(), "upstream error (HTTP 503): busy");
  EXPECT_EQ(GetErrorDetails(status).http_status, 502);

  // A data line that is not JSON leaves the body as the message.
  status = StatusFromUpstreamHttp(400, "data: oops\n\n");
  EXPECT_EQ(status.message(), "data: oops\n\n");
}

TEST(ApiError, RedactSecretsRemovesKeysAndKeepsDetails) {
  absl::Status status = StatusFromUpstreamHttp(
      401,
      R"({"error":{"message":"Incorrect API key provided: sk-secret-123."}})");
  absl::Status redacted = RedactSecrets(status, {"sk-secret-123"});
  EXPECT_EQ(std::string(redacted.message()),
            "Incorrect API key provided: [redacted].");
  EXPECT_EQ(GetErrorDetails(redacted).http_status, 401);
  EXPECT_EQ(ErrorBodyJson(redacted).find("sk-secret"), std::string::npos);
}

TEST(OpenAiResponseJson, LogprobsAndAnnotationsReachTheClient) {
  json in = json::parse(R"({"id":"c1","object":"chat.completion.chunk",
    "created":5,"model":"m","choices":[{"index":0,"delta":{"content":"Hi",
    "annotations":[{"type":"url_citation","url_citation":{"url":"https://x",
    "title":"X","start_index":0,"end_index":2}}]},
    "logprobs":{"content":[{"token":"Hi","logprob":-0.5,"bytes":[72,105],
    "top_logprobs":[]}],"refusal":null},"finish_reason":null}]})");
  absl::StatusOr<v1::ChatCompletionChunk> chunk = ChatChunkFromJson(in);
  ASSERT_TRUE(chunk.ok()) << chunk.status();
  json out = json::parse(ChatChunkToJsonString(*chunk));
  EXPECT_EQ(out["choices"][0]["logprobs"], in["choices"][0]["logprobs"]);
  EXPECT_EQ(out["choices"][0]["delta"]["annotations"],
            in["choices"][0]["delta"]["annotations"]);

  json whole = json::parse(R"({"id":"c","object":"chat.completion",
    "created":1,"model":"m","choices":[{"index":0,"message":{"role":
    "assistant","content":"Hi"},"logprobs":{"content":[{"token":"Hi",
    "logprob":-0.5,"bytes":[72,105],"top_logprobs":[]}],"refusal":null},
    "finish_reason":"stop"}]})");
  absl::StatusOr<v1::ChatCompletion> completion = ChatCompletionFromJson(whole);
  ASSERT_TRUE(completion.ok());
  EXPECT_EQ(ChatCompletionToJson(*completion)["choices"][0]["logprobs"],
            whole["choices"][0]["logprobs"]);
  // Without logprobs the field is null, as OpenAI sends it.
  v1::ChatCompletion plain;
  plain.add_choices();
  EXPECT_TRUE(ChatCompletionToJson(plain)["choices"][0]["logprobs"].is_null());
}

TEST(OpenAiResponseJson, PresetCachedTokenExtensions) {
  // Moonshot: usage.cached_tokens; DeepSeek: prompt_cache_hit_tokens.
  absl::StatusOr<v1::Usage> moonshot = UsageFromJson(json::parse(
      R"({"prompt_tokens":10,"completion_tokens":2,"total_tokens":12,
          "cached_tokens":8})"));
  ASSERT_TRUE(moonshot.ok());
  EXPECT_EQ(moonshot->prompt_tokens_details().cached_tokens(), 8);
  absl::StatusOr<v1::Usage> deepseek = UsageFromJson(json::parse(
      R"({"prompt_tokens":10,"completion_tokens":2,"total_tokens":12,
          "prompt_cache_hit_tokens":6,"prompt_cache_miss_tokens":4})"));
  ASSERT_TRUE(deepseek.ok());
  EXPECT_EQ(deepseek->prompt_tokens_details().cached_tokens(), 6);
  absl::StatusOr<v1::Usage> openai = UsageFromJson(json::parse(
      R"({"prompt_tokens":10,"prompt_tokens_details":{"cached_tokens":3}})"));
  ASSERT_TRUE(openai.ok());
  EXPECT_EQ(openai->prompt_tokens_details().cached_tokens(), 3);
}

// A redirect is an upstream failure: never relayed (it would send the
// client elsewhere), never followed.
TEST(ApiError, UpstreamRedirectIs502) {
  absl::Status status = StatusFromUpstreamHttp(302, "<a href=x>moved</a>");
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(GetErrorDetails(status).http_status, 502);
  EXPECT_EQ(GetErrorDetails(status).type, "upstream_error");
}

// An upstream that echoes the key in type, code or param gives it away as
// surely as in the message.
TEST(ApiError, SecretsRedactedInEveryField) {
  const std::string key = "sk-provider-secret-123";
  absl::Status status = StatusFromUpstreamHttp(
      400, R"({"error":{"message":"bad key sk-provider-secret-123",
      "type":"sk-provider-secret-123","param":"x-sk-provider-secret-123",
      "code":"key_sk-provider-secret-123"}})");
  absl::Status redacted = RedactSecrets(status, {key});
  std::string body = ErrorBodyJson(redacted);
  EXPECT_EQ(body.find(key), std::string::npos) << body;
  EXPECT_NE(body.find("[redacted]"), std::string::npos);
  EXPECT_EQ(GetErrorDetails(redacted).http_status, 400);
}

// A plain-text error is cut at 512 bytes; a key straddling the cut must
// not show its first part.
TEST(ApiError, SecretCutByTheMessageLimitIsRedacted) {
  const std::string key = "sk-provider-secret-0123456789abcdef";
  std::string body(500, 'x');
  body += key + " trailing text";
  absl::Status redacted =
      RedactSecrets(StatusFromUpstreamHttp(502, body), {key});
  EXPECT_EQ(redacted.message().find("sk-provider"), absl::string_view::npos)
      << redacted.message();
  EXPECT_TRUE(absl::EndsWith(redacted.message(), "[redacted]"));
}

// A key that appears in the replacement text cannot loop the redaction.
TEST(ApiError, SecretInsideTheReplacementTerminates) {
  absl::Status redacted = RedactSecrets(
      StatusFromUpstreamHttp(401, R"({"error":{"message":"bad redacted"}})"),
      {"redacted"});
  EXPECT_EQ(redacted.message(), "bad [redacted]");
}

}  // namespace
}  // namespace aigw
