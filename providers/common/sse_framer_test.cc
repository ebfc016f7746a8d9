#include "providers/common/sse_framer.h"

#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "gtest/gtest.h"

namespace aigw {

// Field-by-field equality and printing so EXPECT_EQ compares every field.
bool operator==(const SseEvent& a, const SseEvent& b) {
  return a.event == b.event && a.data == b.data && a.id == b.id &&
         a.retry_ms == b.retry_ms && a.comments == b.comments;
}

void PrintTo(const SseEvent& e, std::ostream* os) {
  *os << "{event=\"" << e.event << "\" data=\"" << e.data << "\" id=\"" << e.id
      << "\" retry_ms=" << e.retry_ms << " comments=[";
  for (size_t i = 0; i < e.comments.size(); ++i) {
    *os << (i ? ", " : "") << '"' << e.comments[i] << '"';
  }
  *os << "]}";
}

namespace {

SseEvent Ev(std::string data, std::string event = "", std::string id = "",
            int retry_ms = -1, std::vector<std::string> comments = {}) {
  SseEvent e;
  e.event = std::move(event);
  e.data = std::move(data);
  e.id = std::move(id);
  e.retry_ms = retry_ms;
  e.comments = std::move(comments);
  return e;
}

struct Result {
  std::vector<SseEvent> fed;  // emitted by Feed() alone
  std::vector<SseEvent> all;  // after Finish()
};

// Feeds `pieces` in order to a fresh framer, then finishes the stream.
Result Run(const std::vector<absl::string_view>& pieces) {
  SseFramer framer;
  Result r;
  for (absl::string_view p : pieces) framer.Feed(p, &r.fed);
  r.all = r.fed;
  framer.Finish(&r.all);
  return r;
}

std::vector<SseEvent> Parse(absl::string_view stream) {
  return Run({stream}).all;
}

// ---------------------------------------------------------------------------
// Realistic streams.

// Taken from shared/fixtures/openai-recorded/chat-streaming.yaml.
constexpr absl::string_view kOpenAiStream =
    R"sse(data: {"id":"chatcmpl-C4HqHBe4xca0k0EzsCnf1t6V3YFXp","object":"chat.completion.chunk","created":1755137933,"model":"gpt-5-nano-2025-08-07","service_tier":"default","system_fingerprint":null,"choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"finish_reason":null}],"obfuscation":"nX"}

data: {"id":"chatcmpl-C4HqHBe4xca0k0EzsCnf1t6V3YFXp","object":"chat.completion.chunk","created":1755137933,"model":"gpt-5-nano-2025-08-07","service_tier":"default","system_fingerprint":null,"choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}],"obfuscation":"UC"}

data: {"id":"chatcmpl-C4HqHBe4xca0k0EzsCnf1t6V3YFXp","object":"chat.completion.chunk","created":1755137933,"model":"gpt-5-nano-2025-08-07","service_tier":"default","system_fingerprint":null,"choices":[{"index":0,"delta":{"content":" there"},"finish_reason":null}],"obfuscation":"LcdzdJdMMgDHt6"}

data: {"id":"chatcmpl-C4HqHBe4xca0k0EzsCnf1t6V3YFXp","object":"chat.completion.chunk","created":1755137933,"model":"gpt-5-nano-2025-08-07","service_tier":"default","system_fingerprint":null,"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"obfuscation":"XQdNwPP14L3TH0"}

data: [DONE]

)sse";

// DashScope: no space after the colons, a status comment in every block.
constexpr absl::string_view kDashScopeStream =
    "id:1\n"
    "event:result\n"
    ":HTTP_STATUS/200\n"
    "data:{\"output\":{\"choices\":[{\"message\":{\"content\":\"你好\","
    "\"role\":\"assistant\"},\"finish_reason\":\"null\"}]},\"usage\":{"
    "\"total_tokens\":17,\"output_tokens\":1,\"input_tokens\":16},"
    "\"request_id\":\"5bd2a1f6-7c0e-9b8a-a3c4-1e2f3a4b5c6d\"}\n"
    "\n"
    "id:2\n"
    "event:result\n"
    ":HTTP_STATUS/200\n"
    "data:{\"output\":{\"choices\":[{\"message\":{\"content\":\"！有什么可以"
    "帮您？\",\"role\":\"assistant\"},\"finish_reason\":\"stop\"}]},"
    "\"usage\":{\"total_tokens\":24,\"output_tokens\":8,\"input_tokens\":16},"
    "\"request_id\":\"5bd2a1f6-7c0e-9b8a-a3c4-1e2f3a4b5c6d\"}\n"
    "\n"
    "id:3\n"
    "event:error\n"
    ":HTTP_STATUS/429\n"
    "data:{\"code\":\"Throttling\",\"message\":\"Requests rate limit "
    "exceeded.\",\"request_id\":\"5bd2a1f6-7c0e-9b8a-a3c4-1e2f3a4b5c6d\"}\n"
    "\n";

// Gemini streamGenerateContent?alt=sse: CRLF line ends and separators.
constexpr absl::string_view kGeminiStream =
    "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": "
    "\"Hello\"}],\"role\": \"model\"},\"index\": 0}],\"usageMetadata\": "
    "{\"promptTokenCount\": 3,\"totalTokenCount\": 3},\"modelVersion\": "
    "\"gemini-2.0-flash\"}\r\n\r\n"
    "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": "
    "\"! How can I help?\\n\"}],\"role\": \"model\"},\"finishReason\": "
    "\"STOP\",\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 3,"
    "\"candidatesTokenCount\": 9,\"totalTokenCount\": 12},\"modelVersion\": "
    "\"gemini-2.0-flash\"}\r\n\r\n";

// Old Mac style CR-only line ends, with trailing empty blocks.
constexpr absl::string_view kCrOnlyStream =
    ": ping\r\r"
    "event: delta\rdata: a\rdata: b\r\r"
    "id: 9\rretry: 250\rdata: c\r\r\r\r";

// BOM at the start, multi-byte UTF-8, mixed line ends, a bare "data" line.
constexpr absl::string_view kUtf8Stream =
    "\xEF\xBB\xBF"
    "data: 你好 ’\n\n"
    "data: ü€😀\r\n\r\n"
    "event: 完成\ndata\n\n";

// Short stream mixing every line-end style and ending without a blank line.
constexpr absl::string_view kMixedShortStream =
    "\xEF\xBB\xBF:c\r\nevent: e\rid: 7\ndata\ndata: a\r\n\r\n"
    "retry: 10\ndata:b";

// Starts with an incomplete BOM: the bytes are part of an unknown field.
constexpr absl::string_view kPartialBomStream = "\xEF\xBBx: y\ndata: z\r\n\r";

// Checks that feeding `stream` in any split gives the unsplit result.
void ExpectSplitInvariant(absl::string_view stream, bool try_pairs) {
  const Result ref = Run({stream});
  const size_t n = stream.size();
  for (size_t i = 0; i <= n; ++i) {
    const Result got = Run({stream.substr(0, i), stream.substr(i)});
    ASSERT_EQ(got.fed, ref.fed) << "split at " << i;
    ASSERT_EQ(got.all, ref.all) << "split at " << i;
  }
  if (try_pairs) {
    for (size_t i = 0; i <= n; ++i) {
      for (size_t j = i; j <= n; ++j) {
        const Result got = Run(
            {stream.substr(0, i), stream.substr(i, j - i), stream.substr(j)});
        ASSERT_EQ(got.fed, ref.fed) << "splits at " << i << ", " << j;
        ASSERT_EQ(got.all, ref.all) << "splits at " << i << ", " << j;
      }
    }
  }
  std::vector<absl::string_view> bytes;
  std::vector<absl::string_view> bytes_and_empties;
  for (size_t i = 0; i < n; ++i) {
    bytes.push_back(stream.substr(i, 1));
    bytes_and_empties.push_back(stream.substr(i, 1));
    bytes_and_empties.push_back(absl::string_view());
  }
  EXPECT_EQ(Run(bytes).fed, ref.fed) << "one byte at a time";
  EXPECT_EQ(Run(bytes).all, ref.all) << "one byte at a time";
  EXPECT_EQ(Run(bytes_and_empties).all, ref.all) << "bytes and empty feeds";
}

// ---------------------------------------------------------------------------
// Reference results of the realistic streams.

TEST(SseFramerTest, SseFramer_OpenAiStreamEvents) {
  const std::vector<SseEvent> events = Parse(kOpenAiStream);
  ASSERT_EQ(events.size(), 5u);
  EXPECT_NE(events[1].data.find("\"content\":\"Hi\""), std::string::npos);
  EXPECT_EQ(events[1].data.front(), '{');
  EXPECT_EQ(events[1].data.back(), '}');
  EXPECT_EQ(events[4], Ev("[DONE]"));
  for (const SseEvent& e : events) {
    EXPECT_EQ(e.event, "");
    EXPECT_TRUE(e.comments.empty());
  }
}

TEST(SseFramerTest, SseFramer_DashScopeStreamEvents) {
  const std::vector<SseEvent> events = Parse(kDashScopeStream);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].id, "1");
  EXPECT_EQ(events[0].event, "result");
  EXPECT_EQ(events[0].comments, std::vector<std::string>{"HTTP_STATUS/200"});
  EXPECT_EQ(events[0].data.substr(0, 11), "{\"output\":{");
  EXPECT_NE(events[1].data.find("！有什么可以帮您？"), std::string::npos);
  EXPECT_EQ(events[2].id, "3");
  EXPECT_EQ(events[2].event, "error");
  EXPECT_EQ(events[2].comments, std::vector<std::string>{"HTTP_STATUS/429"});
  EXPECT_EQ(events[2].data.substr(0, 21), "{\"code\":\"Throttling\",");
}

TEST(SseFramerTest, SseFramer_GeminiStreamEvents) {
  const std::vector<SseEvent> events = Parse(kGeminiStream);
  ASSERT_EQ(events.size(), 2u);
  for (const SseEvent& e : events) {
    EXPECT_EQ(e.data.front(), '{');
    EXPECT_EQ(e.data.back(), '}');
    EXPECT_EQ(e.data.find('\r'), std::string::npos);
  }
  EXPECT_NE(events[1].data.find("\"STOP\""), std::string::npos);
}

TEST(SseFramerTest, SseFramer_CrOnlyStreamEvents) {
  EXPECT_EQ(
      Parse(kCrOnlyStream),
      (std::vector<SseEvent>{Ev("", "", "", -1, {"ping"}), Ev("a\nb", "delta"),
                             Ev("c", "", "9", 250)}));
}

TEST(SseFramerTest, SseFramer_Utf8StreamEvents) {
  EXPECT_EQ(Parse(kUtf8Stream),
            (std::vector<SseEvent>{Ev("你好 ’"), Ev("ü€😀"), Ev("", "完成")}));
}

TEST(SseFramerTest, SseFramer_MixedShortStreamEvents) {
  EXPECT_EQ(Parse(kMixedShortStream),
            (std::vector<SseEvent>{Ev("\na", "e", "7", -1, {"c"}),
                                   Ev("b", "", "", 10)}));
}

TEST(SseFramerTest, SseFramer_PartialBomIsLineContent) {
  EXPECT_EQ(Parse(kPartialBomStream), std::vector<SseEvent>{Ev("z")});
}

// ---------------------------------------------------------------------------
// The same events whatever the chunking.

TEST(SseFramerTest, SseFramer_OpenAiStreamSplitAnywhere) {
  ExpectSplitInvariant(kOpenAiStream, /*try_pairs=*/false);
}

TEST(SseFramerTest, SseFramer_DashScopeStreamSplitAnywhere) {
  ExpectSplitInvariant(kDashScopeStream, /*try_pairs=*/false);
}

TEST(SseFramerTest, SseFramer_GeminiStreamSplitAnywhere) {
  ExpectSplitInvariant(kGeminiStream, /*try_pairs=*/false);
}

TEST(SseFramerTest, SseFramer_CrOnlyStreamSplitAnywhere) {
  ExpectSplitInvariant(kCrOnlyStream, /*try_pairs=*/true);
}

TEST(SseFramerTest, SseFramer_Utf8StreamSplitAnywhere) {
  ExpectSplitInvariant(kUtf8Stream, /*try_pairs=*/true);
}

TEST(SseFramerTest, SseFramer_MixedShortStreamSplitAnywhere) {
  ExpectSplitInvariant(kMixedShortStream, /*try_pairs=*/true);
}

TEST(SseFramerTest, SseFramer_PartialBomStreamSplitAnywhere) {
  ExpectSplitInvariant(kPartialBomStream, /*try_pairs=*/true);
}

// ---------------------------------------------------------------------------
// Individual parsing rules.

TEST(SseFramerTest, SseFramer_LfLineEnds) {
  EXPECT_EQ(Parse("data: a\n\ndata: b\n\n"),
            (std::vector<SseEvent>{Ev("a"), Ev("b")}));
}

TEST(SseFramerTest, SseFramer_CrLfLineEnds) {
  EXPECT_EQ(Parse("event: x\r\ndata: a\r\n\r\ndata: b\r\n\r\n"),
            (std::vector<SseEvent>{Ev("a", "x"), Ev("b")}));
}

TEST(SseFramerTest, SseFramer_CrOnlyLineEnds) {
  EXPECT_EQ(Parse("data: a\rdata: b\r\r"), std::vector<SseEvent>{Ev("a\nb")});
}

TEST(SseFramerTest, SseFramer_CrSplitFromLfAcrossFeeds) {
  SseFramer framer;
  std::vector<SseEvent> out;
  framer.Feed("data: a\r", &out);
  EXPECT_TRUE(out.empty());
  framer.Feed("", &out);  // An empty feed must not lose the pending CR.
  // This LF completes the CRLF; it is not a blank line ending the event.
  framer.Feed("\ndata: b\r", &out);
  EXPECT_TRUE(out.empty());
  framer.Feed("\n\r", &out);
  ASSERT_EQ(out, std::vector<SseEvent>{Ev("a\nb")});
  framer.Feed("\n", &out);  // Completes the blank line's CRLF: no new event.
  framer.Finish(&out);
  EXPECT_EQ(out, std::vector<SseEvent>{Ev("a\nb")});
}

TEST(SseFramerTest, SseFramer_DataWithoutSpace) {
  EXPECT_EQ(Parse("data:x\n\ndata:  two\n\ndata:\tt\n\n"),
            (std::vector<SseEvent>{Ev("x"), Ev(" two"), Ev("\tt")}));
}

TEST(SseFramerTest, SseFramer_ValueKeepsLaterColons) {
  EXPECT_EQ(Parse("data: a: b:c\n\n"), std::vector<SseEvent>{Ev("a: b:c")});
}

TEST(SseFramerTest, SseFramer_MultiLineData) {
  EXPECT_EQ(Parse("data: a\ndata:\ndata: b\n\n"),
            std::vector<SseEvent>{Ev("a\n\nb")});
}

TEST(SseFramerTest, SseFramer_FieldWithoutColonHasEmptyValue) {
  EXPECT_EQ(Parse("data\ndata\n\nevent\ndata: x\n\n"),
            (std::vector<SseEvent>{Ev("\n"), Ev("x")}));
}

TEST(SseFramerTest, SseFramer_EmptyDataLineIsDispatched) {
  EXPECT_EQ(Parse("data:\n\n"), std::vector<SseEvent>{Ev("")});
}

TEST(SseFramerTest, SseFramer_CommentOnlyBlockIsDispatched) {
  EXPECT_EQ(Parse(":HTTP_STATUS/200\n\n: keep-alive\n:\n\n"),
            (std::vector<SseEvent>{Ev("", "", "", -1, {"HTTP_STATUS/200"}),
                                   Ev("", "", "", -1, {"keep-alive", ""})}));
}

TEST(SseFramerTest, SseFramer_EventOnlyBlockIsDispatched) {
  EXPECT_EQ(Parse("event: ping\n\n"), std::vector<SseEvent>{Ev("", "ping")});
}

TEST(SseFramerTest, SseFramer_IdOrRetryOnlyBlockIsNotDispatched) {
  EXPECT_TRUE(Parse("id: 5\n\nretry: 100\n\n").empty());
}

TEST(SseFramerTest, SseFramer_EmptyBlocksProduceNothing) {
  EXPECT_TRUE(Parse("\n\n\r\n\r\r\n").empty());
  EXPECT_TRUE(Parse("").empty());
}

TEST(SseFramerTest, SseFramer_EventAndIdAndRetry) {
  EXPECT_EQ(Parse("event: delta\nid: 42\nretry: 3000\ndata: {}\n\n"),
            std::vector<SseEvent>{Ev("{}", "delta", "42", 3000)});
}

TEST(SseFramerTest, SseFramer_LastFieldValueWins) {
  EXPECT_EQ(Parse("event: a\nevent: b\nid: 1\nid: 2\ndata: x\n\n"),
            std::vector<SseEvent>{Ev("x", "b", "2")});
}

TEST(SseFramerTest, SseFramer_FieldsResetBetweenEvents) {
  EXPECT_EQ(Parse("event: a\nid: 1\nretry: 5\n:c\ndata: x\n\ndata: y\n\n"),
            (std::vector<SseEvent>{Ev("x", "a", "1", 5, {"c"}), Ev("y")}));
}

TEST(SseFramerTest, SseFramer_IdWithNulIsIgnored) {
  constexpr char kStream[] = "id: 1\nid: a\0b\ndata: x\n\n";
  const std::string stream(kStream, sizeof(kStream) - 1);
  EXPECT_EQ(Parse(stream), std::vector<SseEvent>{Ev("x", "", "1")});
}

TEST(SseFramerTest, SseFramer_InvalidRetryIsIgnored) {
  EXPECT_EQ(Parse("retry: 10a\nretry: -5\nretry:\nretry: 1 0\ndata: x\n\n"),
            std::vector<SseEvent>{Ev("x")});
  EXPECT_EQ(Parse("retry: 7\nretry: x\ndata: x\n\n"),
            std::vector<SseEvent>{Ev("x", "", "", 7)});
}

TEST(SseFramerTest, SseFramer_HugeRetrySaturates) {
  EXPECT_EQ(Parse("retry: 99999999999999999999\ndata: x\n\n"),
            std::vector<SseEvent>{Ev("x", "", "", 2147483647)});
}

TEST(SseFramerTest, SseFramer_IgnoresUnknownFields) {
  EXPECT_EQ(Parse("foo: bar\nDATA: no\nData: no\n data: no\ndata: y\n\n"),
            std::vector<SseEvent>{Ev("y")});
  EXPECT_TRUE(Parse("foo: bar\n\n").empty());
}

TEST(SseFramerTest, SseFramer_SkipsBomOnlyAtStreamStart) {
  EXPECT_EQ(Parse("\xEF\xBB\xBF"
                  "data: a\n\n"
                  "\xEF\xBB\xBF"
                  "data: b\n\n"),
            std::vector<SseEvent>{Ev("a")});
}

TEST(SseFramerTest, SseFramer_FinishFlushesUnterminatedEvent) {
  EXPECT_EQ(Parse("data: a\ndata: b"), std::vector<SseEvent>{Ev("a\nb")});
  EXPECT_EQ(Parse("data: a\n"), std::vector<SseEvent>{Ev("a")});
  EXPECT_EQ(Parse("data: a\r"), std::vector<SseEvent>{Ev("a")});
  EXPECT_EQ(Parse(":HTTP_STATUS/200"),
            std::vector<SseEvent>{Ev("", "", "", -1, {"HTTP_STATUS/200"})});
  EXPECT_TRUE(Parse("id: 3").empty());
}

TEST(SseFramerTest, SseFramer_FeedDoesNotDispatchWithoutBlankLine) {
  SseFramer framer;
  std::vector<SseEvent> out;
  framer.Feed("data: a\ndata: b\n", &out);
  EXPECT_TRUE(out.empty());
  framer.Finish(&out);
  EXPECT_EQ(out, std::vector<SseEvent>{Ev("a\nb")});
}

TEST(SseFramerTest, SseFramer_BufferedBytesTracksIncompleteLineAndEvent) {
  SseFramer framer;
  std::vector<SseEvent> out;
  EXPECT_EQ(framer.buffered_bytes(), 0u);
  framer.Feed("data: hel", &out);
  EXPECT_EQ(framer.buffered_bytes(), 9u);
  framer.Feed("lo", &out);
  EXPECT_EQ(framer.buffered_bytes(), 11u);
  framer.Feed("\n", &out);
  EXPECT_EQ(framer.buffered_bytes(), 5u);  // "hello", pending dispatch
  framer.Feed("\ndata: x", &out);
  EXPECT_EQ(framer.buffered_bytes(), 7u);
  EXPECT_EQ(out, std::vector<SseEvent>{Ev("hello")});
}

TEST(SseFramerTest, SseFramer_EventWithoutBlankLineCountsTowardTheCap) {
  SseFramer framer;
  std::vector<SseEvent> out;
  for (int i = 0; i < 1000; ++i) framer.Feed("data: x\n", &out);
  EXPECT_TRUE(out.empty());
  EXPECT_GE(framer.buffered_bytes(), 1000u);  // callers cap this
}

TEST(SseFramerTest, SseFramer_ReusableAfterFinish) {
  SseFramer framer;
  std::vector<SseEvent> out;
  framer.Feed("data: a\r", &out);
  framer.Finish(&out);
  // A new stream: its BOM is skipped again.
  framer.Feed(
      "\xEF\xBB\xBF"
      "data: b\n\n",
      &out);
  framer.Finish(&out);
  EXPECT_EQ(out, (std::vector<SseEvent>{Ev("a"), Ev("b")}));
}

}  // namespace
}  // namespace aigw
