// libFuzzer target: bytes an upstream answers with, read the way
// UpstreamExchange (server/net/upstream_client.cc) reads them: the head with
// read_header into a 64 KiB flat_buffer (ConfigureResponseParser), the
// buffer's max_size then cut to kResponseBodyBuffer, the body with
// read_some into a 4 KiB buffer_body until is_done. A 2xx body goes, piece
// by piece, to each provider's stream decoder as RunStream
// (server/upstream_call.cc) feeds it, then Finish() when the body ended; the
// whole body also as a non-streamed answer (OpenAI JSON, Gemini FeedWhole).
// A non-2xx answer becomes StatusFromUpstreamHttp(status, body, Retry-After)
// as Start() makes it. Control bytes (fuzz_stream.h): the read splits, and
// the sink (ChatAssembler, or a counting sink that may refuse after N).
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "fuzz/fuzz_stream.h"
#include "providers/claude/claude_stream_decoder.h"
#include "providers/common/api_error.h"
#include "providers/common/chat_assembler.h"
#include "providers/common/openai_response_json.h"
#include "providers/gemini/gemini_stream_decoder.h"
#include "providers/openai/openai_stream_decoder.h"
#include "providers/qwen/qwen_stream_decoder.h"
#include "server/net/response_head.h"

namespace {

namespace beast = boost::beast;
namespace http = beast::http;

absl::string_view View(boost::core::string_view s) {
  return absl::string_view(s.data(), s.size());
}

// Counts chunks; refuses the one after `accept` (0: never), as a client
// that went away makes the real sink do.
class CountingSink : public aigw::ChunkSink {
 public:
  explicit CountingSink(size_t accept) : accept_(accept) {}
  bool Write(aigw::v1::ChatCompletionChunk chunk) override {
    (void)chunk.ByteSizeLong();
    ++count_;
    return accept_ == 0 || count_ <= accept_;
  }

 private:
  size_t accept_;
  size_t count_ = 0;
};

// What the upstream answered: the head's status and the body's pieces.
struct Answer {
  int status = 0;
  std::string retry_after;
  std::vector<std::string> pieces;
  bool ended = false;  // Read() returned its empty end (not an error)
};

// Start() up to the head, then Read() until the end or an error.
bool ReadAnswer(aigw_fuzz::FuzzStream& stream, Answer* answer) {
  beast::flat_buffer buffer(aigw::kMaxResponseHead);
  aigw::ResponseParser parser;
  aigw::ConfigureResponseParser(parser);
  beast::error_code ec;
  http::read_header(stream, buffer, parser, ec);
  FUZZ_CHECK(buffer.size() <= buffer.max_size());
  if (ec) return false;  // "could not read the answer"
  FUZZ_CHECK(parser.is_header_done());
  buffer.max_size(std::max(aigw::kResponseBodyBuffer, buffer.size()));

  const http::response_header<>& head = parser.get().base();
  size_t rate_limit_headers = 0;
  for (const auto& field : head) {
    if (absl::StartsWithIgnoreCase(View(field.name_string()), "x-ratelimit-")) {
      ++rate_limit_headers;
    }
  }
  (void)rate_limit_headers;
  answer->status = static_cast<int>(head.result_int());
  answer->retry_after = std::string(View(head[http::field::retry_after]));
  const boost::optional<uint64_t> declared = parser.content_length();
  const bool no_body = answer->status / 100 == 1 || answer->status == 204 ||
                       answer->status == 304;

  char body[aigw::kResponseBodyBuffer];
  size_t total = 0;
  // Each round parses something or reads; a parser that does neither
  // would spin forever on a live connection.
  const size_t max_rounds = 2 * stream.size() + 64;
  for (size_t round = 0;; ++round) {
    FUZZ_CHECK(round <= max_rounds);
    if (parser.is_done()) {
      answer->ended = true;
      break;
    }
    parser.get().body().data = body;
    parser.get().body().size = aigw::kResponseBodyBuffer;
    http::read_some(stream, buffer, parser, ec);
    FUZZ_CHECK(buffer.size() <= buffer.max_size());
    FUZZ_CHECK(parser.get().body().size <= aigw::kResponseBodyBuffer);
    size_t got = aigw::kResponseBodyBuffer - parser.get().body().size;
    if (ec == http::error::need_buffer) ec = {};
    if (ec) break;  // "closed the connection mid-answer"
    if (got > 0) {
      answer->pieces.emplace_back(body, got);
      total += got;
    }
  }
  // The body is never more than was sent, and as long as declared.
  FUZZ_CHECK(total <= stream.delivered());
  if (no_body) FUZZ_CHECK(total == 0);
  if (answer->ended && declared && !no_body) FUZZ_CHECK(total == *declared);
  return true;
}

// RunStream: Feed each piece until the decoder says stop; Finish() only
// when the body ended and nothing stopped it.
void Stream(aigw::StreamDecoder& decoder, const Answer& answer) {
  bool stopped = false;
  for (const std::string& piece : answer.pieces) {
    if (!decoder.Feed(piece)) {
      stopped = true;
      break;
    }
  }
  if (!decoder.error().ok()) return;
  if (stopped || decoder.client_gone() || !answer.ended) return;
  (void)decoder.Finish();
}

template <typename MakeDecoder>
void Decode(uint8_t mode, const Answer& answer, MakeDecoder make) {
  if (mode & 1) {
    aigw::ChatAssembler assembler;
    std::unique_ptr<aigw::StreamDecoder> decoder = make(assembler);
    Stream(*decoder, answer);
    (void)assembler.Build().ByteSizeLong();
  } else {
    CountingSink sink(mode >> 1);
    std::unique_ptr<aigw::StreamDecoder> decoder = make(sink);
    Stream(*decoder, answer);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  aigw_fuzz::Controls controls;
  if (!aigw_fuzz::ReadControls(data, size, &controls)) return 0;
  aigw_fuzz::FuzzStream stream(controls);
  Answer answer;
  if (!ReadAnswer(stream, &answer)) return 0;
  const uint8_t mode = controls.extra;

  if (answer.status < 200 || answer.status >= 300) {
    // Start(): up to 64 KiB of the body, in whole pieces.
    std::string body;
    for (const std::string& piece : answer.pieces) {
      if (body.size() >= aigw::kMaxResponseErrorBody) break;
      body += piece;
    }
    int64_t retry_after_ms = aigw::RetryAfterMs(answer.retry_after);
    FUZZ_CHECK(retry_after_ms >= -1 && retry_after_ms <= 24 * 3600 * 1000);
    absl::Status status =
        aigw::StatusFromUpstreamHttp(answer.status, body, retry_after_ms);
    FUZZ_CHECK(!status.ok());
    return 0;
  }

  Decode(mode, answer, [](aigw::ChunkSink& sink) {
    return std::make_unique<aigw::OpenAiStreamDecoder>(sink);
  });
  Decode(mode, answer, [](aigw::ChunkSink& sink) {
    return std::make_unique<aigw::QwenStreamDecoder>(sink, "qwen-plus",
                                                     1700000000);
  });
  Decode(mode, answer, [](aigw::ChunkSink& sink) {
    return std::make_unique<aigw::ClaudeStreamDecoder>(sink, 1700000000);
  });
  Decode(mode, answer, [](aigw::ChunkSink& sink) {
    return std::make_unique<aigw::GeminiStreamDecoder>(sink,
                                                       "gemini-2.5-flash");
  });

  // ReadAll, then the non-streamed answers: OpenAI-style JSON and Gemini's
  // single GenerateContentResponse.
  if (!answer.ended) return 0;
  std::string whole;
  for (const std::string& piece : answer.pieces) whole += piece;
  nlohmann::json j = nlohmann::json::parse(whole, nullptr, false);
  if (!j.is_discarded()) (void)aigw::ChatCompletionFromJson(j);
  aigw::ChatAssembler assembler;
  aigw::GeminiStreamDecoder gemini(assembler, "gemini-2.5-flash");
  gemini.FeedWhole(whole);
  if (gemini.Finish().ok()) (void)assembler.Build();
  return 0;
}
