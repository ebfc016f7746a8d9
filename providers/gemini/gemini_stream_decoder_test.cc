#include "providers/gemini/gemini_stream_decoder.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "providers/common/api_error.h"
#include "providers/common/chat_assembler.h"
#include "providers/common/json_struct.h"
#include "providers/common/stream_decoder_testing.h"

namespace aigw {
namespace {

// streamGenerateContent?alt=sse as generativelanguage.googleapis.com sends
// it: "data: <GenerateContentResponse>" events separated by CRLF CRLF, every
// event repeating the cumulative usageMetadata, finishReason on the last.
constexpr char kTextStream[] =
    "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": "
    "\"Bonjour\"}],\"role\": \"model\"},\"index\": 0}],\"usageMetadata\": "
    "{\"promptTokenCount\": 9,\"totalTokenCount\": 9,"
    "\"promptTokensDetails\": [{\"modality\": \"TEXT\",\"tokenCount\": 9}]},"
    "\"modelVersion\": \"gemini-2.5-flash\",\"responseId\": "
    "\"tTCwacuEBMvnitYP06qsgQY\"}\r\n\r\n"
    "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \" le "
    "monde, \\u00e7a va ?\"}],\"role\": \"model\"},\"index\": 0}],"
    "\"usageMetadata\": {\"promptTokenCount\": 9,\"totalTokenCount\": 9},"
    "\"modelVersion\": \"gemini-2.5-flash\",\"responseId\": "
    "\"tTCwacuEBMvnitYP06qsgQY\"}\r\n\r\n"
    "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"\","
    "\"thoughtSignature\": \"AY89a18iOcFus5wr5bW5xN6zZ4aU\"}],\"role\": "
    "\"model\"},\"finishReason\": \"STOP\",\"index\": 0}],\"usageMetadata\": "
    "{\"promptTokenCount\": 9,\"candidatesTokenCount\": 7,"
    "\"totalTokenCount\": 41,\"cachedContentTokenCount\": 4,"
    "\"thoughtsTokenCount\": 25},\"modelVersion\": \"gemini-2.5-flash\","
    "\"responseId\": \"tTCwacuEBMvnitYP06qsgQY\"}\r\n\r\n";

// Thought summaries (includeThoughts), then two parallel function calls, each
// complete in its part, the second in a later event.
constexpr char kToolStream[] =
    "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": "
    "\"**Checking the weather**\\nThe user wants two cities.\",\"thought\": "
    "true}],\"role\": \"model\"},\"index\": 0}],\"usageMetadata\": "
    "{\"promptTokenCount\": 61,\"totalTokenCount\": 61,"
    "\"thoughtsTokenCount\": 30},\"modelVersion\": \"gemini-2.5-pro\","
    "\"responseId\": \"r-42\"}\r\n\r\n"
    "data: {\"candidates\": [{\"content\": {\"parts\": [{\"functionCall\": "
    "{\"name\": \"get_weather\",\"args\": {\"city\": \"Paris\",\"units\": "
    "\"celsius\"}},\"thoughtSignature\": \"CiQB0e2Kb7sig\"}],\"role\": "
    "\"model\"},\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 61,"
    "\"totalTokenCount\": 61,\"thoughtsTokenCount\": 30},\"modelVersion\": "
    "\"gemini-2.5-pro\",\"responseId\": \"r-42\"}\r\n\r\n"
    "data: {\"candidates\": [{\"content\": {\"parts\": [{\"functionCall\": "
    "{\"name\": \"get_weather\",\"args\": {\"city\": \"Tokyo\",\"units\": "
    "\"celsius\"}}},{\"functionCall\": {\"name\": \"get_time\"}}],\"role\": "
    "\"model\"},\"finishReason\": \"STOP\",\"index\": 0}],"
    "\"usageMetadata\": {\"promptTokenCount\": 61,\"candidatesTokenCount\": "
    "24,\"totalTokenCount\": 115,\"thoughtsTokenCount\": 30},"
    "\"modelVersion\": \"gemini-2.5-pro\",\"responseId\": \"r-42\"}\r\n\r\n";

using stream_decoder_testing::FeedInPieces;
using stream_decoder_testing::RecordingSink;

GeminiStreamDecoder MakeDecoder(ChunkSink& sink) {
  return GeminiStreamDecoder(sink, "gemini-requested");
}

absl::Status Decode(const std::string& stream, const std::vector<size_t>& cuts,
                    RecordingSink* sink) {
  GeminiStreamDecoder decoder = MakeDecoder(*sink);
  return FeedInPieces(decoder, stream, cuts);
}

// Every split point and byte-by-byte feeding give exactly the chunks of one
// whole read: no event lost, none duplicated.
void ExpectSameAtEverySplit(const std::string& stream) {
  stream_decoder_testing::ExpectSameAtEverySplit(
      stream, MakeDecoder,
      [](v1::ChatCompletionChunk& a, v1::ChatCompletionChunk& b) {
        a.clear_created();  // the clock may tick between decoders
        b.clear_created();
        if (a.id().rfind("chatcmpl-", 0) == 0 && b.id() != a.id()) {
          ASSERT_EQ(a.id().size(), b.id().size());
          a.clear_id();  // random ids only differ when upstream sent none
          b.clear_id();
        }
        // Generated tool call ids are random too.
        for (v1::ChatCompletionChunk* chunk : {&a, &b}) {
          for (v1::ChunkChoice& choice : *chunk->mutable_choices()) {
            for (v1::ToolCall& call :
                 *choice.mutable_delta()->mutable_tool_calls()) {
              if (call.id().rfind("call_", 0) == 0) call.set_id("call_");
            }
          }
        }
      });
}

// Ids aigw makes up for Gemini's calls: "call_" and 32 hex digits.
void ExpectGeneratedId(const std::string& id) {
  EXPECT_EQ(id.size(), 37u) << id;
  EXPECT_EQ(id.rfind("call_", 0), 0u) << id;
}

TEST(GeminiStream, TextDeltasFinishAndUsageOnceAtTheEnd) {
  RecordingSink sink;
  ASSERT_TRUE(Decode(kTextStream, {}, &sink).ok());
  // role+text, text, finish, usage: the signature-only part adds no delta.
  ASSERT_EQ(sink.chunks.size(), 4u);
  EXPECT_EQ(sink.chunks[0].id(), "chatcmpl-tTCwacuEBMvnitYP06qsgQY");
  EXPECT_EQ(sink.chunks[0].object(), "chat.completion.chunk");
  EXPECT_EQ(sink.chunks[0].model(), "gemini-2.5-flash");
  EXPECT_GT(sink.chunks[0].created(), 1700000000);
  EXPECT_EQ(sink.chunks[0].choices(0).delta().role(), "assistant");
  EXPECT_EQ(sink.chunks[0].choices(0).delta().content(), "Bonjour");
  EXPECT_EQ(sink.chunks[1].choices(0).delta().content(),
            " le monde, \xc3\xa7"
            "a va ?");
  EXPECT_EQ(sink.chunks[1].choices(0).delta().role(), "");
  EXPECT_EQ(sink.chunks[2].choices(0).finish_reason(), "stop");
  EXPECT_FALSE(sink.chunks[2].choices(0).delta().has_content());
  for (size_t i = 0; i + 1 < sink.chunks.size(); ++i) {
    EXPECT_FALSE(sink.chunks[i].has_usage()) << i;
  }
  const v1::ChatCompletionChunk& last = sink.chunks.back();
  EXPECT_EQ(last.choices_size(), 0);
  ASSERT_TRUE(last.has_usage());
  EXPECT_EQ(last.usage().prompt_tokens(), 9);
  EXPECT_EQ(last.usage().completion_tokens(), 32);  // 7 + 25 thoughts
  EXPECT_EQ(last.usage().total_tokens(), 41);
  EXPECT_EQ(last.usage().prompt_tokens_details().cached_tokens(), 4);
  EXPECT_EQ(last.usage().completion_tokens_details().reasoning_tokens(), 25);
  v1::ChatCompletion c = sink.assembler.Build();
  EXPECT_EQ(c.choices(0).message().content(),
            "Bonjour le monde, \xc3\xa7"
            "a va ?");
  EXPECT_EQ(c.choices(0).finish_reason(), "stop");
}

TEST(GeminiStream, TextStreamSameAtEverySplitPoint) {
  ExpectSameAtEverySplit(kTextStream);
}

TEST(GeminiStream, FunctionCallsAreCompleteToolCallDeltasWithIndexAndId) {
  RecordingSink sink;
  ASSERT_TRUE(Decode(kToolStream, {}, &sink).ok());
  // role+thought, then each call in its own chunk as OpenAI streams them,
  // the finish_reason on the last, then usage.
  ASSERT_EQ(sink.chunks.size(), 5u);
  const v1::Message& first = sink.chunks[0].choices(0).delta();
  EXPECT_EQ(first.role(), "assistant");
  EXPECT_EQ(first.reasoning_content(),
            "**Checking the weather**\nThe user wants two cities.");
  EXPECT_FALSE(first.has_content());
  const v1::ToolCall& paris = sink.chunks[1].choices(0).delta().tool_calls(0);
  EXPECT_EQ(paris.index(), 0);
  ExpectGeneratedId(paris.id());
  EXPECT_EQ(paris.type(), "function");
  EXPECT_EQ(paris.function().name(), "get_weather");
  EXPECT_EQ(paris.function().arguments(),
            R"({"city":"Paris","units":"celsius"})");
  const v1::ChunkChoice& tokyo = sink.chunks[2].choices(0);
  ASSERT_EQ(tokyo.delta().tool_calls_size(), 1);
  EXPECT_EQ(tokyo.delta().tool_calls(0).index(), 1);
  ExpectGeneratedId(tokyo.delta().tool_calls(0).id());
  EXPECT_TRUE(tokyo.finish_reason().empty());
  const v1::ChunkChoice& last = sink.chunks[3].choices(0);
  ASSERT_EQ(last.delta().tool_calls_size(), 1);
  EXPECT_EQ(last.delta().tool_calls(0).index(), 2);
  ExpectGeneratedId(last.delta().tool_calls(0).id());
  EXPECT_EQ(last.delta().tool_calls(0).function().arguments(), "{}");
  EXPECT_EQ(last.finish_reason(), "tool_calls");  // STOP with calls
  // Unique within the answer (and, being random, across turns).
  EXPECT_NE(paris.id(), tokyo.delta().tool_calls(0).id());
  EXPECT_NE(last.delta().tool_calls(0).id(), tokyo.delta().tool_calls(0).id());
  v1::ChatCompletion c = sink.assembler.Build();
  ASSERT_EQ(c.choices(0).message().tool_calls_size(), 3);
  EXPECT_EQ(c.choices(0).message().tool_calls(1).function().arguments(),
            R"({"city":"Tokyo","units":"celsius"})");
  EXPECT_EQ(c.usage().completion_tokens(), 54);
  EXPECT_EQ(c.usage().completion_tokens_details().reasoning_tokens(), 30);
  EXPECT_EQ(c.usage().total_tokens(), 115);
  EXPECT_EQ(c.id(), "chatcmpl-r-42");
}

TEST(GeminiStream, ToolStreamSameAtEverySplitPoint) {
  ExpectSameAtEverySplit(kToolStream);
}

TEST(GeminiStream, UpstreamFunctionCallIdIsKept) {
  RecordingSink sink;
  ASSERT_TRUE(
      Decode("data: {\"candidates\":[{\"content\":{\"parts\":[{"
             "\"functionCall\":{\"id\":\"fc-7\",\"name\":\"f\",\"args\":{}}}],"
             "\"role\":\"model\"},\"finishReason\":\"STOP\"}]}\r\n\r\n",
             {}, &sink)
          .ok());
  ASSERT_GE(sink.chunks.size(), 2u);  // role, then the call
  ASSERT_EQ(sink.chunks[1].choices(0).delta().tool_calls_size(), 1);
  EXPECT_EQ(sink.chunks[1].choices(0).delta().tool_calls(0).id(), "fc-7");
}

// Found by fuzz/sse_stream_fuzzer: adding int token counts near INT32_MAX was
// a signed overflow (undefined behaviour); sums now saturate at INT32_MAX.
TEST(GeminiStream, HugeUsageCountsSaturateInsteadOfOverflowing) {
  const std::string stream =
      "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": "
      "\"hi\"}],\"role\": \"model\"},\"finishReason\": \"STOP\","
      "\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": "
      "2147483647,\"toolUsePromptTokenCount\": 2147483647,"
      "\"candidatesTokenCount\": 18446744073709551615,"
      "\"thoughtsTokenCount\": 2147483647}}\n\n";
  RecordingSink sink;
  ASSERT_TRUE(Decode(stream, {}, &sink).ok());
  const v1::ChatCompletionChunk& last = sink.chunks.back();
  ASSERT_TRUE(last.has_usage());
  EXPECT_EQ(last.usage().prompt_tokens(), INT32_MAX);
  EXPECT_EQ(last.usage().completion_tokens(), INT32_MAX);
  EXPECT_EQ(last.usage().total_tokens(), INT32_MAX);
  EXPECT_EQ(last.usage().completion_tokens_details().reasoning_tokens(),
            INT32_MAX);
}

TEST(GeminiStream, ErrorEventMidStreamStopsWithUpstreamStatusAndMessage) {
  std::string stream(kTextStream);
  stream = stream.substr(0, stream.find("\r\n\r\n") + 4) +
           "data: {\"error\": {\"code\": 503,\"message\": \"The model is "
           "overloaded. Please try again later.\",\"status\": "
           "\"UNAVAILABLE\"}}\r\n\r\n";
  RecordingSink sink;
  absl::Status status = Decode(stream, {}, &sink);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(GetErrorDetails(status).http_status, 502);
  EXPECT_NE(status.message().find("The model is overloaded"),
            absl::string_view::npos);
  EXPECT_EQ(sink.chunks.size(), 1u);  // no usage chunk after an error
  ExpectSameAtEverySplit(stream);
}

TEST(GeminiStream, RateLimitErrorEventKeeps429) {
  RecordingSink sink;
  absl::Status status = Decode(
      "data: {\"error\": {\"code\": 429,\"message\": \"Resource has been "
      "exhausted\",\"status\": \"RESOURCE_EXHAUSTED\"}}\r\n\r\n",
      {}, &sink);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(GetErrorDetails(status).http_status, 429);
  EXPECT_EQ(status.message(), "Resource has been exhausted");
}

TEST(GeminiStream, BlockedPromptIsA400ContentFilterError) {
  RecordingSink sink;
  absl::Status status = Decode(
      "data: {\"promptFeedback\": {\"blockReason\": \"SAFETY\","
      "\"safetyRatings\": [{\"category\": \"HARM_CATEGORY_HARASSMENT\","
      "\"probability\": \"HIGH\"}]},\"usageMetadata\": {\"promptTokenCount\": "
      "12,\"totalTokenCount\": 12},\"modelVersion\": \"gemini-2.5-flash\"}"
      "\r\n\r\n",
      {}, &sink);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  ErrorDetails details = GetErrorDetails(status);
  EXPECT_EQ(details.http_status, 400);
  EXPECT_EQ(details.code, "content_filter");
  EXPECT_NE(status.message().find("SAFETY"), absl::string_view::npos);
  EXPECT_TRUE(sink.chunks.empty());
}

TEST(GeminiStream, FinishReasonsMapToOpenAi) {
  const std::pair<const char*, const char*> cases[] = {
      {"MAX_TOKENS", "length"},
      {"SAFETY", "content_filter"},
      {"RECITATION", "content_filter"},
      {"BLOCKLIST", "content_filter"},
      {"PROHIBITED_CONTENT", "content_filter"},
      {"SPII", "content_filter"},
      {"STOP", "stop"},
      {"OTHER", "stop"}};
  for (const auto& [gemini, openai] : cases) {
    RecordingSink sink;
    std::string stream = std::string(
                             "data: {\"candidates\": [{\"content\": "
                             "{\"parts\": [{\"text\": \"x\"}],\"role\": "
                             "\"model\"},\"finishReason\": \"") +
                         gemini + "\",\"index\": 0}]}\r\n\r\n";
    ASSERT_TRUE(Decode(stream, {}, &sink).ok()) << gemini;
    EXPECT_EQ(sink.assembler.Build().choices(0).finish_reason(), openai)
        << gemini;
  }
}

TEST(GeminiStream, SeveralCandidatesAreSeveralChoicesEachFinishedOnce) {
  RecordingSink sink;
  ASSERT_TRUE(
      Decode("data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": "
             "\"A\"}],\"role\": \"model\"},\"index\": 0},{\"content\": "
             "{\"parts\": [{\"text\": \"B\"}],\"role\": \"model\"},"
             "\"index\": 1}]}\r\n\r\n"
             "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": "
             "\"a\"}],\"role\": \"model\"},\"finishReason\": \"STOP\","
             "\"index\": 0},{\"finishReason\": \"MAX_TOKENS\",\"index\": 1}]}"
             "\r\n\r\n",
             {}, &sink)
          .ok());
  v1::ChatCompletion c = sink.assembler.Build();
  ASSERT_EQ(c.choices_size(), 2);
  EXPECT_EQ(c.choices(0).message().content(), "Aa");
  EXPECT_EQ(c.choices(1).message().content(), "B");
  EXPECT_EQ(c.choices(1).finish_reason(), "length");
  int finishes = 0;
  for (const auto& chunk : sink.chunks) {
    for (const auto& choice : chunk.choices()) {
      finishes += !choice.finish_reason().empty();
    }
  }
  EXPECT_EQ(finishes, 2);
}

TEST(GeminiStream, StreamCutBeforeFinishReasonIsA502) {
  std::string stream(kTextStream);
  stream = stream.substr(0, stream.find("\r\n\r\n") + 4);
  RecordingSink sink;
  absl::Status status = Decode(stream, {}, &sink);
  EXPECT_EQ(GetErrorDetails(status).http_status, 502);
  EXPECT_EQ(sink.chunks.size(), 1u);
}

TEST(GeminiStream, EmptyStreamIsA502) {
  RecordingSink sink;
  EXPECT_EQ(GetErrorDetails(Decode("", {}, &sink)).http_status, 502);
}

TEST(GeminiStream, NonJsonEventIsA502) {
  RecordingSink sink;
  absl::Status status = Decode("data: {oops\r\n\r\n", {}, &sink);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(sink.chunks.empty());
}

TEST(GeminiStream, LastEventWithoutBlankLineIsStillDecoded) {
  std::string stream(kTextStream);
  stream.resize(stream.size() - 4);  // no final CRLF CRLF
  RecordingSink sink;
  ASSERT_TRUE(Decode(stream, {}, &sink).ok());
  EXPECT_EQ(sink.assembler.Build().choices(0).finish_reason(), "stop");
}

TEST(GeminiStream, ClientGoneStopsDecoding) {
  class LeavingSink : public ChunkSink {
   public:
    bool Write(v1::ChatCompletionChunk) override { return ++writes < 2; }
    int writes = 0;
  } sink;
  GeminiStreamDecoder decoder(sink, "m");
  EXPECT_FALSE(decoder.Feed(kTextStream));
  EXPECT_TRUE(decoder.client_gone());
  EXPECT_EQ(sink.writes, 2);
}

// generateContent's whole answer goes through the same decoding.
TEST(GeminiWhole, NonStreamingAnswerAssemblesLikeTheStream) {
  constexpr char kWhole[] = R"({
  "candidates": [{
    "content": {"parts": [
      {"text": "Let me think.", "thought": true},
      {"text": "Calling the tool."},
      {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}},
       "thoughtSignature": "CiQB0e2Kb7"}],
      "role": "model"},
    "finishReason": "STOP", "index": 0,
    "safetyRatings": []}],
  "usageMetadata": {"promptTokenCount": 20, "candidatesTokenCount": 10,
    "totalTokenCount": 35, "thoughtsTokenCount": 5},
  "modelVersion": "gemini-2.5-flash", "responseId": "whole-1"})";
  ChatAssembler assembler;
  GeminiStreamDecoder decoder(assembler, "gemini-requested");
  ASSERT_TRUE(decoder.FeedWhole(kWhole));
  ASSERT_TRUE(decoder.Finish().ok());
  v1::ChatCompletion c = assembler.Build();
  EXPECT_EQ(c.id(), "chatcmpl-whole-1");
  EXPECT_EQ(c.object(), "chat.completion");
  const v1::Message& m = c.choices(0).message();
  EXPECT_EQ(m.role(), "assistant");
  EXPECT_EQ(m.content(), "Calling the tool.");
  EXPECT_EQ(m.reasoning_content(), "Let me think.");
  ASSERT_EQ(m.tool_calls_size(), 1);
  ExpectGeneratedId(m.tool_calls(0).id());
  EXPECT_FALSE(m.tool_calls(0).has_index());
  EXPECT_EQ(m.tool_calls(0).function().arguments(), R"({"city":"Paris"})");
  EXPECT_EQ(c.choices(0).finish_reason(), "tool_calls");
  EXPECT_EQ(c.usage().prompt_tokens(), 20);
  EXPECT_EQ(c.usage().completion_tokens(), 15);
  EXPECT_EQ(c.usage().total_tokens(), 35);
}

TEST(GeminiWhole, MissingUsageStillSendsAZeroUsageChunkAndGeneratesAnId) {
  RecordingSink sink;
  GeminiStreamDecoder decoder(sink, "gemini-requested");
  ASSERT_TRUE(decoder.FeedWhole(
      R"({"candidates":[{"content":{"parts":[{"text":"hi"}],"role":"model"},)"
      R"("finishReason":"STOP"}]})"));
  ASSERT_TRUE(decoder.Finish().ok());
  ASSERT_EQ(sink.chunks.size(), 2u);
  EXPECT_EQ(sink.chunks[0].model(), "gemini-requested");
  EXPECT_EQ(sink.chunks[0].id().rfind("chatcmpl-", 0), 0u);
  EXPECT_GT(sink.chunks[0].id().size(), 12u);
  EXPECT_TRUE(sink.chunks[1].has_usage());
  EXPECT_EQ(sink.chunks[1].usage().total_tokens(), 0);
}

TEST(GeminiWhole, NotJsonIsA502) {
  RecordingSink sink;
  GeminiStreamDecoder decoder(sink, "m");
  EXPECT_FALSE(decoder.FeedWhole("<html>"));
  EXPECT_EQ(GetErrorDetails(decoder.error()).http_status, 502);
}

// responseLogprobs answers carry logprobsResult per candidate; the client
// gets OpenAI's logprobs object, in stream chunks and in the whole answer.
TEST(GeminiStream, LogprobsResultBecomesOpenAiLogprobs) {
  constexpr char kStream[] =
      "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"Hi\"}],"
      "\"role\": \"model\"},\"finishReason\": \"STOP\",\"index\": 0,"
      "\"logprobsResult\": {\"topCandidates\": [{\"candidates\": ["
      "{\"token\": \"Hi\",\"logProbability\": -0.25},{\"token\": \"Yo\","
      "\"logProbability\": -1.5}]}],\"chosenCandidates\": [{\"token\": "
      "\"Hi\",\"logProbability\": -0.25}]}}],\"responseId\": \"r\"}\r\n\r\n";
  RecordingSink sink;
  ASSERT_TRUE(Decode(kStream, {}, &sink).ok());
  ASSERT_TRUE(sink.chunks[0].choices(0).has_logprobs());
  nlohmann::json expected = nlohmann::json::parse(R"({"content": [
      {"token": "Hi", "logprob": -0.25, "bytes": [72, 105],
       "top_logprobs": [{"token": "Hi", "logprob": -0.25, "bytes": [72, 105]},
                        {"token": "Yo", "logprob": -1.5, "bytes": [89, 111]}]}
    ], "refusal": null})");
  EXPECT_EQ(StructToJson(sink.chunks[0].choices(0).logprobs()), expected);
  v1::ChatCompletion whole = sink.assembler.Build();
  EXPECT_EQ(StructToJson(whole.choices(0).logprobs()), expected);
}

}  // namespace
}  // namespace aigw
