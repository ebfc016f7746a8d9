#include "server/codecs/openai_responses/responses.h"

#include <map>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "providers/common/api_error.h"
#include "providers/common/reasoning_blocks.h"
#include "re2/re2.h"
#include "server/codecs/openai_responses/passthrough_body.h"

namespace aigw::responses {
namespace {

using nlohmann::json;

std::vector<json> Events(const std::string& sse) {
  std::vector<json> events;
  re2::StringPiece input(sse);
  std::string name, payload;
  while (RE2::FindAndConsume(&input, R"(event: (\S+)\ndata: ([^\n]*)\n\n)",
                             &name, &payload)) {
    events.push_back(json::parse(payload));
  }
  return events;
}

// Parallel calls whose fragments interleave, one with its id repeated:
// each call is one item, every fragment reaches its own item before that
// item is done, and sequence numbers count up from 0.
TEST(ResponsesStreamEncoderTest, InterleavedFunctionCalls) {
  RequestEcho echo;
  echo.model = "gpt-x";
  StreamEncoder encoder(echo);
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
  fragment(1, "", "", "{\"y\":2}");
  fragment(0, "", "", "1}");
  v1::ChatCompletionChunk finish;
  finish.add_choices()->set_finish_reason("tool_calls");
  sse += encoder.Encode(finish);
  sse += encoder.Finish(absl::OkStatus());

  std::vector<json> events = Events(sse);
  std::map<int, std::string> deltas;
  std::map<int, bool> done;
  int added = 0;
  for (size_t i = 0; i < events.size(); ++i) {
    const json& e = events[i];
    EXPECT_EQ(e["sequence_number"], i);
    if (e["type"] == "response.output_item.added") ++added;
    if (e["type"] == "response.function_call_arguments.delta") {
      int index = e["output_index"];
      EXPECT_FALSE(done[index]) << "a fragment after its item was done";
      deltas[index] += e["delta"].get<std::string>();
    }
    if (e["type"] == "response.output_item.done")
      done[e["output_index"]] = true;
  }
  EXPECT_EQ(added, 2);
  EXPECT_EQ(deltas[0], R"({"x":1})");
  EXPECT_EQ(deltas[1], R"({"y":2})");
  const json& completed = events.back();
  ASSERT_EQ(completed["type"], "response.completed");
  ASSERT_EQ(completed["response"]["output"].size(), 2u);
  EXPECT_EQ(completed["response"]["output"][0]["arguments"], R"({"x":1})");
  EXPECT_EQ(completed["response"]["output"][1]["call_id"], "call_b");
  EXPECT_EQ(completed["response"]["model"], "gpt-x");
}

// A provider's signed thinking (Claude's) leaves as a reasoning item's
// encrypted_content and comes back on the assistant turn it belongs to.
TEST(ResponsesStreamEncoderTest, ReasoningSignatureRoundTrips) {
  RequestEcho echo;
  echo.model = "m";
  StreamEncoder encoder(echo);
  v1::ChatCompletionChunk thinking;
  thinking.add_choices()->mutable_delta()->set_reasoning_content("Use f.");
  std::string sse = encoder.Encode(thinking);
  v1::ChatCompletionChunk signature;
  signature.add_choices()->mutable_delta()->set_reasoning_signature("sig-1");
  sse += encoder.Encode(signature);
  v1::ChatCompletionChunk call;
  v1::ToolCall* tool = call.add_choices()->mutable_delta()->add_tool_calls();
  tool->set_index(0);
  tool->set_id("call_1");
  tool->mutable_function()->set_name("f");
  tool->mutable_function()->set_arguments("{}");
  sse += encoder.Encode(call);
  sse += encoder.Finish(absl::OkStatus());
  json output = Events(sse).back()["response"]["output"];
  ASSERT_EQ(output.size(), 2u);
  EXPECT_EQ(output[0]["type"], "reasoning");
  EXPECT_EQ(output[0]["encrypted_content"], "aigw-signature:sig-1");

  json next = {{"model", "m"},
               {"input", json::array({{{"role", "user"}, {"content", "x"}}})}};
  for (const json& item : output) next["input"].push_back(item);
  next["input"].push_back({{"type", "function_call_output"},
                           {"call_id", "call_1"},
                           {"output", "ok"}});
  RequestEcho again;
  absl::StatusOr<v1::ChatCompletionRequest> request =
      ParseResponsesRequest(next.dump(), &again);
  ASSERT_TRUE(request.ok()) << request.status();
  const v1::Message& assistant = request->messages(1);
  EXPECT_EQ(assistant.reasoning_content(), "Use f.");
  EXPECT_EQ(assistant.reasoning_signature(), "sig-1");
  EXPECT_EQ(assistant.tool_calls(0).id(), "call_1");

  // Two signed blocks (interleaved thinking) are two reasoning items, and
  // come back as two blocks.
  StreamEncoder two(echo);
  std::string blocks;
  for (const char* text : {"First.", "Second."}) {
    v1::ChatCompletionChunk piece;
    piece.add_choices()->mutable_delta()->set_reasoning_content(text);
    blocks += two.Encode(piece);
    v1::ChatCompletionChunk signed_piece;
    signed_piece.add_choices()->mutable_delta()->set_reasoning_signature(
        absl::StrCat("sig-", text));
    blocks += two.Encode(signed_piece);
  }
  blocks += two.Finish(absl::OkStatus());
  json items = Events(blocks).back()["response"]["output"];
  ASSERT_EQ(items.size(), 2u) << items.dump();
  EXPECT_EQ(items[0]["encrypted_content"], "aigw-signature:sig-First.");
  EXPECT_EQ(items[1]["summary"][0]["text"], "Second.");
  EXPECT_EQ(items[1]["encrypted_content"], "aigw-signature:sig-Second.");
  json both = {{"model", "m"},
               {"input", json::array({{{"role", "user"}, {"content", "x"}}})}};
  for (const json& item : items) both["input"].push_back(item);
  both["input"].push_back({{"role", "assistant"}, {"content", "ok"}});
  request = ParseResponsesRequest(both.dump(), &again);
  ASSERT_TRUE(request.ok()) << request.status();
  ASSERT_EQ(request->messages(1).reasoning_blocks_size(), 2);
  EXPECT_EQ(request->messages(1).reasoning_blocks(1).text(), "Second.");
  EXPECT_EQ(request->messages(1).reasoning_blocks(1).signature(),
            "sig-Second.");

  // OpenAI's own encrypted reasoning is no signature for another provider.
  next["input"][1]["encrypted_content"] = "gAAAAABopenai";
  request = ParseResponsesRequest(next.dump(), &again);
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_FALSE(request->messages(1).has_reasoning_signature());
}

// A signature alone (Claude withheld the thinking text) is a reasoning
// item of its own with an empty summary and no summary events; reasoning
// between function calls stays between them, streamed or whole, and comes
// back to the same places.
TEST(ResponsesStreamEncoderTest, SignatureOnlyAndInterleavedReasoning) {
  RequestEcho echo;
  echo.model = "m";
  StreamEncoder encoder(echo);
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
  call(0, "c1");
  signature("sig-C");
  call(1, "c2");
  sse += encoder.Finish(absl::OkStatus());
  std::vector<json> events = Events(sse);
  for (const json& e : events) {
    EXPECT_EQ(std::string(e["type"]).find("reasoning_summary"),
              std::string::npos)
        << e.dump();
  }
  json output = events.back()["response"]["output"];
  ASSERT_EQ(output.size(), 5u) << output.dump();
  std::vector<std::string> kinds;
  for (const json& item : output) kinds.push_back(item["type"]);
  EXPECT_EQ(kinds,
            (std::vector<std::string>{"reasoning", "reasoning", "function_call",
                                      "reasoning", "function_call"}));
  EXPECT_EQ(output[0]["summary"], json::array());
  EXPECT_EQ(output[1]["encrypted_content"], "aigw-signature:sig-B");
  EXPECT_EQ(output[3]["encrypted_content"], "aigw-signature:sig-C");

  // Back as input: each block after the calls before it.
  json next = {{"model", "m"},
               {"input", json::array({{{"role", "user"}, {"content", "x"}}})}};
  for (const json& item : output) next["input"].push_back(item);
  RequestEcho again;
  absl::StatusOr<v1::ChatCompletionRequest> request =
      ParseResponsesRequest(next.dump(), &again);
  ASSERT_TRUE(request.ok()) << request.status();
  const v1::Message& turn = request->messages(1);
  ASSERT_EQ(turn.reasoning_blocks_size(), 3);
  EXPECT_EQ(turn.reasoning_blocks(1).tool_calls_before(), 0);
  EXPECT_EQ(turn.reasoning_blocks(2).signature(), "sig-C");
  EXPECT_EQ(turn.reasoning_blocks(2).tool_calls_before(), 1);

  // The whole answer keeps the same order.
  v1::ChatCompletion completion;
  *completion.add_choices()->mutable_message() = turn;
  json whole = ResponseJson(completion, echo)["output"];
  kinds.clear();
  for (const json& item : whole) kinds.push_back(item["type"]);
  EXPECT_EQ(kinds,
            (std::vector<std::string>{"reasoning", "reasoning", "function_call",
                                      "reasoning", "function_call"}));
}

// Reasoning items around the message item and after the last call of a
// turn stay with that turn, in their places.
TEST(ResponsesRequestTest, ReasoningItemsKeepTheirPlacesInTheTurn) {
  auto reasoning = [](const char* text, const char* signature) {
    return json{
        {"type", "reasoning"},
        {"id", "rs_1"},
        {"summary", {{{"type", "summary_text"}, {"text", text}}}},
        {"encrypted_content", absl::StrCat("aigw-signature:", signature)}};
  };
  json input = json::array(
      {{{"role", "user"}, {"content", "x"}},
       reasoning("Plan.", "sig-A"),
       {{"type", "message"},
        {"role", "assistant"},
        {"content", {{{"type", "output_text"}, {"text", "Checking."}}}}},
       reasoning("Which tool.", "sig-B"),
       {{"type", "function_call"},
        {"call_id", "c1"},
        {"name", "f"},
        {"arguments", "{}"}},
       reasoning("Done.", "sig-C"),
       {{"type", "function_call_output"},
        {"call_id", "c1"},
        {"output", "ok"}}});
  RequestEcho echo;
  absl::StatusOr<v1::ChatCompletionRequest> request = ParseResponsesRequest(
      json{{"model", "m"}, {"input", input}}.dump(), &echo);
  ASSERT_TRUE(request.ok()) << request.status();
  ASSERT_EQ(request->messages_size(), 3);
  const v1::Message& turn = request->messages(1);
  ASSERT_EQ(turn.reasoning_blocks_size(), 3);
  EXPECT_EQ(ReasoningSlot(turn.reasoning_blocks(0), 1), 0);
  EXPECT_EQ(ReasoningSlot(turn.reasoning_blocks(1), 1), 1);
  EXPECT_EQ(ReasoningSlot(turn.reasoning_blocks(2), 1), 2);
  EXPECT_EQ(turn.reasoning_blocks(2).signature(), "sig-C");

  v1::ChatCompletion completion;
  *completion.add_choices()->mutable_message() = turn;
  json output = ResponseJson(completion, echo)["output"];
  std::vector<std::string> kinds;
  for (const json& item : output) kinds.push_back(item["type"]);
  EXPECT_EQ(kinds,
            (std::vector<std::string>{"reasoning", "message", "reasoning",
                                      "function_call", "reasoning"}));
}

// What this gateway made goes to OpenAI as plain items: references
// resolved, minted ids and relayed reasoning left out; OpenAI's own items
// and bodies without ours are untouched.
TEST(PassthroughBodyTest, GatewayItemsBecomePlainItems) {
  const std::string plain =
      R"({"model":"gpt-4o","input":[{"type":"reasoning","id":"rs_1",)"
      R"("encrypted_content":"gAAAA","summary":[]}]})";
  EXPECT_EQ(*PassthroughBody(plain, ""), plain);

  v1::ChatCompletion completion;
  v1::Message* message = completion.add_choices()->mutable_message();
  message->set_reasoning_content("Use f.");
  message->set_reasoning_signature("sig-1");
  message->set_content("Calling f.");
  v1::ToolCall* call = message->add_tool_calls();
  call->set_id("call_1");
  call->mutable_function()->set_name("f");
  call->mutable_function()->set_arguments(R"({"a":1})");
  RequestEcho echo;
  echo.model = "gpt-4o";
  json output = ResponseJson(completion, echo)["output"];
  ASSERT_EQ(output.size(), 3u);
  const std::string call_item_id = output[2]["id"];
  EXPECT_TRUE(IsMintedId(call_item_id)) << call_item_id;
  EXPECT_TRUE(RE2::FullMatch(call_item_id, "fc_aigw[0-9a-f]{32}"));

  json body = {{"model", "gpt-4o"}, {"input", json::array()}};
  body["input"].push_back({{"role", "user"}, {"content", "x"}});
  body["input"].push_back(output[0]);  // aigw reasoning
  body["input"].push_back(output[1]);  // aigw message
  body["input"].push_back({{"type", "item_reference"}, {"id", call_item_id}});
  body["input"].push_back({{"type", "function_call_output"},
                           {"call_id", "call_1"},
                           {"output", "ok"}});
  body["input"].push_back({{"type", "item_reference"}, {"id", "msg_openai"}});
  json out = json::parse(*PassthroughBody(body.dump(), ""));
  json input = out["input"];
  ASSERT_EQ(input.size(), 5u) << input.dump();
  EXPECT_EQ(input[1]["type"], "message");
  EXPECT_FALSE(input[1].contains("id"));
  EXPECT_EQ(input[1]["content"][0]["text"], "Calling f.");
  EXPECT_EQ(input[2]["type"], "function_call");
  EXPECT_FALSE(input[2].contains("id"));
  EXPECT_EQ(input[2]["call_id"], "call_1");
  EXPECT_EQ(input[2]["arguments"], R"({"a":1})");
  EXPECT_EQ(input[4]["id"], "msg_openai");

  // What this gateway made but cannot resolve is a 400 naming it.
  json unknown = {
      {"model", "gpt-4o"},
      {"input",
       json::array({{{"type", "item_reference"}, {"id", "msg_aigw0123"}}})}};
  absl::StatusOr<std::string> refused = PassthroughBody(unknown.dump(), "");
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(GetErrorDetails(refused.status()).param, "input[0]");
  refused = PassthroughBody(
      R"({"model":"gpt-4o","previous_response_id":"resp_aigw1","input":"hi"})",
      "");
  EXPECT_EQ(GetErrorDetails(refused.status()).param, "previous_response_id");
}

// The store forgets its oldest items once they hold more than its bytes;
// an item larger than all of it is not kept.
TEST(ItemStoreTest, BoundedByBytes) {
  ItemStore store;
  const std::string big(ItemStore::kMaxBytes / 4, 'x');
  for (int i = 0; i < 5; ++i) {
    store.Put("", "msg_" + std::to_string(i),
              {{"type", "message"}, {"text", big}});
  }
  json item;
  EXPECT_FALSE(store.Get("", "msg_0", &item));
  EXPECT_FALSE(store.Get("", "msg_1", &item));
  ASSERT_TRUE(store.Get("", "msg_4", &item));
  EXPECT_EQ(item["text"].get<std::string>().size(), big.size());
  store.Put("", "huge", {{"text", std::string(ItemStore::kMaxBytes, 'y')}});
  EXPECT_FALSE(store.Get("", "huge", &item));
  EXPECT_TRUE(store.Get("", "msg_4", &item));
}

// A caller reads back only its own items: another API key's reference to
// them is unknown (and the owner is no API key in the clear).
TEST(ItemStoreTest, ItemsAreTheirCallersOwn) {
  const std::string alice = ItemOwner("sk-alice");
  const std::string bob = ItemOwner("sk-bob");
  EXPECT_NE(alice, bob);
  EXPECT_EQ(alice, ItemOwner("sk-alice"));
  EXPECT_EQ(alice.find("sk-alice"), std::string::npos);
  EXPECT_EQ(ItemOwner(""), "");
  ItemStore store;
  store.Put(alice, "msg_1", {{"type", "message"}});
  json item;
  EXPECT_TRUE(store.Get(alice, "msg_1", &item));
  EXPECT_FALSE(store.Get(bob, "msg_1", &item));
  EXPECT_FALSE(store.Get("", "msg_1", &item));

  v1::ChatCompletion completion;
  completion.add_choices()->mutable_message()->set_content("secret");
  RequestEcho echo;
  echo.model = "m";
  echo.owner = alice;
  const std::string id = ResponseJson(completion, echo)["output"][0]["id"];
  RequestEcho as_bob;
  as_bob.owner = bob;
  json body = {
      {"model", "m"},
      {"input", json::array({{{"type", "item_reference"}, {"id", id}}})}};
  absl::StatusOr<v1::ChatCompletionRequest> request =
      ParseResponsesRequest(body.dump(), &as_bob);
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_FALSE(request->untranslatable().empty());
  RequestEcho as_alice;
  as_alice.owner = alice;
  request = ParseResponsesRequest(body.dump(), &as_alice);
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_TRUE(request->untranslatable().empty());
  EXPECT_EQ(request->messages(0).content(), "secret");
}

// What only OpenAI's API keeps or runs parses (an OpenAI provider gets the
// body as sent) but is marked, naming the first such field.
TEST(ResponsesRequestTest, OpenAiOnlyFeaturesAreMarkedNotRejected) {
  struct Case {
    const char* body;
    const char* param;
  };
  for (
      const Case& c : std::vector<Case>{
          {R"({"model":"m","input":"x","previous_response_id":"resp_1"})",
           "previous_response_id"},
          {R"({"model":"m","input":"x","tools":[{"type":"web_search"}]})",
           "tools[0].type"},
          {R"({"model":"m","input":[{"type":"item_reference","id":"msg_unknown"}]})",
           "input[0]"},
          {R"({"model":"m","input":[{"role":"user","content":[
                {"type":"input_text","text":"x"},{"type":"input_file","file_id":"f"}]}]})",
           "input[0].content[1].type"},
          {R"({"model":"m","input":[{"type":"web_search_call","id":"ws_1"}]})",
           "input[0].type"},
      }) {
    RequestEcho echo;
    absl::StatusOr<v1::ChatCompletionRequest> request =
        ParseResponsesRequest(c.body, &echo);
    ASSERT_TRUE(request.ok()) << c.body << request.status();
    EXPECT_EQ(request->untranslatable_param(), c.param) << c.body;
  }
}

TEST(ResponsesRequestTest, WrongTypesAre400sNotCrashes) {
  for (
      const char* body : {
          R"({"model":"m","input":[{"type":5}]})",
          R"({"model":"m","input":[{"role":5,"content":"x"}]})",
          R"({"model":"m","input":[{"role":"user","content":[{"type":5}]}]})",
          R"({"model":"m","input":[{"type":"item_reference","id":5}]})",
          R"({"model":"m","input":"x","text":{"format":{"type":"json_schema","name":5}}})",
      }) {
    RequestEcho echo;
    absl::StatusOr<v1::ChatCompletionRequest> request =
        ParseResponsesRequest(body, &echo);
    // A 400, or accepted with the wrong-typed field ignored: never a throw.
    if (!request.ok()) {
      EXPECT_EQ(request.status().code(), absl::StatusCode::kInvalidArgument)
          << body;
    }
  }
}

}  // namespace
}  // namespace aigw::responses
