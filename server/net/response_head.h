// How the upstream client reads an answer: a bounded head, a body of any
// length read a few KB at a time, Retry-After as a delay. Pure helpers over
// Beast's parser, shared by the client and its fuzzer.
#ifndef AIGW_SERVER_NET_RESPONSE_HEAD_H_
#define AIGW_SERVER_NET_RESPONSE_HEAD_H_

#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"

namespace aigw {

// An answer's head may be large (many x-* headers); its body is read a
// little at a time, so a held stream keeps a few KB, not 64.
constexpr size_t kMaxResponseHead = 64 * 1024;
constexpr size_t kResponseBodyBuffer = 4096;
// How much of a non-2xx answer's body is read for its error message.
constexpr size_t kMaxResponseErrorBody = 64 * 1024;

using ResponseParser =
    boost::beast::http::response_parser<boost::beast::http::buffer_body>;

// A parser with the client's head limit and no body limit (a stream is as
// long as it lasts; ReadAll bounds what it keeps).
void ConfigureResponseParser(ResponseParser& parser);

// Retry-After in milliseconds, at most a day; -1 when absent, negative or
// not a number of seconds (the HTTP-date form is rare from APIs: ignored).
int64_t RetryAfterMs(absl::string_view value);

}  // namespace aigw

#endif  // AIGW_SERVER_NET_RESPONSE_HEAD_H_
