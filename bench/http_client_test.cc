#include "bench/http_client.h"

#include <string>

#include "gtest/gtest.h"

namespace bench {
namespace {

// Feeds `wire` in pieces of `step` bytes; returns bytes consumed.
size_t FeedInSteps(ResponseParser* p, const std::string& wire, size_t step) {
  size_t used = 0;
  for (size_t i = 0; i < wire.size() && !p->done() && !p->error(); i += step) {
    std::string piece = wire.substr(i, step);
    used += p->Feed(piece.data(), piece.size());
  }
  return used;
}

TEST(ResponseParserTest, ContentLengthAnySplit) {
  const std::string wire =
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
      "Content-Length: 11\r\n\r\n{\"a\":\"bc\"}\n";
  for (size_t step = 1; step <= wire.size(); ++step) {
    ResponseParser p;
    EXPECT_EQ(FeedInSteps(&p, wire, step), wire.size());
    EXPECT_TRUE(p.done()) << step;
    EXPECT_EQ(p.status(), 200);
    EXPECT_EQ(p.body_bytes(), 11u);
    EXPECT_TRUE(p.keep_alive());
  }
}

TEST(ResponseParserTest, ChunkedSseAnySplit) {
  const std::string wire =
      "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n"
      "Content-Type: text/event-stream\r\n\r\n"
      "b\r\ndata: {}\n\n\r\n"
      "E;ext=1\r\ndata: [DONE]\n\n\r\n"
      "0\r\nX-Trailer: 1\r\n\r\n";
  for (size_t step = 1; step <= wire.size(); ++step) {
    ResponseParser p;
    EXPECT_EQ(FeedInSteps(&p, wire, step), wire.size());
    EXPECT_TRUE(p.done()) << step;
    EXPECT_TRUE(p.chunked());
    EXPECT_EQ(p.body_bytes(), 25u);
    EXPECT_NE(p.tail().find("[DONE]"), std::string::npos);
  }
}

TEST(ResponseParserTest, NotDoneBeforeZeroChunk) {
  const std::string wire =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n";
  ResponseParser p;
  p.Feed(wire.data(), wire.size());
  EXPECT_FALSE(p.done());
  EXPECT_TRUE(p.body_started());
  p.FeedEof();
  EXPECT_TRUE(p.error());
}

TEST(ResponseParserTest, PipelinedBytesLeftUnconsumed) {
  const std::string one = "HTTP/1.1 204 No Content\r\n\r\n";
  const std::string wire = one + "HTTP/1.1 200 OK\r\n";
  ResponseParser p;
  EXPECT_EQ(p.Feed(wire.data(), wire.size()), one.size());
  EXPECT_TRUE(p.done());
}

TEST(ResponseParserTest, ReadToCloseAndConnectionClose) {
  const std::string wire = "HTTP/1.0 200 OK\r\n\r\nabc";
  ResponseParser p;
  p.Feed(wire.data(), wire.size());
  EXPECT_FALSE(p.done());
  p.FeedEof();
  EXPECT_TRUE(p.done());
  EXPECT_FALSE(p.keep_alive());
  EXPECT_EQ(p.body_bytes(), 3u);
}

TEST(ResponseParserTest, InformationalThenFinal) {
  const std::string wire =
      "HTTP/1.1 100 Continue\r\n\r\n"
      "HTTP/1.1 429 Too Many\r\nContent-Length: 2\r\nConnection: close\r\n"
      "\r\n{}";
  ResponseParser p;
  EXPECT_EQ(p.Feed(wire.data(), wire.size()), wire.size());
  EXPECT_TRUE(p.done());
  EXPECT_EQ(p.status(), 429);
  EXPECT_FALSE(p.keep_alive());
}

TEST(PercentileTest, NearestRank) {
  std::vector<int64_t> v;
  for (int i = 1; i <= 100; ++i) v.push_back(i);
  EXPECT_EQ(Percentile(v, 0.5), 50);
  EXPECT_EQ(Percentile(v, 0.99), 99);
  EXPECT_EQ(Percentile(v, 1.0), 100);
  EXPECT_EQ(Percentile({}, 0.5), -1);
}

TEST(BuildPostTest, HeadersAndLength) {
  std::string req =
      BuildPost("127.0.0.1", 8080, "/v1/x", "{\"a\":1}",
                "X-DashScope-SSE: enable\nAccept: text/event-stream");
  const std::string start = "POST /v1/x HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n";
  EXPECT_EQ(req.compare(0, start.size(), start), 0);
  EXPECT_NE(req.find("\r\nContent-Length: 7\r\n"), std::string::npos);
  EXPECT_NE(req.find("\r\nX-DashScope-SSE: enable\r\n"), std::string::npos);
  EXPECT_NE(req.find("\r\nAccept: text/event-stream\r\n\r\n{\"a\":1}"),
            std::string::npos);
}

TEST(ParseFlagsTest, RepeatedFlagsJoinWithNewline) {
  const char* argv[] = {"tool", "--header=A: 1", "--header=B: 2", "--quick"};
  std::map<std::string, std::string> flags;
  ASSERT_TRUE(ParseFlags(4, const_cast<char**>(argv), &flags));
  EXPECT_EQ(flags["header"], "A: 1\nB: 2");
  EXPECT_EQ(flags["quick"], "true");
}

}  // namespace
}  // namespace bench
