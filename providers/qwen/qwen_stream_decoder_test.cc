#include "providers/qwen/qwen_stream_decoder.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/str_replace.h"
#include "google/protobuf/util/message_differencer.h"
#include "providers/common/api_error.h"
#include "providers/common/chat_assembler.h"
#include "providers/common/stream_decoder_testing.h"

namespace aigw {
namespace {

// DashScope's native SSE as it sends it (incremental_output=true,
// result_format=message): id/event lines, an HTTP_STATUS comment, "data:"
// without a space, finish_reason "null" until the end, cumulative usage.
// A thinking model: reasoning first, then the answer (with multi-byte text).
constexpr char kReasoningStream[] = R"SSE(id:1
event:result
:HTTP_STATUS/200
data:{"output":{"choices":[{"message":{"content":"","reasoning_content":"The user","role":"assistant"},"finish_reason":"null"}]},"usage":{"total_tokens":24,"output_tokens":2,"input_tokens":22,"output_tokens_details":{"reasoning_tokens":2},"prompt_tokens_details":{"cached_tokens":0}},"request_id":"4c3e1a2b-6f5d-9d3c-8e2f-0a1b2c3d4e5f"}

id:2
event:result
:HTTP_STATUS/200
data:{"output":{"choices":[{"message":{"content":"","reasoning_content":" greets me.","role":"assistant"},"finish_reason":"null"}]},"usage":{"total_tokens":27,"output_tokens":5,"input_tokens":22,"output_tokens_details":{"reasoning_tokens":5},"prompt_tokens_details":{"cached_tokens":0}},"request_id":"4c3e1a2b-6f5d-9d3c-8e2f-0a1b2c3d4e5f"}

id:3
event:result
:HTTP_STATUS/200
data:{"output":{"choices":[{"message":{"content":"你好！","reasoning_content":"","role":"assistant"},"finish_reason":"null"}]},"usage":{"total_tokens":29,"output_tokens":7,"input_tokens":22,"output_tokens_details":{"reasoning_tokens":5},"prompt_tokens_details":{"cached_tokens":0}},"request_id":"4c3e1a2b-6f5d-9d3c-8e2f-0a1b2c3d4e5f"}

id:4
event:result
:HTTP_STATUS/200
data:{"output":{"choices":[{"message":{"content":" How can I help?","reasoning_content":"","role":"assistant"},"finish_reason":"null"}]},"usage":{"total_tokens":33,"output_tokens":11,"input_tokens":22,"output_tokens_details":{"reasoning_tokens":5},"prompt_tokens_details":{"cached_tokens":16}},"request_id":"4c3e1a2b-6f5d-9d3c-8e2f-0a1b2c3d4e5f"}

id:5
event:result
:HTTP_STATUS/200
data:{"output":{"choices":[{"message":{"content":"","reasoning_content":"","role":"assistant"},"finish_reason":"stop"}]},"usage":{"total_tokens":33,"output_tokens":11,"input_tokens":22,"output_tokens_details":{"reasoning_tokens":5},"prompt_tokens_details":{"cached_tokens":16}},"request_id":"4c3e1a2b-6f5d-9d3c-8e2f-0a1b2c3d4e5f"}

)SSE";

// Two parallel tool calls: the first fragment of each carries id, type and
// name; later fragments carry an empty id and argument pieces.
constexpr char kToolStream[] = R"SSE(id:1
event:result
:HTTP_STATUS/200
data:{"output":{"choices":[{"message":{"content":"","tool_calls":[{"index":0,"id":"call_6f2a","type":"function","function":{"name":"get_weather","arguments":""}}],"role":"assistant"},"finish_reason":"null"}]},"usage":{"total_tokens":210,"output_tokens":4,"input_tokens":206},"request_id":"b1c2d3e4-0000-1111-2222-333344445555"}

id:2
event:result
:HTTP_STATUS/200
data:{"output":{"choices":[{"message":{"content":"","tool_calls":[{"index":0,"id":"","type":"function","function":{"arguments":"{\"loc"}}],"role":"assistant"},"finish_reason":"null"}]},"usage":{"total_tokens":213,"output_tokens":7,"input_tokens":206},"request_id":"b1c2d3e4-0000-1111-2222-333344445555"}

id:3
event:result
:HTTP_STATUS/200
data:{"output":{"choices":[{"message":{"content":"","tool_calls":[{"index":0,"id":"","type":"function","function":{"arguments":"ation\": \"杭州"}}],"role":"assistant"},"finish_reason":"null"}]},"usage":{"total_tokens":216,"output_tokens":10,"input_tokens":206},"request_id":"b1c2d3e4-0000-1111-2222-333344445555"}

id:4
event:result
:HTTP_STATUS/200
data:{"output":{"choices":[{"message":{"content":"","tool_calls":[{"index":0,"id":"","type":"function","function":{"arguments":"\"}"}}],"role":"assistant"},"finish_reason":"null"}]},"usage":{"total_tokens":217,"output_tokens":11,"input_tokens":206},"request_id":"b1c2d3e4-0000-1111-2222-333344445555"}

id:5
event:result
:HTTP_STATUS/200
data:{"output":{"choices":[{"message":{"content":"","tool_calls":[{"index":1,"id":"call_9b7c","type":"function","function":{"name":"get_time","arguments":"{\"tz\":"}}],"role":"assistant"},"finish_reason":"null"}]},"usage":{"total_tokens":222,"output_tokens":16,"input_tokens":206},"request_id":"b1c2d3e4-0000-1111-2222-333344445555"}

id:6
event:result
:HTTP_STATUS/200
data:{"output":{"choices":[{"message":{"content":"","tool_calls":[{"index":1,"id":"","type":"function","function":{"arguments":" \"CST\"}"}}],"role":"assistant"},"finish_reason":"null"}]},"usage":{"total_tokens":225,"output_tokens":19,"input_tokens":206},"request_id":"b1c2d3e4-0000-1111-2222-333344445555"}

id:7
event:result
:HTTP_STATUS/200
data:{"output":{"choices":[{"message":{"content":"","role":"assistant"},"finish_reason":"tool_calls"}]},"usage":{"total_tokens":225,"output_tokens":19,"input_tokens":206},"request_id":"b1c2d3e4-0000-1111-2222-333344445555"}

)SSE";

constexpr char kErrorMidStream[] = R"SSE(id:1
event:result
:HTTP_STATUS/200
data:{"output":{"choices":[{"message":{"content":"Once upon","role":"assistant"},"finish_reason":"null"}]},"usage":{"total_tokens":12,"output_tokens":2,"input_tokens":10},"request_id":"e7e7e7e7-1234-5678-9abc-def012345678"}

id:2
event:error
:HTTP_STATUS/400
data:{"code":"DataInspectionFailed","message":"Output data may contain inappropriate content.","request_id":"e7e7e7e7-1234-5678-9abc-def012345678"}

)SSE";

// The multimodal-generation API streams content as a list of text items.
constexpr char kMultimodalStream[] = R"SSE(id:1
event:result
:HTTP_STATUS/200
data:{"output":{"choices":[{"message":{"content":[{"text":"A cat"}],"role":"assistant"},"finish_reason":"null"}]},"usage":{"input_tokens":1260,"output_tokens":2,"image_tokens":1232},"request_id":"aa11bb22-cc33-dd44-ee55-ff6677889900"}

id:2
event:result
:HTTP_STATUS/200
data:{"output":{"choices":[{"message":{"content":[{"text":" on a sofa."}],"role":"assistant"},"finish_reason":"stop"}]},"usage":{"input_tokens":1260,"output_tokens":6,"image_tokens":1232},"request_id":"aa11bb22-cc33-dd44-ee55-ff6677889900"}

)SSE";

using stream_decoder_testing::ExpectSameAtEverySplit;
using stream_decoder_testing::FeedInPieces;
using stream_decoder_testing::RecordingSink;

QwenStreamDecoder MakeDecoder(ChunkSink& sink) {
  return QwenStreamDecoder(sink, "qwen-plus", 1755000000);
}

// Feeds `stream` cut at `cuts`, like the HTTP client hands it over.
absl::Status Decode(const std::string& stream, const std::vector<size_t>& cuts,
                    RecordingSink* sink) {
  QwenStreamDecoder decoder = MakeDecoder(*sink);
  return FeedInPieces(decoder, stream, cuts);
}

void ExpectSameChunks(const RecordingSink& a, const RecordingSink& b,
                      const std::string& where) {
  ASSERT_EQ(a.chunks.size(), b.chunks.size()) << where;
  for (size_t i = 0; i < a.chunks.size(); ++i) {
    ASSERT_TRUE(google::protobuf::util::MessageDifferencer::Equals(a.chunks[i],
                                                                   b.chunks[i]))
        << where << ", chunk " << i << ":\n"
        << a.chunks[i].DebugString() << "vs\n"
        << b.chunks[i].DebugString();
  }
}

int FinishReasons(const RecordingSink& sink) {
  int n = 0;
  for (const auto& chunk : sink.chunks) {
    for (const auto& choice : chunk.choices()) {
      if (!choice.finish_reason().empty()) ++n;
    }
  }
  return n;
}

TEST(QwenStream, ReasoningTextAndUsageAssembled) {
  RecordingSink sink;
  ASSERT_TRUE(Decode(kReasoningStream, {}, &sink).ok());
  // 5 events, the last one an empty delta with the finish, then usage.
  ASSERT_EQ(sink.chunks.size(), 6u);
  const v1::ChatCompletionChunk& first = sink.chunks[0];
  EXPECT_EQ(first.id(), "chatcmpl-4c3e1a2b-6f5d-9d3c-8e2f-0a1b2c3d4e5f");
  EXPECT_EQ(first.object(), "chat.completion.chunk");
  EXPECT_EQ(first.created(), 1755000000);
  EXPECT_EQ(first.model(), "qwen-plus");
  EXPECT_EQ(first.choices(0).delta().role(), "assistant");
  EXPECT_EQ(first.choices(0).delta().reasoning_content(), "The user");
  EXPECT_FALSE(first.choices(0).delta().has_content());
  EXPECT_EQ(sink.chunks[1].choices(0).delta().role(), "");
  EXPECT_EQ(FinishReasons(sink), 1);
  const v1::ChatCompletionChunk& usage = sink.chunks.back();
  EXPECT_EQ(usage.choices_size(), 0);
  EXPECT_EQ(usage.usage().prompt_tokens(), 22);
  EXPECT_EQ(usage.usage().completion_tokens(), 11);
  EXPECT_EQ(usage.usage().total_tokens(), 33);
  EXPECT_EQ(usage.usage().prompt_tokens_details().cached_tokens(), 16);
  EXPECT_EQ(usage.usage().completion_tokens_details().reasoning_tokens(), 5);

  v1::ChatCompletion c = sink.assembler.Build();
  ASSERT_EQ(c.choices_size(), 1);
  EXPECT_EQ(c.choices(0).message().role(), "assistant");
  EXPECT_EQ(c.choices(0).message().reasoning_content(), "The user greets me.");
  EXPECT_EQ(c.choices(0).message().content(), "你好！ How can I help?");
  EXPECT_EQ(c.choices(0).finish_reason(), "stop");
}

TEST(QwenStream, ToolCallArgumentsSplitAcrossEvents) {
  RecordingSink sink;
  ASSERT_TRUE(Decode(kToolStream, {}, &sink).ok());
  ASSERT_EQ(sink.chunks.size(), 8u);
  // Each fragment keeps its index; the id and name come once per call.
  const v1::ToolCall& first = sink.chunks[0].choices(0).delta().tool_calls(0);
  EXPECT_EQ(first.index(), 0);
  EXPECT_EQ(first.id(), "call_6f2a");
  EXPECT_EQ(first.type(), "function");
  EXPECT_EQ(first.function().name(), "get_weather");
  const v1::ToolCall& piece = sink.chunks[1].choices(0).delta().tool_calls(0);
  EXPECT_EQ(piece.index(), 0);
  EXPECT_EQ(piece.id(), "");
  EXPECT_EQ(piece.function().name(), "");
  EXPECT_EQ(piece.function().arguments(), "{\"loc");
  EXPECT_EQ(sink.chunks[4].choices(0).delta().tool_calls(0).index(), 1);
  EXPECT_EQ(sink.chunks[4].choices(0).delta().tool_calls(0).id(), "call_9b7c");
  EXPECT_EQ(FinishReasons(sink), 1);

  v1::ChatCompletion c = sink.assembler.Build();
  const v1::Message& m = c.choices(0).message();
  ASSERT_EQ(m.tool_calls_size(), 2);
  EXPECT_EQ(m.tool_calls(0).id(), "call_6f2a");
  EXPECT_EQ(m.tool_calls(0).function().name(), "get_weather");
  EXPECT_EQ(m.tool_calls(0).function().arguments(), "{\"location\": \"杭州\"}");
  EXPECT_EQ(m.tool_calls(1).id(), "call_9b7c");
  EXPECT_EQ(m.tool_calls(1).function().name(), "get_time");
  EXPECT_EQ(m.tool_calls(1).function().arguments(), "{\"tz\": \"CST\"}");
  EXPECT_EQ(c.choices(0).finish_reason(), "tool_calls");
  EXPECT_EQ(c.usage().prompt_tokens(), 206);
  EXPECT_EQ(c.usage().completion_tokens(), 19);
}

TEST(QwenStream, EverySplitPointAndByteByByteGiveTheSameChunks) {
  for (const char* text : {kReasoningStream, kToolStream, kMultimodalStream}) {
    const std::string stream = text;
    RecordingSink reference;
    ASSERT_TRUE(Decode(stream, {}, &reference).ok());
    ExpectSameAtEverySplit(stream, MakeDecoder);
  }
}

TEST(QwenStream, CrlfLineEndingsDecodeTheSame) {
  RecordingSink reference;
  ASSERT_TRUE(Decode(kToolStream, {}, &reference).ok());
  RecordingSink crlf;
  ASSERT_TRUE(
      Decode(absl::StrReplaceAll(kToolStream, {{"\n", "\r\n"}}), {}, &crlf)
          .ok());
  ExpectSameChunks(crlf, reference, "crlf");
}

TEST(QwenStream, ErrorEventMidStreamKeepsUpstreamStatusAndMessage) {
  const std::string stream = kErrorMidStream;
  for (size_t cut = 0; cut < stream.size(); ++cut) {
    RecordingSink sink;
    std::vector<size_t> cuts;
    if (cut > 0) cuts.push_back(cut);
    absl::Status status = Decode(stream, cuts, &sink);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << cut;
    EXPECT_EQ(status.message(),
              "Output data may contain inappropriate content.");
    ErrorDetails details = GetErrorDetails(status);
    EXPECT_EQ(details.http_status, 400);
    EXPECT_EQ(details.code, "DataInspectionFailed");
    ASSERT_EQ(sink.chunks.size(), 1u) << "cut at " << cut;
    EXPECT_EQ(sink.chunks[0].choices(0).delta().content(), "Once upon");
  }
}

TEST(QwenStream, ErrorWithoutHttpStatusIsClassifiedByItsCode) {
  RecordingSink sink;
  absl::Status status = Decode(
      "event:error\ndata:{\"code\":\"Throttling.RateQuota\",\"message\":"
      "\"Requests rate limit exceeded.\",\"request_id\":\"r1\"}\n\n",
      {}, &sink);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(GetErrorDetails(status).http_status, 429);
  EXPECT_EQ(status.message(), "Requests rate limit exceeded.");

  status = Decode(
      "id:1\nevent:error\n:HTTP_STATUS/500\ndata:{\"code\":\"InternalError\","
      "\"message\":\"An internal error has occured.\"}\n\n",
      {}, &sink);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(GetErrorDetails(status).http_status, 502);
  EXPECT_TRUE(sink.chunks.empty());
}

TEST(QwenStream, StreamCutBeforeFinishIsAnError) {
  std::string stream(kReasoningStream);
  stream = stream.substr(0, stream.find("id:3"));
  RecordingSink sink;
  absl::Status status = Decode(stream, {}, &sink);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(GetErrorDetails(status).http_status, 502);
  EXPECT_EQ(sink.chunks.size(), 2u);  // what was decoded, but no usage
}

TEST(QwenStream, NonJsonEventIsAnError) {
  RecordingSink sink;
  absl::Status status = Decode("event:result\ndata:{oops\n\n", {}, &sink);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(sink.chunks.empty());
}

TEST(QwenStream, MultimodalContentListIsText) {
  RecordingSink sink;
  ASSERT_TRUE(Decode(kMultimodalStream, {}, &sink).ok());
  v1::ChatCompletion c = sink.assembler.Build();
  EXPECT_EQ(c.choices(0).message().content(), "A cat on a sofa.");
  EXPECT_EQ(c.usage().prompt_tokens(), 1260);
  EXPECT_EQ(c.usage().total_tokens(), 1266);  // no total_tokens: the sum
}

TEST(QwenStream, StopAfterToolCallsIsReportedAsToolCalls) {
  std::string stream(kToolStream);
  stream = absl::StrReplaceAll(stream, {{"\"finish_reason\":\"tool_calls\"",
                                         "\"finish_reason\":\"stop\""}});
  RecordingSink sink;
  ASSERT_TRUE(Decode(stream, {}, &sink).ok());
  EXPECT_EQ(sink.assembler.Build().choices(0).finish_reason(), "tool_calls");
}

TEST(QwenStream, RepeatedFinishReasonIsSentOnce) {
  std::string stream(kMultimodalStream);
  stream += stream.substr(stream.find("id:2"));  // the last event again
  RecordingSink sink;
  ASSERT_TRUE(Decode(stream, {}, &sink).ok());
  EXPECT_EQ(FinishReasons(sink), 1);
}

// Found by fuzz/sse_stream_fuzzer: casting 1e300 to an integer is undefined
// behaviour; out-of-range numbers saturate at the int32 limits instead.
TEST(QwenStream, OutOfRangeNumbersSaturateInsteadOfOverflowing) {
  const std::string stream =
      "id:1\nevent:result\n"
      "data:{\"output\":{\"choices\":[{\"index\":1e300,\"message\":{"
      "\"content\":\"hi\",\"role\":\"assistant\"},\"finish_reason\":"
      "\"stop\"}]},\"usage\":{\"total_tokens\":1e300,\"input_tokens\":"
      "2147483647,\"output_tokens\":99999999999999999999},"
      "\"request_id\":\"r\"}\n\n";
  RecordingSink sink;
  ASSERT_TRUE(Decode(stream, {}, &sink).ok());
  EXPECT_EQ(sink.chunks.front().choices(0).index(), INT32_MAX);
  const v1::ChatCompletionChunk& last = sink.chunks.back();
  ASSERT_TRUE(last.has_usage());
  EXPECT_EQ(last.usage().prompt_tokens(), INT32_MAX);
  EXPECT_EQ(last.usage().completion_tokens(), INT32_MAX);
  EXPECT_EQ(last.usage().total_tokens(), INT32_MAX);
}

TEST(QwenStream, ClientGoneStopsAtOnce) {
  RecordingSink sink;
  sink.stop_after = 2;
  QwenStreamDecoder decoder(sink, "qwen-plus", 1);
  EXPECT_FALSE(decoder.Feed(kToolStream));
  EXPECT_TRUE(decoder.client_gone());
  EXPECT_EQ(sink.chunks.size(), 2u);
}

// DashScope answers a failed SSE request with an SSE body; the shared HTTP
// error mapping reads the upstream's own message and code from it.
TEST(QwenStream, SseHttpErrorBodyIsUnwrapped) {
  const std::string body =
      "id:1\nevent:error\n:HTTP_STATUS/401\ndata:{\"code\":\"InvalidApiKey\","
      "\"message\":\"Invalid API-key provided.\",\"request_id\":\"r2\"}\n\n";
  absl::Status status = StatusFromUpstreamHttp(401, body);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(status.message(), "Invalid API-key provided.");
  EXPECT_EQ(GetErrorDetails(status).http_status, 401);
  EXPECT_EQ(GetErrorDetails(status).code, "InvalidApiKey");

  status =
      StatusFromUpstreamHttp(503, absl::StrReplaceAll(body, {{"401", "503"}}));
  EXPECT_EQ(status.message(),
            "upstream error (HTTP 503): Invalid API-key provided.");
  EXPECT_EQ(GetErrorDetails(status).http_status, 502);

  // A JSON error body maps the same way.
  absl::Status json_error = StatusFromUpstreamHttp(
      429, R"({"code":"Throttling","message":"slow down"})");
  EXPECT_EQ(json_error.message(), "slow down");
  EXPECT_EQ(GetErrorDetails(json_error).code, "Throttling");
}

}  // namespace
}  // namespace aigw
