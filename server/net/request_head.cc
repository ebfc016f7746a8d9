#include "server/net/request_head.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace aigw {

namespace http = boost::beast::http;

namespace {

absl::string_view View(boost::core::string_view s) {
  return absl::string_view(s.data(), s.size());
}

// Framing a proxy in front could read differently (request smuggling).
// Beast already rejects malformed and conflicting Content-Length values.
absl::string_view FramingProblem(const http::request_header<>& head) {
  auto codings = head.equal_range(http::field::transfer_encoding);
  if (codings.first == codings.second) return "";
  if (head.count(http::field::content_length) > 0) {
    return "a request must not carry both Content-Length and "
           "Transfer-Encoding";
  }
  int count = 0;
  for (auto it = codings.first; it != codings.second; ++it) {
    ++count;
    if (count > 1 ||
        !absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(View(it->value())),
                                "chunked")) {
      return "the only transfer coding accepted is chunked";
    }
  }
  return "";
}

}  // namespace

void RequestParser::on_field_impl(http::field name,
                                  boost::beast::string_view name_string,
                                  boost::beast::string_view value,
                                  boost::beast::error_code& ec) {
  ec = {};
  if (is_header_done()) return;  // a trailer field
  get().insert(name, name_string, value);
}

void ConfigureRequestParser(RequestParser& parser) {
  parser.header_limit(static_cast<std::uint32_t>(kMaxRequestHeadBytes));
  // No body limit until the head is checked: Beast's default (1 MiB for a
  // request) would fail the head itself when its Content-Length is over
  // it, a 400 instead of CheckRequestHead's 413, and for any body over
  // 1 MiB even when limits.max_body_bytes (default 10 MiB) allows it.
  parser.body_limit(boost::none);
}

HeadVerdict CheckRequestHead(const RequestParser& parser, size_t max_body) {
  const http::request_header<>& head = parser.get().base();
  HeadVerdict verdict;
  size_t lines = 0;
  for (auto it = head.begin(); it != head.end(); ++it) ++lines;
  if (lines > kMaxRequestHeaderLines) {
    verdict.status = 431;
    verdict.reason = RejectReason::kHeadTooLarge;
    verdict.message = absl::StrCat("The request has more than ",
                                   kMaxRequestHeaderLines, " header lines.");
    return verdict;
  }
  absl::string_view framing = FramingProblem(head);
  if (!framing.empty()) {
    verdict.status = 400;
    verdict.reason = RejectReason::kBadFraming;
    verdict.message = absl::StrCat("Malformed request: ", framing, ".");
    return verdict;
  }
  boost::optional<std::uint64_t> declared = parser.content_length();
  if (declared && *declared > max_body) {
    verdict.status = 413;
    verdict.reason = RejectReason::kBadFraming;
    verdict.message =
        absl::StrCat("Request body exceeds the limit of ", max_body, " bytes.");
  }
  return verdict;
}

}  // namespace aigw
