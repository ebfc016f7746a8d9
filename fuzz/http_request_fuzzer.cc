// libFuzzer target: bytes a client sends to the REST server, read the way
// server/net/http_server.cc reads them. Each request: the watch read's
// first byte, the head with Beast's read_header (eager off) into a
// 64 KiB + 4 KiB flat_buffer, ConfigureRequestParser, CheckRequestHead, then
// body_limit(max_body) and the body with read (eager on; chunked bodies
// and their trailers included); kept-alive connections go on with the
// bytes left (pipelining). The control bytes (fuzz_stream.h) split the
// reads and pick the body limit.
#include <boost/asio/buffer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "fuzz/fuzz_stream.h"
#include "server/net/request_head.h"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

absl::string_view View(boost::core::string_view s) {
  return absl::string_view(s.data(), s.size());
}

size_t Lines(const http::fields& fields) {
  size_t n = 0;
  for (auto it = fields.begin(); it != fields.end(); ++it) ++n;
  return n;
}

// limits.max_body_bytes: the default, and small ones the body can reach.
size_t MaxBody(uint8_t extra) {
  switch (extra % 4) {
    case 0:
      return 10 << 20;
    case 1:
      return 4096;
    case 2:
      return 64;
    default:
      return 1;
  }
}

// What a head the server accepted must look like.
void CheckAcceptedHead(const aigw::RequestParser& parser, size_t max_body) {
  const http::fields& head = parser.get().base();
  FUZZ_CHECK(Lines(head) <= aigw::kMaxRequestHeaderLines);
  size_t lengths = head.count(http::field::content_length);
  size_t codings = head.count(http::field::transfer_encoding);
  FUZZ_CHECK(lengths == 0 || codings == 0);
  FUZZ_CHECK(codings <= 1);
  if (codings == 1) {
    FUZZ_CHECK(parser.chunked());
    FUZZ_CHECK(absl::EqualsIgnoreCase(
        absl::StripAsciiWhitespace(View(head[http::field::transfer_encoding])),
        "chunked"));
  }
  if (lengths > 0) {
    FUZZ_CHECK(parser.content_length().has_value());
    FUZZ_CHECK(*parser.content_length() <= max_body);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  aigw_fuzz::Controls controls;
  if (!aigw_fuzz::ReadControls(data, size, &controls)) return 0;
  const size_t max_body = MaxBody(controls.extra);
  aigw_fuzz::FuzzStream stream(controls);
  beast::flat_buffer buffer(aigw::kMaxRequestHeadBytes + 4096);

  for (size_t requests = 0;; ++requests) {
    // Every request takes at least a byte: the loop ends with the input.
    FUZZ_CHECK(requests <= controls.bytes.size());
    if (buffer.size() == 0) {
      // The watch read: one byte, then into the buffer.
      char byte = 0;
      beast::error_code ec;
      size_t n = stream.read_some(asio::buffer(&byte, 1), ec);
      if (ec || n == 0) break;  // the client closed
      auto space = buffer.prepare(1);
      std::memcpy(space.data(), &byte, 1);
      buffer.commit(1);
    }

    aigw::RequestParser parser;
    aigw::ConfigureRequestParser(parser);
    beast::error_code ec;
    size_t head_bytes = http::read_header(stream, buffer, parser, ec);
    FUZZ_CHECK(buffer.size() <= buffer.max_size());
    if (ec) {
      // 431 (header_limit), 400 (anything else malformed) or the client
      // left; the connection ends. A declared length is CheckRequestHead's
      // to judge (413), never a parse error of the head.
      FUZZ_CHECK(ec != http::error::body_limit);
      FUZZ_CHECK(!parser.is_header_done());
      break;
    }
    FUZZ_CHECK(parser.is_header_done());
    FUZZ_CHECK(head_bytes <= aigw::kMaxRequestHeadBytes);

    aigw::HeadVerdict verdict = aigw::CheckRequestHead(parser, max_body);
    if (verdict.status != 0) {
      FUZZ_CHECK(verdict.status == 400 || verdict.status == 413 ||
                 verdict.status == 431);
      FUZZ_CHECK(!verdict.message.empty());
      break;  // refused, then closed
    }
    CheckAcceptedHead(parser, max_body);
    const bool chunked = parser.chunked();
    const boost::optional<uint64_t> declared = parser.content_length();

    parser.body_limit(max_body);
    if (!parser.is_done()) {
      http::read(stream, buffer, parser, ec);
      FUZZ_CHECK(buffer.size() <= buffer.max_size());
      if (ec) break;  // 413 (body_limit), 400, or the client left
    }
    FUZZ_CHECK(parser.is_done());

    http::request<http::string_body> request = parser.release();
    // What the handler sees: still one framing, the body within the limit
    // and exactly as long as declared, the header lines still capped.
    FUZZ_CHECK(request.body().size() <= max_body);
    if (declared) FUZZ_CHECK(request.body().size() == *declared);
    if (!declared && !chunked) FUZZ_CHECK(request.body().empty());
    FUZZ_CHECK(request.count(http::field::content_length) == 0 ||
               request.count(http::field::transfer_encoding) == 0);
    FUZZ_CHECK(Lines(request.base()) <= aigw::kMaxRequestHeaderLines);
    (void)request.keep_alive();
    (void)request.method();
    (void)request.target();
    (void)request[http::field::expect];
    if (!request.keep_alive()) break;
  }
  FUZZ_CHECK(stream.delivered() <= stream.size());
  return 0;
}
