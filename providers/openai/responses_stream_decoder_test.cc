#include "providers/openai/responses_stream_decoder.h"

#include <string>

#include "gtest/gtest.h"
#include "providers/common/stream_decoder_testing.h"

namespace aigw {
namespace {

using stream_decoder_testing::ExpectSameAtEverySplit;
using stream_decoder_testing::FeedInPieces;
using stream_decoder_testing::RecordingSink;

// OpenAI's events for a reasoning summary, text with multi-byte UTF-8, a
// function call whose arguments come in pieces, an event type aigw does not
// know, and the usage; CRLF line ends on one event.
constexpr char kStream[] =
    "event: response.created\n"
    "data: {\"type\":\"response.created\",\"sequence_number\":0,\"response\":"
    "{\"id\":\"resp_1\",\"model\":\"gpt-5\",\"status\":\"in_progress\","
    "\"output\":[]}}\n\n"
    "event: response.reasoning_summary_text.delta\n"
    "data: {\"type\":\"response.reasoning_summary_text.delta\",\"sequence_"
    "number\":1,\"item_id\":\"rs_1\",\"output_index\":0,\"delta\":\"Think.\"}"
    "\n\n"
    "event: response.output_text.delta\r\n"
    "data: {\"type\":\"response.output_text.delta\",\"sequence_number\":2,"
    "\"item_id\":\"msg_1\",\"output_index\":1,\"delta\":\"Grüße 🚀\"}\r\n\r\n"
    "event: response.output_item.added\n"
    "data: {\"type\":\"response.output_item.added\",\"sequence_number\":3,"
    "\"output_index\":2,\"item\":{\"type\":\"function_call\",\"id\":\"fc_1\","
    "\"call_id\":\"call_9\",\"name\":\"get_weather\",\"arguments\":\"\"}}\n\n"
    "event: response.function_call_arguments.delta\n"
    "data: {\"type\":\"response.function_call_arguments.delta\",\"sequence_"
    "number\":4,\"item_id\":\"fc_1\",\"output_index\":2,\"delta\":\"{\\\"ci\"}"
    "\n\n"
    "event: response.future_event\n"
    "data: {\"type\":\"response.future_event\",\"sequence_number\":5}\n\n"
    "event: response.function_call_arguments.delta\n"
    "data: {\"type\":\"response.function_call_arguments.delta\",\"sequence_"
    "number\":6,\"item_id\":\"fc_1\",\"output_index\":2,\"delta\":"
    "\"ty\\\":\\\"Oslo\\\"}\"}\n\n"
    "event: response.completed\n"
    "data: {\"type\":\"response.completed\",\"sequence_number\":7,\"response\":"
    "{\"id\":\"resp_1\",\"model\":\"gpt-5\",\"status\":\"completed\","
    "\"usage\":{\"input_tokens\":9,\"input_tokens_details\":{\"cached_"
    "tokens\":2},\"output_tokens\":4,\"output_tokens_details\":{\"reasoning_"
    "tokens\":1},\"total_tokens\":13}}}\n\n";

TEST(ResponsesStreamDecoderTest, DecodesTextToolCallsAndUsage) {
  RecordingSink sink;
  ResponsesStreamDecoder decoder(sink);
  ASSERT_TRUE(FeedInPieces(decoder, kStream, {}).ok());
  v1::ChatCompletion answer = sink.assembler.Build();
  const v1::Message& message = answer.choices(0).message();
  EXPECT_EQ(message.content(), "Grüße 🚀");
  EXPECT_EQ(message.reasoning_content(), "Think.");
  ASSERT_EQ(message.tool_calls_size(), 1);
  EXPECT_EQ(message.tool_calls(0).id(), "call_9");
  EXPECT_EQ(message.tool_calls(0).function().arguments(), R"({"city":"Oslo"})");
  EXPECT_EQ(answer.choices(0).finish_reason(), "tool_calls");
  EXPECT_EQ(answer.usage().prompt_tokens(), 9);
  EXPECT_EQ(answer.usage().completion_tokens(), 4);
  EXPECT_EQ(answer.usage().prompt_tokens_details().cached_tokens(), 2);
  // Every event, the unknown one included, rides on some chunk, in order.
  std::string relayed;
  for (const v1::ChatCompletionChunk& chunk : sink.chunks) {
    relayed += chunk.passthrough_events();
  }
  EXPECT_NE(relayed.find("event: response.future_event\n"), std::string::npos);
  EXPECT_LT(relayed.find("response.created"),
            relayed.find("response.completed"));
}

TEST(ResponsesStreamDecoderTest, SameChunksAtEverySplit) {
  ExpectSameAtEverySplit(
      kStream, [](ChunkSink& sink) { return ResponsesStreamDecoder(sink); });
}

TEST(ResponsesStreamDecoderTest, AStreamWithoutItsResponseIsAnError) {
  RecordingSink sink;
  ResponsesStreamDecoder decoder(sink);
  std::string cut(kStream);
  cut.resize(cut.find("event: response.completed"));
  EXPECT_FALSE(FeedInPieces(decoder, cut, {}).ok());
}

TEST(ResponsesStreamDecoderTest, AFailedResponseIsAnError) {
  RecordingSink sink;
  ResponsesStreamDecoder decoder(sink);
  absl::Status status = FeedInPieces(
      decoder,
      "event: response.failed\ndata: {\"type\":\"response.failed\","
      "\"response\":{\"error\":{\"code\":\"server_error\",\"message\":"
      "\"Boom.\"}}}\n\n",
      {});
  EXPECT_FALSE(status.ok());
  EXPECT_NE(std::string(status.message()).find("Boom."), std::string::npos);
}

}  // namespace
}  // namespace aigw
