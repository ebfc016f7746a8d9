#include <map>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "providers/common/api_error.h"
#include "providers/common/reasoning_blocks.h"
#include "re2/re2.h"
#include "server/codecs/anthropic/messages_request.h"
#include "server/codecs/anthropic/messages_response.h"

namespace aigw::anthropic {
namespace {

using nlohmann::json;

TEST(MessagesRequestTest, AToolConversationKeepsIdsAndArguments) {
  absl::StatusOr<v1::ChatCompletionRequest> request = ParseMessagesRequest(R"({
    "model": "claude-sonnet-4", "max_tokens": 256, "system": [{"type":"text","text":"Be brief."}],
    "tools": [{"name":"get_weather","description":"Weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}}}}],
    "tool_choice": {"type":"any","disable_parallel_tool_use":true},
    "stop_sequences": ["END"], "temperature": 0.2, "top_k": 5, "metadata": {"user_id": "u1"},
    "messages": [
      {"role":"user","content":"Weather in Paris?"},
      {"role":"assistant","content":[{"type":"thinking","thinking":"Use the tool.","signature":"sig"},
        {"type":"text","text":"Checking."},
        {"type":"tool_use","id":"toolu_01","name":"get_weather","input":{"city":"Paris"}}]},
      {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_01","content":[{"type":"text","text":"18C"}]},
        {"type":"text","text":"And tomorrow?"}]}
    ]})");
  ASSERT_TRUE(request.ok()) << request.status();
  ASSERT_EQ(request->messages_size(), 5);
  EXPECT_EQ(request->messages(0).role(), "system");
  EXPECT_EQ(request->messages(0).content(), "Be brief.");
  const v1::Message& assistant = request->messages(2);
  EXPECT_EQ(assistant.role(), "assistant");
  EXPECT_EQ(assistant.content(), "Checking.");
  EXPECT_EQ(assistant.reasoning_content(), "Use the tool.");
  EXPECT_EQ(assistant.reasoning_signature(), "sig");
  ASSERT_EQ(assistant.tool_calls_size(), 1);
  EXPECT_EQ(assistant.tool_calls(0).id(), "toolu_01");
  EXPECT_EQ(assistant.tool_calls(0).function().arguments(),
            R"({"city":"Paris"})");
  EXPECT_EQ(request->messages(3).role(), "tool");
  EXPECT_EQ(request->messages(3).tool_call_id(), "toolu_01");
  EXPECT_EQ(request->messages(3).content(), "18C");
  EXPECT_EQ(request->messages(4).content(), "And tomorrow?");
  EXPECT_EQ(request->max_tokens(), 256);
  EXPECT_EQ(request->tool_choice().mode(), "required");
  EXPECT_FALSE(request->parallel_tool_calls());
  EXPECT_EQ(request->stop(0), "END");
  EXPECT_EQ(request->user(), "u1");
  EXPECT_EQ(request->tools(0).function().name(), "get_weather");
  EXPECT_EQ(request->extra().fields().at("top_k").number_value(), 5);
}

TEST(MessagesRequestTest, ThinkingIsABudgetInTokens) {
  auto parse = [](const std::string& thinking) {
    return ParseMessagesRequest(
        R"({"model":"m","max_tokens":4000,"messages":[{"role":"user","content":"x"}],"thinking":)" +
        thinking + "}");
  };
  absl::StatusOr<v1::ChatCompletionRequest> request =
      parse(R"({"type":"enabled","budget_tokens":2048})");
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->reasoning_budget_tokens(), 2048);
  request = parse(R"({"type":"disabled"})");
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_TRUE(request->has_reasoning_budget_tokens());
  EXPECT_EQ(request->reasoning_budget_tokens(), 0);
  request = parse(R"({"type":"adaptive"})");
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->reasoning_budget_tokens(), 8192);
  EXPECT_TRUE(request->reasoning_adaptive());
  EXPECT_FALSE(request->extra().fields().contains("reasoning_effort"));
  EXPECT_EQ(GetErrorDetails(parse(R"({"type":"enabled"})").status()).param,
            "thinking.budget_tokens");
  EXPECT_EQ(GetErrorDetails(parse(R"("on")").status()).param, "thinking");
}

// Claude Code marks the end of its system prompt, its tools and the last
// turn: each hint stays on the message (or tool) that had it.
TEST(MessagesRequestTest, CacheControlHintsAreKept) {
  absl::StatusOr<v1::ChatCompletionRequest> request = ParseMessagesRequest(R"({
    "model":"m","max_tokens":10,
    "system":[{"type":"text","text":"A"},{"type":"text","text":"B","cache_control":{"type":"ephemeral","ttl":"1h"}}],
    "tools":[{"name":"f","input_schema":{"type":"object"},"cache_control":{"type":"ephemeral"}}],
    "messages":[{"role":"user","content":[{"type":"text","text":"x","cache_control":{"type":"ephemeral"}}]},
      {"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"f","input":{}}]},
      {"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"ok","cache_control":{"type":"ephemeral"}}]}]})");
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->messages(0).cache_control().ttl(), "1h");
  EXPECT_EQ(request->messages(1).cache_control().type(), "ephemeral");
  EXPECT_FALSE(request->messages(2).has_cache_control());
  EXPECT_EQ(request->messages(3).role(), "tool");
  EXPECT_EQ(request->messages(3).cache_control().type(), "ephemeral");
  EXPECT_EQ(request->tools(0).cache_control().type(), "ephemeral");
}

TEST(MessagesRequestTest, ImagesBecomeDataUrls) {
  absl::StatusOr<v1::ChatCompletionRequest> request = ParseMessagesRequest(R"({
    "model":"m","max_tokens":10,"messages":[{"role":"user","content":[
      {"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBOR"}},
      {"type":"text","text":"What is this?"}]}]})");
  ASSERT_TRUE(request.ok()) << request.status();
  const v1::Message& user = request->messages(0);
  ASSERT_EQ(user.parts_size(), 2);
  EXPECT_EQ(user.parts(0).image_url().url(), "data:image/png;base64,iVBOR");
  EXPECT_EQ(user.parts(1).text(), "What is this?");
}

TEST(MessagesRequestTest, ErrorsNameTheField) {
  struct Case {
    const char* body;
    const char* param;
  };
  for (
      const Case& c : std::vector<Case>{
          {R"({"model":"m","messages":[{"role":"user","content":"x"}]})",
           "max_tokens"},
          {R"({"model":"m","max_tokens":5,"messages":[]})", "messages"},
          {R"({"model":"m","max_tokens":5,"messages":[{"role":"bot","content":"x"}]})",
           "messages[0].role"},
      }) {
    absl::StatusOr<v1::ChatCompletionRequest> request =
        ParseMessagesRequest(c.body);
    ASSERT_FALSE(request.ok()) << c.body;
    EXPECT_EQ(GetErrorDetails(request.status()).http_status, 400);
    EXPECT_EQ(GetErrorDetails(request.status()).param, c.param) << c.body;
  }
}

// What only Anthropic's API carries parses (a claude provider gets the body
// as sent) but is marked, naming the first such field.
TEST(MessagesRequestTest, AnthropicOnlyFeaturesAreMarkedNotRejected) {
  struct Case {
    const char* body;
    const char* param;
  };
  for (
      const Case& c : std::vector<Case>{
          {R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":[
               {"type":"text","text":"Sum up"},
               {"type":"document","source":{"type":"text","media_type":"text/plain","data":"d"}}]}]})",
           "messages[0].content[1].type"},
          {R"({"model":"m","max_tokens":5,"tools":[{"type":"web_search_20250305","name":"web_search"}],
               "messages":[{"role":"user","content":"x"}]})",
           "tools[0].type"},
          {R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":[
               {"type":"tool_result","tool_use_id":"t","content":[{"type":"image","source":{"type":"url","url":"u"}}]}]}]})",
           "messages[0].content[0].content"},
          {R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":[
               {"type":"image","source":{"type":"file","file_id":"f"}}]}]})",
           "messages[0].content[0].source"},
          {R"({"model":"m","max_tokens":5,"mcp_servers":[{"type":"url","url":"u","name":"n"}],
               "messages":[{"role":"user","content":"x"}]})",
           "mcp_servers"},
      }) {
    absl::StatusOr<v1::ChatCompletionRequest> request =
        ParseMessagesRequest(c.body);
    ASSERT_TRUE(request.ok()) << c.body << request.status();
    EXPECT_EQ(request->untranslatable_param(), c.param) << c.body;
    EXPECT_FALSE(request->untranslatable().empty());
  }
  absl::StatusOr<v1::ChatCompletionRequest> plain = ParseMessagesRequest(
      R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":"x"}]})");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->untranslatable(), "");
}

v1::ChatCompletionChunk Delta(const std::string& text,
                              const std::string& reasoning = "") {
  v1::ChatCompletionChunk chunk;
  chunk.set_id("chatcmpl-1");
  v1::ChunkChoice* choice = chunk.add_choices();
  if (!text.empty()) choice->mutable_delta()->set_content(text);
  if (!reasoning.empty())
    choice->mutable_delta()->set_reasoning_content(reasoning);
  return chunk;
}

// The `event:` names of an SSE text, in order, and their data objects.
std::vector<std::string> EventNames(const std::string& sse,
                                    std::vector<json>* data = nullptr) {
  std::vector<std::string> names;
  re2::StringPiece input(sse);
  std::string name, payload;
  while (RE2::FindAndConsume(&input, R"(event: (\S+)\ndata: ([^\n]*)\n\n)",
                             &name, &payload)) {
    names.push_back(name);
    if (data != nullptr) data->push_back(json::parse(payload));
  }
  return names;
}

TEST(StreamEncoderTest, ThinkingTextAndToolUseInAnthropicsOrder) {
  StreamEncoder encoder("claude-sonnet-4");
  std::string sse;
  v1::ChatCompletionChunk first = Delta("");
  first.mutable_choices(0)->mutable_delta()->set_role("assistant");
  sse += encoder.Encode(first);
  sse += encoder.Encode(Delta("", "Let me think."));
  v1::ChatCompletionChunk signature;
  signature.add_choices()->mutable_delta()->set_reasoning_signature("sig-1");
  sse += encoder.Encode(signature);
  sse += encoder.Encode(Delta("Calling"));
  sse += encoder.Encode(Delta(" the tool."));
  v1::ChatCompletionChunk tool;
  v1::ToolCall* call = tool.add_choices()->mutable_delta()->add_tool_calls();
  call->set_index(0);
  call->set_id("call_1");
  call->mutable_function()->set_name("get_weather");
  sse += encoder.Encode(tool);
  for (const char* fragment : {"{\"ci", "ty\":\"Paris\"}"}) {
    v1::ChatCompletionChunk more;
    v1::ToolCall* part = more.add_choices()->mutable_delta()->add_tool_calls();
    part->set_index(0);
    part->mutable_function()->set_arguments(fragment);
    sse += encoder.Encode(more);
  }
  v1::ChatCompletionChunk finish;
  finish.add_choices()->set_finish_reason("tool_calls");
  sse += encoder.Encode(finish);
  v1::ChatCompletionChunk usage;
  usage.mutable_usage()->set_prompt_tokens(12);
  usage.mutable_usage()->set_completion_tokens(7);
  sse += encoder.Encode(usage);
  sse += encoder.Finish(absl::OkStatus());

  std::vector<json> data;
  EXPECT_EQ(
      EventNames(sse, &data),
      (std::vector<std::string>{
          "message_start", "ping", "content_block_start", "content_block_delta",
          "content_block_delta", "content_block_stop", "content_block_start",
          "content_block_delta", "content_block_delta", "content_block_stop",
          "content_block_start", "content_block_delta", "content_block_delta",
          "content_block_stop", "message_delta", "message_stop"}));
  EXPECT_EQ(data[0]["message"]["model"], "claude-sonnet-4");
  EXPECT_EQ(data[2]["content_block"]["type"], "thinking");
  EXPECT_EQ(data[3]["delta"]["thinking"], "Let me think.");
  EXPECT_EQ(data[4]["delta"],
            json::parse(R"({"type":"signature_delta","signature":"sig-1"})"));
  EXPECT_EQ(data[7]["delta"]["text"], "Calling");
  EXPECT_EQ(data[10]["content_block"]["id"], "call_1");
  EXPECT_EQ(data[10]["index"], 2);
  std::string arguments = data[11]["delta"]["partial_json"].get<std::string>() +
                          data[12]["delta"]["partial_json"].get<std::string>();
  EXPECT_EQ(arguments, R"({"city":"Paris"})");
  EXPECT_EQ(data[14]["delta"]["stop_reason"], "tool_use");
  EXPECT_EQ(data[14]["usage"]["input_tokens"], 12);
  EXPECT_EQ(data[14]["usage"]["output_tokens"], 7);
}

// Upstreams that repeat the id on every fragment, or interleave the
// Thinking after a signature (interleaved thinking) is a block of its
// own, so each signature stays with its own text.
TEST(StreamEncoderTest, EachSignedThinkingIsItsOwnBlock) {
  StreamEncoder encoder("m");
  std::string sse;
  auto reasoning = [&](const char* text, const char* signature) {
    v1::ChatCompletionChunk chunk;
    v1::Message* delta = chunk.add_choices()->mutable_delta();
    if (*text) delta->set_reasoning_content(text);
    if (*signature) delta->set_reasoning_signature(signature);
    sse += encoder.Encode(chunk);
  };
  reasoning("First.", "");
  reasoning("", "sig-A");
  reasoning("Second.", "");
  reasoning("", "sig-B");
  sse += encoder.Finish(absl::OkStatus());
  std::vector<json> data;
  EventNames(sse, &data);
  std::map<int, std::string> thinking, signature;
  for (const json& event : data) {
    if (event["type"] != "content_block_delta") continue;
    const json& delta = event["delta"];
    if (delta["type"] == "thinking_delta") {
      thinking[event["index"]] += delta["thinking"].get<std::string>();
    } else if (delta["type"] == "signature_delta") {
      signature[event["index"]] += delta["signature"].get<std::string>();
    }
  }
  EXPECT_EQ(thinking,
            (std::map<int, std::string>{{0, "First."}, {1, "Second."}}));
  EXPECT_EQ(signature,
            (std::map<int, std::string>{{0, "sig-A"}, {1, "sig-B"}}));

  // A whole answer with two blocks: two thinking blocks.
  v1::ChatCompletion completion;
  v1::Message* message = completion.add_choices()->mutable_message();
  AddReasoningBlock("First.", "sig-A", false, message);
  AddReasoningBlock("Second.", "sig-B", false, message);
  message->set_content("Done.");
  json content = MessageJson(completion, "m")["content"];
  ASSERT_EQ(content.size(), 3u);
  EXPECT_EQ(content[0]["signature"], "sig-A");
  EXPECT_EQ(content[1]["thinking"], "Second.");
  EXPECT_EQ(content[1]["signature"], "sig-B");
}

// A thinking block whose text Claude withheld (display omitted) streams as
// a signature alone: each such signature is a thinking block of its own,
// and interleaved blocks keep their places between the tool_use blocks.
TEST(StreamEncoderTest, SignatureOnlyAndInterleavedThinkingBlocks) {
  StreamEncoder encoder("m");
  std::string sse;
  auto signature = [&](const char* value) {
    v1::ChatCompletionChunk chunk;
    chunk.add_choices()->mutable_delta()->set_reasoning_signature(value);
    sse += encoder.Encode(chunk);
  };
  auto call = [&](int index, const char* id) {
    v1::ChatCompletionChunk chunk;
    v1::ToolCall* tool = chunk.add_choices()->mutable_delta()->add_tool_calls();
    tool->set_index(index);
    tool->set_id(id);
    tool->mutable_function()->set_name("f");
    tool->mutable_function()->set_arguments("{}");
    sse += encoder.Encode(chunk);
  };
  signature("sig-A");
  signature("sig-B");
  call(0, "t1");
  signature("sig-C");
  call(1, "t2");
  sse += encoder.Finish(absl::OkStatus());
  std::vector<json> data;
  EventNames(sse, &data);
  std::vector<std::string> blocks;  // each block's type and id or signature
  std::map<int, std::string> signatures;
  for (const json& event : data) {
    if (event["type"] == "content_block_start") {
      blocks.push_back(event["content_block"]["type"].get<std::string>());
    }
    if (event["type"] == "content_block_delta" &&
        event["delta"]["type"] == "signature_delta") {
      signatures[event["index"]] += event["delta"]["signature"];
    }
  }
  EXPECT_EQ(blocks,
            (std::vector<std::string>{"thinking", "thinking", "tool_use",
                                      "thinking", "tool_use"}));
  EXPECT_EQ(signatures, (std::map<int, std::string>{
                            {0, "sig-A"}, {1, "sig-B"}, {3, "sig-C"}}));

  // The same answer whole: the blocks in the same places.
  v1::ChatCompletion completion;
  v1::Message* message = completion.add_choices()->mutable_message();
  AddReasoningBlock("", "sig-A", false, message);
  AddReasoningBlock("", "sig-B", false, message);
  message->add_tool_calls()->set_id("t1");
  AddReasoningBlock("Then.", "sig-C", false, message);
  message->add_tool_calls()->set_id("t2");
  json content = MessageJson(completion, "m")["content"];
  ASSERT_EQ(content.size(), 5u) << content.dump();
  EXPECT_EQ(
      content[0],
      json::parse(R"({"type":"thinking","thinking":"","signature":"sig-A"})"));
  EXPECT_EQ(content[1]["signature"], "sig-B");
  EXPECT_EQ(content[2]["id"], "t1");
  EXPECT_EQ(content[3]["thinking"], "Then.");
  EXPECT_EQ(content[4]["id"], "t2");
}

// fragments of parallel calls: one block per call, every fragment on its
// own block, no block stopped before its last fragment.
TEST(StreamEncoderTest, InterleavedAndRepeatedToolFragments) {
  StreamEncoder encoder("m");
  std::string sse;
  auto fragment = [&](int index, const char* id, const char* name,
                      const char* arguments) {
    v1::ChatCompletionChunk chunk;
    v1::ToolCall* call = chunk.add_choices()->mutable_delta()->add_tool_calls();
    call->set_index(index);
    call->set_id(id);
    call->mutable_function()->set_name(name);
    call->mutable_function()->set_arguments(arguments);
    sse += encoder.Encode(chunk);
  };
  fragment(0, "call_a", "f", "");
  fragment(1, "call_b", "g", "");
  fragment(0, "call_a", "f", "{\"x\":");
  fragment(1, "call_b", "g", "{\"y\":2}");
  fragment(0, "call_a", "f", "1}");
  sse += encoder.Finish(absl::OkStatus());
  std::vector<json> data;
  EventNames(sse, &data);
  std::map<int, std::string> arguments;
  std::map<int, bool> stopped;
  int starts = 0;
  for (const json& event : data) {
    if (event["type"] == "content_block_start") ++starts;
    if (event["type"] == "content_block_delta") {
      int index = event["index"];
      EXPECT_FALSE(stopped[index]) << "a fragment after its block stopped";
      arguments[index] += event["delta"]["partial_json"].get<std::string>();
    }
    if (event["type"] == "content_block_stop") stopped[event["index"]] = true;
  }
  EXPECT_EQ(starts, 2);
  EXPECT_EQ(arguments[0], R"({"x":1})");
  EXPECT_EQ(arguments[1], R"({"y":2})");
}

TEST(StreamEncoderTest, AFailureEndsWithAnErrorEvent) {
  StreamEncoder encoder("m");
  std::string sse = encoder.Encode(Delta("partial"));
  sse += encoder.Finish(
      MakeApiError({absl::StatusCode::kResourceExhausted, "Slow down.", 429}));
  std::vector<json> data;
  std::vector<std::string> names = EventNames(sse, &data);
  ASSERT_EQ(names.back(), "error");
  EXPECT_EQ(data.back()["error"]["type"], "rate_limit_error");
  EXPECT_EQ(data.back()["error"]["message"], "Slow down.");
  EXPECT_EQ(names[names.size() - 2], "content_block_stop");
}

TEST(MessageJsonTest, AWholeAnswer) {
  v1::ChatCompletion completion;
  completion.set_id("chatcmpl-9");
  v1::Choice* choice = completion.add_choices();
  choice->mutable_message()->set_content("Hi there");
  v1::ToolCall* call = choice->mutable_message()->add_tool_calls();
  call->set_id("call_2");
  call->mutable_function()->set_name("f");
  call->mutable_function()->set_arguments(R"({"a":1})");
  choice->set_finish_reason("tool_calls");
  completion.mutable_usage()->set_prompt_tokens(3);
  completion.mutable_usage()->set_completion_tokens(2);
  json message = MessageJson(completion, "claude-x");
  EXPECT_EQ(message["id"], "msg_chatcmpl-9");
  EXPECT_EQ(message["model"], "claude-x");
  EXPECT_EQ(message["content"][0]["text"], "Hi there");
  EXPECT_EQ(message["content"][1]["input"]["a"], 1);
  EXPECT_EQ(message["stop_reason"], "tool_use");
  EXPECT_EQ(message["usage"]["output_tokens"], 2);
}

}  // namespace
}  // namespace aigw::anthropic
