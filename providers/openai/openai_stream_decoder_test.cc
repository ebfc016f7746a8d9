#include "providers/openai/openai_stream_decoder.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "providers/common/api_error.h"
#include "providers/common/chat_assembler.h"
#include "providers/common/stream_decoder_testing.h"

namespace aigw {
namespace {

// Recorded from OpenAI (shared/fixtures/openai-recorded/
// chat-streaming-detailed-usage.yaml), trimmed, plus tool-call deltas in the
// shape OpenAI sends for parallel tool calls.
constexpr char kToolStream[] =
    "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\","
    "\"created\":1755137921,\"model\":\"gpt-5-nano-2025-08-07\","
    "\"service_tier\":\"default\",\"system_fingerprint\":null,\"choices\":[{"
    "\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":null,"
    "\"tool_calls\":[{\"index\":0,\"id\":\"call_a\",\"type\":\"function\","
    "\"function\":{\"name\":\"get_weather\",\"arguments\":\"\"}}],"
    "\"refusal\":null},\"finish_reason\":null}],\"usage\":null,"
    "\"obfuscation\":\"Wu\"}\n\n"
    "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\","
    "\"created\":1755137921,\"model\":\"gpt-5-nano-2025-08-07\",\"choices\":[{"
    "\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{"
    "\"arguments\":\"{\\\"loc\"}}]},\"finish_reason\":null}],\"usage\":null}"
    "\n\n"
    "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\","
    "\"created\":1755137921,\"model\":\"gpt-5-nano-2025-08-07\",\"choices\":[{"
    "\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{"
    "\"arguments\":\"ation\\\":\\\"Paris\\\"}\"}}]},\"finish_reason\":null}],"
    "\"usage\":null}\n\n"
    "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\","
    "\"created\":1755137921,\"model\":\"gpt-5-nano-2025-08-07\",\"choices\":[{"
    "\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":\"call_b\","
    "\"type\":\"function\",\"function\":{\"name\":\"get_time\","
    "\"arguments\":\"{\\\"tz\\\":\\\"CET\\\"}\"}}]},\"finish_reason\":null}],"
    "\"usage\":null}\n\n"
    "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\","
    "\"created\":1755137921,\"model\":\"gpt-5-nano-2025-08-07\",\"choices\":[{"
    "\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}],"
    "\"usage\":null}\n\n"
    "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\","
    "\"created\":1755137921,\"model\":\"gpt-5-nano-2025-08-07\","
    "\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":100,"
    "\"total_tokens\":112,\"prompt_tokens_details\":{\"cached_tokens\":3,"
    "\"audio_tokens\":0},\"completion_tokens_details\":{"
    "\"reasoning_tokens\":64,\"audio_tokens\":0,"
    "\"accepted_prediction_tokens\":0,\"rejected_prediction_tokens\":0}},"
    "\"obfuscation\":\"t9\"}\n\n"
    "data: [DONE]\n\n";

using stream_decoder_testing::ExpectSameAtEverySplit;
using stream_decoder_testing::FeedInPieces;
using stream_decoder_testing::RecordingSink;

OpenAiStreamDecoder MakeDecoder(ChunkSink& sink) {
  return OpenAiStreamDecoder(sink);
}

absl::Status Decode(const std::string& stream, const std::vector<size_t>& cuts,
                    RecordingSink* sink) {
  OpenAiStreamDecoder decoder = MakeDecoder(*sink);
  return FeedInPieces(decoder, stream, cuts);
}

TEST(OpenAiStreamDecoder, ToolCallsAndUsageAssembled) {
  RecordingSink sink;
  ASSERT_TRUE(Decode(kToolStream, {}, &sink).ok());
  ASSERT_EQ(sink.chunks.size(), 6u);
  v1::ChatCompletion c = sink.assembler.Build();
  ASSERT_EQ(c.choices_size(), 1);
  const v1::Message& m = c.choices(0).message();
  EXPECT_EQ(m.role(), "assistant");
  ASSERT_EQ(m.tool_calls_size(), 2);
  EXPECT_EQ(m.tool_calls(0).id(), "call_a");
  EXPECT_EQ(m.tool_calls(0).function().name(), "get_weather");
  EXPECT_EQ(m.tool_calls(0).function().arguments(), R"({"location":"Paris"})");
  EXPECT_EQ(m.tool_calls(1).id(), "call_b");
  EXPECT_EQ(m.tool_calls(1).function().arguments(), R"({"tz":"CET"})");
  EXPECT_EQ(c.choices(0).finish_reason(), "tool_calls");
  EXPECT_EQ(c.usage().prompt_tokens_details().cached_tokens(), 3);
  EXPECT_EQ(c.usage().completion_tokens_details().reasoning_tokens(), 64);
  // Tool-call deltas keep their index and id.
  EXPECT_EQ(sink.chunks[3].choices(0).delta().tool_calls(0).index(), 1);
}

TEST(OpenAiStreamDecoder, EverySplitPointGivesTheSameChunks) {
  const std::string stream = kToolStream;
  RecordingSink reference;
  ASSERT_TRUE(Decode(stream, {}, &reference).ok());
  ExpectSameAtEverySplit(stream, MakeDecoder);
}

TEST(OpenAiStreamDecoder, ErrorEventMidStreamStopsWithUpstreamMessage) {
  std::string stream(kToolStream);
  stream = stream.substr(0, stream.find("\n\n") + 2) +
           "data: {\"error\":{\"message\":\"overloaded\",\"type\":"
           "\"server_error\"}}\n\n";
  RecordingSink sink;
  absl::Status status = Decode(stream, {}, &sink);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(status.message(), "overloaded");
  EXPECT_EQ(sink.chunks.size(), 1u);
}

TEST(OpenAiStreamDecoder, StreamCutBeforeDoneIsAnError) {
  std::string stream(kToolStream);
  stream = stream.substr(0, stream.find("data: {", 10));  // first event only
  RecordingSink sink;
  absl::Status status = Decode(stream, {}, &sink);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(GetErrorDetails(status).http_status, 502);
}

TEST(OpenAiStreamDecoder, NonJsonEventIsAnError) {
  RecordingSink sink;
  absl::Status status = Decode("data: {oops\n\n", {}, &sink);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(sink.chunks.empty());
}

}  // namespace
}  // namespace aigw
