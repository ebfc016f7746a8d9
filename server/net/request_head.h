// What the server decides about a request head before it reads the body:
// bounded heads (431), unambiguous framing (400), the body limit (413).
// Pure functions over Beast's parser, shared by the server and its fuzzer.
#ifndef AIGW_SERVER_NET_REQUEST_HEAD_H_
#define AIGW_SERVER_NET_REQUEST_HEAD_H_

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstddef>
#include <string>

#include "server/protection/reject_reason.h"

namespace aigw {

// A request head larger than this, or with more header lines, is 431.
constexpr size_t kMaxRequestHeadBytes = 64 * 1024;
constexpr size_t kMaxRequestHeaderLines = 100;

// Beast's request parser, except that the trailer fields of a chunked body
// are dropped. Beast adds them to the head's fields, where they would pass
// for header fields the head never had (X-Forwarded-For, Authorization,
// ...; RFC 9110 6.5.1: not to be merged) and escape the header-lines cap
// CheckRequestHead applied before the body.
class RequestParser : public boost::beast::http::request_parser<
                          boost::beast::http::string_body> {
 private:
  void on_field_impl(boost::beast::http::field name,
                     boost::beast::string_view name_string,
                     boost::beast::string_view value,
                     boost::beast::error_code& ec) override;
};

// A parser with the server's head limit (the body limit is set once the
// head is checked).
void ConfigureRequestParser(RequestParser& parser);

// A head the server refuses: its status (0 = none), message and reason.
struct HeadVerdict {
  int status = 0;
  std::string message;
  RejectReason reason = RejectReason::kBadFraming;
};

// Checks a parsed head: line count, Content-Length with Transfer-Encoding,
// transfer codings other than chunked, a declared length over `max_body`.
HeadVerdict CheckRequestHead(const RequestParser& parser, size_t max_body);

}  // namespace aigw

#endif  // AIGW_SERVER_NET_REQUEST_HEAD_H_
