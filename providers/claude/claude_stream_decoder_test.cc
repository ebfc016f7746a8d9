#include "providers/claude/claude_stream_decoder.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "google/protobuf/util/message_differencer.h"
#include "providers/common/api_error.h"
#include "providers/common/chat_assembler.h"
#include "providers/common/stream_decoder_testing.h"

namespace aigw {
namespace {

constexpr int64_t kCreated = 1755137921;

// In the shape of the streaming examples of Anthropic's "Streaming
// Messages" reference: text, a ping, then a tool_use block whose input
// arrives as many input_json_delta fragments, then a tool without input.
constexpr char kToolStream[] =
    "event: message_start\n"
    "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_014p7gG3wDgGV9"
    "EUtLvnow3U\",\"type\":\"message\",\"role\":\"assistant\",\"model\":"
    "\"claude-sonnet-4-5-20250929\",\"stop_sequence\":null,\"usage\":{"
    "\"input_tokens\":472,\"cache_creation_input_tokens\":10,"
    "\"cache_read_input_tokens\":100,\"output_tokens\":2},\"content\":[],"
    "\"stop_reason\":null}}\n"
    "\n"
    "event: content_block_start\n"
    "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{"
    "\"type\":\"text\",\"text\":\"\"}}\n"
    "\n"
    "event: ping\n"
    "data: {\"type\": \"ping\"}\n"
    "\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
    "\"text_delta\",\"text\":\"Okay, let\\u2019s check \"}}\n"
    "\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
    "\"text_delta\",\"text\":\"the weather in S\xc3\xa3o Paulo.\"}}\n"
    "\n"
    "event: content_block_stop\n"
    "data: {\"type\":\"content_block_stop\",\"index\":0}\n"
    "\n"
    "event: content_block_start\n"
    "data: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{"
    "\"type\":\"tool_use\",\"id\":\"toolu_01T1x1fJ34qAmk2tNTrN7Up6\",\"name\":"
    "\"get_weather\",\"input\":{}}}\n"
    "\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":"
    "\"input_json_delta\",\"partial_json\":\"\"}}\n"
    "\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":"
    "\"input_json_delta\",\"partial_json\":\"{\\\"location\\\":\"}}\n"
    "\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":"
    "\"input_json_delta\",\"partial_json\":\" \\\"S\xc3\xa3o Pa\"}}\n"
    "\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":"
    "\"input_json_delta\",\"partial_json\":\"ulo\\\", \\\"unit\\\": \\\"c\"}}\n"
    "\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":"
    "\"input_json_delta\",\"partial_json\":\"elsius\\\"\"}}\n"
    "\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":"
    "\"input_json_delta\",\"partial_json\":\"}\"}}\n"
    "\n"
    "event: content_block_stop\n"
    "data: {\"type\":\"content_block_stop\",\"index\":1}\n"
    "\n"
    "event: content_block_start\n"
    "data: {\"type\":\"content_block_start\",\"index\":2,\"content_block\":{"
    "\"type\":\"tool_use\",\"id\":\"toolu_02\",\"name\":\"get_time\","
    "\"input\":{}}}\n"
    "\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":"
    "\"input_json_delta\",\"partial_json\":\"\"}}\n"
    "\n"
    "event: content_block_stop\n"
    "data: {\"type\":\"content_block_stop\",\"index\":2}\n"
    "\n"
    "event: message_delta\n"
    "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\","
    "\"stop_sequence\":null},\"usage\":{\"output_tokens\":89}}\n"
    "\n"
    "event: message_stop\n"
    "data: {\"type\":\"message_stop\"}\n"
    "\n";

// Extended thinking: a thinking block (with its signature) before the text.
constexpr char kThinkingStream[] =
    "event: message_start\r\n"
    "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_01think\","
    "\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":"
    "\"claude-sonnet-4-5\",\"stop_reason\":null,\"stop_sequence\":null,"
    "\"usage\":{\"input_tokens\":25,\"output_tokens\":1}}}\r\n"
    "\r\n"
    "event: content_block_start\r\n"
    "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{"
    "\"type\":\"thinking\",\"thinking\":\"\",\"signature\":\"\"}}\r\n"
    "\r\n"
    "event: content_block_delta\r\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
    "\"thinking_delta\",\"thinking\":\"27 * 453: 27*400 = 10800, \"}}\r\n"
    "\r\n"
    "event: content_block_delta\r\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
    "\"thinking_delta\",\"thinking\":\"27*53 = 1431; sum 12231.\"}}\r\n"
    "\r\n"
    "event: content_block_delta\r\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
    "\"signature_delta\",\"signature\":\"EqQBCgIYAhIM1gbcDa9GJwZA2b3h\"}}\r\n"
    "\r\n"
    "event: content_block_stop\r\n"
    "data: {\"type\":\"content_block_stop\",\"index\":0}\r\n"
    "\r\n"
    "event: content_block_start\r\n"
    "data: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{"
    "\"type\":\"text\",\"text\":\"\"}}\r\n"
    "\r\n"
    "event: content_block_delta\r\n"
    "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":"
    "\"text_delta\",\"text\":\"27 * 453 = 12,231\"}}\r\n"
    "\r\n"
    "event: content_block_stop\r\n"
    "data: {\"type\":\"content_block_stop\",\"index\":1}\r\n"
    "\r\n"
    "event: message_delta\r\n"
    "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
    "\"max_tokens\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":"
    "60}}\r\n"
    "\r\n"
    "event: message_stop\r\n"
    "data: {\"type\":\"message_stop\"}\r\n"
    "\r\n";

using stream_decoder_testing::ExpectSameAtEverySplit;
using stream_decoder_testing::FeedInPieces;
using stream_decoder_testing::RecordingSink;

ClaudeStreamDecoder MakeDecoder(ChunkSink& sink) {
  return ClaudeStreamDecoder(sink, kCreated);
}

absl::Status Decode(const std::string& stream, const std::vector<size_t>& cuts,
                    RecordingSink* sink) {
  ClaudeStreamDecoder decoder = MakeDecoder(*sink);
  return FeedInPieces(decoder, stream, cuts);
}

TEST(ClaudeStream, TextAndToolUseAssembled) {
  RecordingSink sink;
  ASSERT_TRUE(Decode(kToolStream, {}, &sink).ok());
  v1::ChatCompletion c = sink.assembler.Build();
  EXPECT_EQ(c.id(), "msg_014p7gG3wDgGV9EUtLvnow3U");
  EXPECT_EQ(c.model(), "claude-sonnet-4-5-20250929");
  EXPECT_EQ(c.created(), kCreated);
  ASSERT_EQ(c.choices_size(), 1);
  const v1::Message& m = c.choices(0).message();
  EXPECT_EQ(m.role(), "assistant");
  EXPECT_EQ(m.content(),
            "Okay, let\xe2\x80\x99s check the weather in S\xc3\xa3o Paulo.");
  ASSERT_EQ(m.tool_calls_size(), 2);
  EXPECT_EQ(m.tool_calls(0).id(), "toolu_01T1x1fJ34qAmk2tNTrN7Up6");
  EXPECT_EQ(m.tool_calls(0).type(), "function");
  EXPECT_EQ(m.tool_calls(0).function().name(), "get_weather");
  EXPECT_EQ(m.tool_calls(0).function().arguments(),
            "{\"location\": \"S\xc3\xa3o Paulo\", \"unit\": \"celsius\"}");
  EXPECT_EQ(m.tool_calls(1).id(), "toolu_02");
  EXPECT_EQ(m.tool_calls(1).function().arguments(), "{}");
  EXPECT_EQ(c.choices(0).finish_reason(), "tool_calls");
}

TEST(ClaudeStream, ToolUseArgumentsSplitAcrossEvents) {
  RecordingSink sink;
  ASSERT_TRUE(Decode(kToolStream, {}, &sink).ok());
  // role, 2 text, tool start, 5 argument fragments, second tool start, its
  // "{}", finish, usage.
  ASSERT_EQ(sink.chunks.size(), 13u);
  const v1::ToolCall& start = sink.chunks[3].choices(0).delta().tool_calls(0);
  EXPECT_EQ(start.index(), 0);
  EXPECT_EQ(start.id(), "toolu_01T1x1fJ34qAmk2tNTrN7Up6");
  EXPECT_EQ(start.function().name(), "get_weather");
  EXPECT_EQ(start.function().arguments(), "");
  for (int i = 4; i < 9; ++i) {
    const v1::ToolCall& part = sink.chunks[i].choices(0).delta().tool_calls(0);
    EXPECT_EQ(part.index(), 0) << i;
    EXPECT_TRUE(part.id().empty()) << i;
    EXPECT_FALSE(part.function().arguments().empty()) << i;
  }
  EXPECT_EQ(
      sink.chunks[4].choices(0).delta().tool_calls(0).function().arguments(),
      "{\"location\":");
  // The second tool_use block is tool call 1, whatever its block index.
  EXPECT_EQ(sink.chunks[9].choices(0).delta().tool_calls(0).index(), 1);
  EXPECT_EQ(sink.chunks[10].choices(0).delta().tool_calls(0).index(), 1);
}

TEST(ClaudeStream, ExactlyOneFinishReasonThenUsage) {
  RecordingSink sink;
  ASSERT_TRUE(Decode(kToolStream, {}, &sink).ok());
  int finishes = 0;
  for (const auto& chunk : sink.chunks) {
    EXPECT_EQ(chunk.object(), "chat.completion.chunk");
    EXPECT_EQ(chunk.id(), "msg_014p7gG3wDgGV9EUtLvnow3U");
    for (const auto& choice : chunk.choices()) {
      finishes += !choice.finish_reason().empty();
    }
  }
  EXPECT_EQ(finishes, 1);
  EXPECT_EQ(sink.chunks.front().choices(0).delta().role(), "assistant");
  const v1::ChatCompletionChunk& last = sink.chunks.back();
  EXPECT_EQ(last.choices_size(), 0);
  ASSERT_TRUE(last.has_usage());
  EXPECT_EQ(last.usage().prompt_tokens(), 472 + 10 + 100);
  EXPECT_EQ(last.usage().completion_tokens(), 89);
  EXPECT_EQ(last.usage().total_tokens(), 582 + 89);
  EXPECT_EQ(last.usage().prompt_tokens_details().cached_tokens(), 100);
}

// Found by fuzz/sse_stream_fuzzer: summing huge int64 token counts was a
// signed overflow (undefined behaviour); counts now saturate at INT32_MAX.
TEST(ClaudeStream, HugeUsageCountsSaturateInsteadOfOverflowing) {
  const std::string stream =
      "event: message_start\ndata: {\"type\":\"message_start\","
      "\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":"
      "\"assistant\",\"model\":\"claude\",\"content\":[],\"usage\":{"
      "\"input_tokens\":9223372036854775807,\"cache_read_input_tokens\":"
      "18446744073709551615,\"output_tokens\":1}}}\n\n"
      "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":"
      "{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":"
      "9223372036854775807}}\n\n"
      "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
  RecordingSink sink;
  ASSERT_TRUE(Decode(stream, {}, &sink).ok());
  const v1::ChatCompletionChunk& last = sink.chunks.back();
  ASSERT_TRUE(last.has_usage());
  EXPECT_EQ(last.usage().prompt_tokens(), INT32_MAX);
  EXPECT_EQ(last.usage().completion_tokens(), INT32_MAX);
  EXPECT_EQ(last.usage().total_tokens(), INT32_MAX);
  EXPECT_EQ(last.usage().prompt_tokens_details().cached_tokens(), INT32_MAX);
}

TEST(ClaudeStream, ThinkingBecomesReasoningContent) {
  RecordingSink sink;
  ASSERT_TRUE(Decode(kThinkingStream, {}, &sink).ok());
  v1::ChatCompletion c = sink.assembler.Build();
  EXPECT_EQ(c.choices(0).message().reasoning_content(),
            "27 * 453: 27*400 = 10800, 27*53 = 1431; sum 12231.");
  EXPECT_EQ(c.choices(0).message().content(), "27 * 453 = 12,231");
  EXPECT_EQ(c.choices(0).finish_reason(), "length");
  EXPECT_EQ(c.usage().prompt_tokens(), 25);
  EXPECT_EQ(c.usage().completion_tokens(), 60);
  // The signature comes whole, so the thinking can go back in a later turn.
  EXPECT_EQ(c.choices(0).message().reasoning_signature(),
            "EqQBCgIYAhIM1gbcDa9GJwZA2b3h");
  // Reasoning is streamed as it comes, before the answer.
  EXPECT_TRUE(sink.chunks[1].choices(0).delta().has_reasoning_content());
  EXPECT_FALSE(sink.chunks[1].choices(0).delta().has_content());
}

TEST(ClaudeStream, EverySplitPointGivesTheSameChunks) {
  ExpectSameAtEverySplit(kToolStream, MakeDecoder);
  ExpectSameAtEverySplit(kThinkingStream, MakeDecoder);
}

// With keep_events (passthrough), the events each chunk carries are the
// same wherever the stream was cut, and together they are every event.
TEST(ClaudeStreamDecoderTest, KeptEventsAreTheSameAtEverySplit) {
  auto make = [](ChunkSink& sink) {
    ClaudeStreamDecoder decoder = MakeDecoder(sink);
    decoder.set_keep_events(true);
    return decoder;
  };
  ExpectSameAtEverySplit(kThinkingStream, make);
  RecordingSink sink;
  ClaudeStreamDecoder decoder = make(sink);
  ASSERT_TRUE(FeedInPieces(decoder, kThinkingStream, {}).ok());
  std::string relayed;
  for (const v1::ChatCompletionChunk& chunk : sink.chunks) {
    relayed += chunk.passthrough_events();
  }
  EXPECT_NE(relayed.find("signature_delta"), std::string::npos);
  EXPECT_NE(relayed.find("event: message_stop"), std::string::npos);
}

std::string WithErrorAfterFirstText() {
  std::string stream(kToolStream);
  size_t cut = stream.find("event: content_block_delta");
  cut = stream.find("\n\n", cut) + 2;
  return stream.substr(0, cut) +
         "event: error\n"
         "data: {\"type\": \"error\", \"error\": {\"type\": "
         "\"overloaded_error\", \"message\": \"Overloaded\"}}\n\n";
}

TEST(ClaudeStream, ErrorEventMidStreamStopsWithUpstreamMessage) {
  RecordingSink sink;
  absl::Status status = Decode(WithErrorAfterFirstText(), {}, &sink);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(GetErrorDetails(status).http_status, 502);
  EXPECT_NE(status.message().find("Overloaded"), std::string::npos);
  EXPECT_EQ(sink.chunks.size(), 2u);  // role, first text; no finish
  ExpectSameAtEverySplit(WithErrorAfterFirstText(), MakeDecoder);
}

TEST(ClaudeStream, RateLimitErrorEventIs429) {
  RecordingSink sink;
  absl::Status status = Decode(
      "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":"
      "\"rate_limit_error\",\"message\":\"Number of request tokens has "
      "exceeded your per-minute rate limit\"}}\n\n",
      {}, &sink);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(GetErrorDetails(status).http_status, 429);
  EXPECT_EQ(GetErrorDetails(status).type, "rate_limit_error");
  EXPECT_TRUE(sink.chunks.empty());
}

TEST(ClaudeStream, StreamCutBeforeMessageStopIsAnError) {
  std::string stream(kToolStream);
  stream = stream.substr(0, stream.find("event: message_delta"));
  RecordingSink sink;
  absl::Status status = Decode(stream, {}, &sink);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(GetErrorDetails(status).http_status, 502);
  for (const auto& chunk : sink.chunks) {
    for (const auto& choice : chunk.choices()) {
      EXPECT_TRUE(choice.finish_reason().empty());
    }
  }
}

TEST(ClaudeStream, NonJsonEventIsAnError) {
  RecordingSink sink;
  absl::Status status =
      Decode("event: message_start\ndata: {oops\n\n", {}, &sink);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(sink.chunks.empty());
}

TEST(ClaudeStream, ClientGoneStopsDecoding) {
  RecordingSink sink;
  sink.stop_after = 3;
  ClaudeStreamDecoder decoder(sink, kCreated);
  EXPECT_FALSE(decoder.Feed(kToolStream));
  EXPECT_TRUE(decoder.client_gone());
  EXPECT_EQ(sink.chunks.size(), 3u);
}

TEST(ClaudeStream, StopReasonsMapped) {
  const std::pair<const char*, const char*> cases[] = {
      {"end_turn", "stop"},
      {"stop_sequence", "stop"},
      {"max_tokens", "length"},
      {"tool_use", "tool_calls"},
      {"refusal", "content_filter"}};
  for (const auto& [reason, finish] : cases) {
    RecordingSink sink;
    std::string stream =
        std::string(
            "event: message_start\ndata: "
            "{\"type\":\"message_start\",\"message\":"
            "{\"id\":\"msg_1\",\"model\":\"c\",\"usage\":{\"input_tokens\":1,"
            "\"output_tokens\":1}}}\n\n"
            "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":"
            "{\"stop_reason\":\"") +
        reason +
        "\"},\"usage\":{\"output_tokens\":3}}\n\n"
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
    ASSERT_TRUE(Decode(stream, {}, &sink).ok()) << reason;
    EXPECT_EQ(sink.assembler.Build().choices(0).finish_reason(), finish)
        << reason;
  }
}

// A non-streaming answer goes through the same event handling.
TEST(ClaudeMessage, WholeAnswerGivesTheStreamedCompletion) {
  nlohmann::json message = nlohmann::json::parse(R"({
    "id":"msg_014p7gG3wDgGV9EUtLvnow3U","type":"message","role":"assistant",
    "model":"claude-sonnet-4-5-20250929",
    "content":[
      {"type":"text","text":"Okay, let\u2019s check the weather in S\u00e3o Paulo."},
      {"type":"tool_use","id":"toolu_01T1x1fJ34qAmk2tNTrN7Up6",
       "name":"get_weather","input":{"location":"S\u00e3o Paulo","unit":"celsius"}},
      {"type":"tool_use","id":"toolu_02","name":"get_time","input":{}}],
    "stop_reason":"tool_use","stop_sequence":null,
    "usage":{"input_tokens":472,"cache_creation_input_tokens":10,
             "cache_read_input_tokens":100,"output_tokens":89}})");
  ChatAssembler whole;
  ASSERT_TRUE(DecodeClaudeMessage(message, kCreated, whole).ok());
  v1::ChatCompletion c = whole.Build();
  RecordingSink streamed;
  ASSERT_TRUE(Decode(kToolStream, {}, &streamed).ok());
  v1::ChatCompletion expected = streamed.assembler.Build();
  // Only the argument JSON's spacing differs from the streamed fragments.
  expected.mutable_choices(0)
      ->mutable_message()
      ->mutable_tool_calls(0)
      ->mutable_function()
      ->set_arguments(R"({"location":"São Paulo","unit":"celsius"})");
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(c, expected))
      << c.DebugString() << "\nvs\n"
      << expected.DebugString();
}

TEST(ClaudeMessage, ThinkingAnswerAndBadShape) {
  nlohmann::json message = nlohmann::json::parse(R"({
    "id":"msg_2","type":"message","role":"assistant","model":"c",
    "content":[{"type":"thinking","thinking":"hmm","signature":"x"},
               {"type":"redacted_thinking","data":"abc"},
               {"type":"text","text":"42"}],
    "stop_reason":"end_turn","usage":{"input_tokens":5,"output_tokens":7}})");
  ChatAssembler assembler;
  ASSERT_TRUE(DecodeClaudeMessage(message, kCreated, assembler).ok());
  v1::ChatCompletion c = assembler.Build();
  EXPECT_EQ(c.choices(0).message().reasoning_content(), "hmm");
  EXPECT_EQ(c.choices(0).message().content(), "42");
  EXPECT_EQ(c.choices(0).finish_reason(), "stop");
  EXPECT_EQ(c.usage().total_tokens(), 12);

  ChatAssembler bad;
  absl::Status status =
      DecodeClaudeMessage(nlohmann::json::parse(R"({"id":"x"})"), 0, bad);
  EXPECT_EQ(GetErrorDetails(status).http_status, 502);
}

}  // namespace
}  // namespace aigw
