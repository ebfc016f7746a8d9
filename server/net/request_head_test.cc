#include "server/net/request_head.h"

#include <gtest/gtest.h>

#include <boost/asio/buffer.hpp>
#include <string>

namespace aigw {
namespace {

namespace http = boost::beast::http;

// The head as the server reads it (eager off): the body is not touched.
void PutHead(RequestParser& parser, const std::string& bytes,
             boost::beast::error_code& ec) {
  parser.eager(false);
  parser.put(boost::asio::buffer(bytes), ec);
}

TEST(RequestHead, DeclaredLengthOverBeastsDefaultIsCheckRequestHeadsToJudge) {
  // Beast's request parser limits bodies to 1 MiB unless told otherwise,
  // and checks a Content-Length against it while parsing the head.
  const std::string head =
      "POST /v1/chat/completions HTTP/1.1\r\nHost: a\r\n"
      "Content-Length: 2000000\r\n\r\n";
  RequestParser parser;
  ConfigureRequestParser(parser);
  boost::beast::error_code ec;
  PutHead(parser, head, ec);
  ASSERT_FALSE(ec) << ec.message();
  ASSERT_TRUE(parser.is_header_done());
  EXPECT_EQ(CheckRequestHead(parser, 10 << 20).status, 0);
  HeadVerdict over = CheckRequestHead(parser, 1 << 20);
  EXPECT_EQ(over.status, 413);
}

TEST(RequestHead, TrailerFieldsAreDropped) {
  const std::string request =
      "POST /v1/chat/completions HTTP/1.1\r\nHost: a\r\n"
      "Transfer-Encoding: chunked\r\n\r\n"
      "2\r\n{}\r\n0\r\n"
      "X-Forwarded-For: 198.51.100.9\r\nAuthorization: Bearer sk-x\r\n\r\n";
  RequestParser parser;
  ConfigureRequestParser(parser);
  boost::beast::error_code ec;
  PutHead(parser, request, ec);
  ASSERT_FALSE(ec) << ec.message();
  size_t head_bytes = request.find("\r\n\r\n") + 4;
  EXPECT_EQ(CheckRequestHead(parser, 1024).status, 0);
  parser.body_limit(1024);
  parser.eager(true);
  parser.put(boost::asio::buffer(request.data() + head_bytes,
                                 request.size() - head_bytes),
             ec);
  ASSERT_FALSE(ec) << ec.message();
  ASSERT_TRUE(parser.is_done());
  http::request<http::string_body> message = parser.release();
  EXPECT_EQ(message.body(), "{}");
  EXPECT_EQ(message[http::field::host], "a");
  EXPECT_EQ(message.count(http::field::authorization), 0u);
  EXPECT_EQ(message.count("X-Forwarded-For"), 0u);
}

TEST(RequestHead, TrailersStillCannotReframeTheBody) {
  const std::string request =
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
      "0\r\nContent-Length: 5\r\n\r\n";
  RequestParser parser;
  ConfigureRequestParser(parser);
  parser.eager(true);
  boost::beast::error_code ec;
  parser.put(boost::asio::buffer(request), ec);
  EXPECT_TRUE(ec);
}

}  // namespace
}  // namespace aigw
