#include "server/net/response_head.h"

#include <gtest/gtest.h>

#include <boost/asio/buffer.hpp>
#include <string>

namespace aigw {
namespace {

TEST(RetryAfterMs, SecondsBecomeMillisecondsCappedAtADay) {
  EXPECT_EQ(RetryAfterMs("20"), 20000);
  EXPECT_EQ(RetryAfterMs("0.5"), 500);
  EXPECT_EQ(RetryAfterMs("0"), 0);
  EXPECT_EQ(RetryAfterMs("1e300"), 24 * 3600 * 1000);
  EXPECT_EQ(RetryAfterMs("inf"), 24 * 3600 * 1000);
}

TEST(RetryAfterMs, AnythingElseIsNone) {
  EXPECT_EQ(RetryAfterMs(""), -1);
  EXPECT_EQ(RetryAfterMs("-1"), -1);
  EXPECT_EQ(RetryAfterMs("Wed, 21 Oct 2015 07:28:00 GMT"), -1);
  // NaN parses as a double; its cast to an integer would be undefined.
  EXPECT_EQ(RetryAfterMs("nan"), -1);
  EXPECT_EQ(RetryAfterMs("NaN"), -1);
  EXPECT_EQ(RetryAfterMs("-nan"), -1);
}

TEST(ResponseHead, LargeHeadsAndUnboundedBodies) {
  // Beast's defaults: 8 KiB heads, 8 MiB response bodies.
  std::string head = "HTTP/1.1 200 OK\r\nx-big: " + std::string(30000, 'v') +
                     "\r\nContent-Length: 20000000\r\n\r\n";
  ResponseParser parser;
  ConfigureResponseParser(parser);
  parser.eager(false);
  boost::beast::error_code ec;
  parser.put(boost::asio::buffer(head), ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_TRUE(parser.is_header_done());

  ResponseParser over;
  ConfigureResponseParser(over);
  std::string huge =
      "HTTP/1.1 200 OK\r\nx-big: " + std::string(kMaxResponseHead, 'v') +
      "\r\n\r\n";
  over.put(boost::asio::buffer(huge), ec);
  EXPECT_EQ(ec, boost::beast::http::error::header_limit);
}

}  // namespace
}  // namespace aigw
