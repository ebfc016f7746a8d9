// The mock upstream over real sockets: DashScope's native SSE framing as
// aigw's qwen provider parses it (providers/qwen/qwen_stream_decoder.cc),
// OpenAI's chunks, one SSE event per HTTP chunk, keep-alive, and many
// delayed streams at once on one thread.

#include <poll.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench/http_client.h"
#include "bench/mock_server.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace bench {
namespace {

using nlohmann::json;

class MockTest : public ::testing::Test {
 protected:
  void StartMock(mock::Options options) {
    server_ = std::make_unique<mock::Server>(io_, options);
    ASSERT_TRUE(server_->Listen()) << server_->error();
    server_->Start();
    thread_ = std::thread([this] { io_.run(); });
  }

  void TearDown() override {
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }

  int Connect() {
    sockaddr_in addr;
    EXPECT_TRUE(MakeAddr("127.0.0.1", server_->port(), &addr));
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    EXPECT_EQ(
        ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)),
        0);
    return fd;
  }

  // Sends one request on `fd` and returns the raw response bytes.
  std::string RoundTrip(int fd, const std::string& path,
                        const std::string& body, const std::string& headers,
                        ResponseParser* parser) {
    std::string req =
        BuildPost("127.0.0.1", server_->port(), path, body, headers);
    EXPECT_EQ(::send(fd, req.data(), req.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(req.size()));
    std::string raw;
    char buf[4096];
    while (!parser->done() && !parser->error()) {
      pollfd pfd{fd, POLLIN, 0};
      if (::poll(&pfd, 1, 5000) <= 0) break;
      ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
      if (n <= 0) break;
      raw.append(buf, static_cast<size_t>(n));
      parser->Feed(buf, static_cast<size_t>(n));
    }
    EXPECT_TRUE(parser->done()) << raw;
    return raw;
  }

  boost::asio::io_context io_;
  std::unique_ptr<mock::Server> server_;
  std::thread thread_;
};

// The HTTP chunks of a chunked response, in order (the 0-chunk excluded).
std::vector<std::string> Chunks(const std::string& raw) {
  std::vector<std::string> chunks;
  size_t pos = raw.find("\r\n\r\n");
  if (pos == std::string::npos) return chunks;
  pos += 4;
  while (pos < raw.size()) {
    size_t eol = raw.find("\r\n", pos);
    if (eol == std::string::npos) break;
    size_t size = std::strtoul(raw.substr(pos, eol - pos).c_str(), nullptr, 16);
    if (size == 0) break;
    chunks.push_back(raw.substr(eol + 2, size));
    pos = eol + 2 + size + 2;
  }
  return chunks;
}

constexpr char kNativePath[] =
    "/api/v1/services/aigc/text-generation/generation";
constexpr char kNativeBody[] =
    "{\"model\":\"qwen-max\",\"input\":{\"messages\":[{\"role\":\"user\","
    "\"content\":\"Hello\"}]},\"parameters\":{\"result_format\":\"message\","
    "\"incremental_output\":true}}";

// Checks a DashScope SSE stream of `chunks` steps; returns the text.
std::string CheckNativeStream(const std::string& raw, int chunks) {
  std::vector<std::string> events = Chunks(raw);
  EXPECT_EQ(events.size(), static_cast<size_t>(chunks + 1));
  std::string text, request_id;
  for (size_t i = 0; i < events.size(); ++i) {
    const std::string& e = events[i];
    // One event per HTTP chunk, in DashScope's exact line layout.
    std::string prefix = "id:" + std::to_string(i + 1) +
                         "\nevent:result\n:HTTP_STATUS/200\ndata:";
    EXPECT_EQ(e.compare(0, prefix.size(), prefix), 0) << e;
    EXPECT_EQ(e.find("\n\n"), e.size() - 2) << e;
    json j = json::parse(e.substr(prefix.size()), nullptr, false);
    EXPECT_TRUE(j.is_object()) << e;
    if (!j.is_object()) continue;
    const json& choice = j["output"]["choices"][0];
    EXPECT_EQ(choice["message"]["role"], "assistant");
    text += choice["message"]["content"].get<std::string>();
    bool last = i + 1 == events.size();
    EXPECT_EQ(choice["finish_reason"], last ? "stop" : "null");
    const json& usage = j["usage"];
    int out = usage["output_tokens"].get<int>();
    EXPECT_EQ(out, std::min<int>(static_cast<int>(i) + 1, chunks));
    EXPECT_EQ(usage["total_tokens"].get<int>(),
              usage["input_tokens"].get<int>() + out);
    if (i == 0) request_id = j["request_id"].get<std::string>();
    EXPECT_EQ(j["request_id"], request_id);
  }
  EXPECT_FALSE(request_id.empty());
  return text;
}

TEST_F(MockTest, DashScopeStreamWithSseHeader) {
  mock::Options options;
  options.chunks = 4;
  StartMock(options);
  int fd = Connect();
  ResponseParser p;
  std::string raw =
      RoundTrip(fd, kNativePath, kNativeBody, "X-DashScope-SSE: enable", &p);
  EXPECT_EQ(p.status(), 200);
  EXPECT_TRUE(p.chunked());
  EXPECT_NE(raw.find("Content-Type: text/event-stream"), std::string::npos);
  EXPECT_EQ(CheckNativeStream(raw, 4), "Hi there! How");
  // The connection stays usable: a second stream on it, now with Accept.
  ResponseParser p2;
  raw = RoundTrip(fd, std::string("/gw") + kNativePath, kNativeBody,
                  "Accept: text/event-stream", &p2);
  EXPECT_EQ(CheckNativeStream(raw, 4), "Hi there! How");
  ::close(fd);
}

TEST_F(MockTest, DashScopeNonStream) {
  StartMock(mock::Options());
  int fd = Connect();
  ResponseParser p;
  std::string raw = RoundTrip(fd, kNativePath, kNativeBody, "", &p);
  ::close(fd);
  EXPECT_EQ(p.status(), 200);
  EXPECT_FALSE(p.chunked());
  json j = json::parse(raw.substr(raw.find("\r\n\r\n") + 4));
  const json& choice = j["output"]["choices"][0];
  EXPECT_EQ(choice["finish_reason"], "stop");
  EXPECT_EQ(choice["message"]["role"], "assistant");
  EXPECT_FALSE(choice["message"]["content"].get<std::string>().empty());
  EXPECT_EQ(j["usage"]["total_tokens"].get<int>(),
            j["usage"]["input_tokens"].get<int>() +
                j["usage"]["output_tokens"].get<int>());
  EXPECT_TRUE(j["request_id"].is_string());
}

TEST_F(MockTest, OpenAIStreamWithUsageThenDone) {
  mock::Options options;
  options.chunks = 3;
  StartMock(options);
  int fd = Connect();
  ResponseParser p;
  std::string raw = RoundTrip(
      fd, "/v1/chat/completions",
      "{\"model\":\"m\",\"stream\":true,\"stream_options\":{\"include_usage\":"
      "true},\"messages\":[]}",
      "", &p);
  ::close(fd);
  std::vector<std::string> events = Chunks(raw);
  // role, 2 words, finish, usage, [DONE]: one HTTP chunk each.
  ASSERT_EQ(events.size(), 6u);
  std::string text;
  for (size_t i = 0; i + 1 < events.size(); ++i) {
    ASSERT_EQ(events[i].compare(0, 6, "data: "), 0);
    EXPECT_EQ(events[i].find("\n\n"), events[i].size() - 2);
    json j = json::parse(events[i].substr(6));
    EXPECT_EQ(j["object"], "chat.completion.chunk");
    EXPECT_EQ(j["model"], "m");
    if (i < 4) {
      text += j["choices"][0]["delta"].value("content", "");
      EXPECT_EQ(j["choices"][0]["finish_reason"].is_null(), i < 3);
    } else {
      EXPECT_TRUE(j["choices"].empty());
      EXPECT_EQ(j["usage"]["completion_tokens"], 2);
    }
  }
  EXPECT_EQ(text, "Hi there");
  EXPECT_EQ(events.back(), "data: [DONE]\n\n");
}

TEST_F(MockTest, OpenAINonStreamKeepAliveAndNotFound) {
  StartMock(mock::Options());
  int fd = Connect();
  for (int i = 0; i < 3; ++i) {
    ResponseParser p;
    std::string raw =
        RoundTrip(fd, "/v1/chat/completions",
                  "{\"model\":\"gpt-x\",\"messages\":[]}", "", &p);
    EXPECT_EQ(p.status(), 200);
    json j = json::parse(raw.substr(raw.find("\r\n\r\n") + 4));
    EXPECT_EQ(j["object"], "chat.completion");
    EXPECT_EQ(j["model"], "gpt-x");
  }
  ResponseParser p;
  RoundTrip(fd, "/nowhere", "{}", "", &p);
  EXPECT_EQ(p.status(), 404);
  ::close(fd);
}

// 300 streams of 5 steps 100 ms apart on the test's one io thread finish
// in about 0.5 s: the delays are timers, not sleeping threads.
TEST_F(MockTest, ManyDelayedStreamsOnOneThread) {
  mock::Options options;
  options.chunks = 5;
  options.chunk_delay_ms = 100;
  StartMock(options);
  const int n = 300;
  std::vector<int> fds;
  std::string req = BuildPost("127.0.0.1", server_->port(), kNativePath,
                              kNativeBody, "X-DashScope-SSE: enable");
  int64_t t0 = NowUs();
  for (int i = 0; i < n; ++i) {
    fds.push_back(Connect());
    ASSERT_EQ(::send(fds.back(), req.data(), req.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(req.size()));
  }
  std::vector<ResponseParser> parsers(n);
  std::vector<std::string> raws(n);
  int done = 0;
  char buf[4096];
  while (done < n && NowUs() - t0 < 10000000) {
    std::vector<pollfd> pfds;
    for (int i = 0; i < n; ++i) {
      if (!parsers[i].done()) pfds.push_back(pollfd{fds[i], POLLIN, 0});
    }
    ASSERT_GT(::poll(pfds.data(), pfds.size(), 5000), 0);
    for (const pollfd& pfd : pfds) {
      if (pfd.revents == 0) continue;
      int i = static_cast<int>(std::find(fds.begin(), fds.end(), pfd.fd) -
                               fds.begin());
      ssize_t r = ::recv(pfd.fd, buf, sizeof(buf), 0);
      ASSERT_GT(r, 0);
      raws[i].append(buf, static_cast<size_t>(r));
      parsers[i].Feed(buf, static_cast<size_t>(r));
      if (parsers[i].done()) ++done;
    }
  }
  int64_t elapsed_ms = (NowUs() - t0) / 1000;
  EXPECT_EQ(done, n);
  EXPECT_GE(elapsed_ms, 500);
  EXPECT_LT(elapsed_ms, 3000);
  for (int i = 0; i < n; ++i) {
    EXPECT_EQ(CheckNativeStream(raws[i], 5), "Hi there! How can");
    ::close(fds[i]);
  }
}

}  // namespace
}  // namespace bench
