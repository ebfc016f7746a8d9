#include "providers/claude/claude_provider.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "httplib.h"
#include "providers/common/api_error.h"
#include "providers/registry.h"
#include "server/upstream_call_testing.h"

namespace aigw {
namespace {

ProviderConfig Config() {
  ProviderConfig config;
  config.name = "anthropic";
  config.type = "claude";
  config.api_keys = {"sk-ant-1"};
  return config;
}

TEST(ClaudeProvider, RegisteredWithDefaults) {
  EXPECT_TRUE(ProviderRegistry::Global().Has("claude"));
  EXPECT_TRUE(ProviderRegistry::Global().Create(Config()).ok());
  ProviderConfig config = Config();
  config.options["anthropic_version"] = "2023-06-01";
  config.base_url = "http://127.0.0.1:1";
  EXPECT_TRUE(ProviderRegistry::Global().Create(config).ok());
}

TEST(ClaudeProvider, ConfigErrorsNameTheKey) {
  ProviderConfig config = Config();
  config.options["api_version"] = "v1";
  absl::StatusOr<std::unique_ptr<Provider>> provider =
      ProviderRegistry::Global().Create(config);
  ASSERT_FALSE(provider.ok());
  EXPECT_EQ(provider.status().message(),
            "api_version: not a key of the claude provider");

  config = Config();
  config.options["anthropic_version"] = "";
  provider = ProviderRegistry::Global().Create(config);
  ASSERT_FALSE(provider.ok());
  EXPECT_EQ(provider.status().message().rfind("anthropic_version:", 0), 0u);

  config = Config();
  config.api_keys.clear();
  provider = ProviderRegistry::Global().Create(config);
  ASSERT_FALSE(provider.ok());
  EXPECT_EQ(provider.status().message().rfind("api_keys:", 0), 0u);

  config = Config();
  config.base_url = "not a url";
  provider = ProviderRegistry::Global().Create(config);
  ASSERT_FALSE(provider.ok());
  EXPECT_EQ(provider.status().message().rfind("base_url:", 0), 0u);
}

// An Anthropic client's body whose ongoing tool-use turn had only another
// provider's (unsigned) thinking cannot think on Claude: thinking is
// dropped and reported, or under `reject` a 400 naming it. A turn that
// starts with its signed thinking keeps it.
TEST(ClaudeProvider, PassthroughTurnThatLostItsThinkingTurnsThinkingOff) {
  const std::string lost = R"({"model":"claude-x","max_tokens":5000,
    "thinking":{"type":"enabled","budget_tokens":1024},
    "messages":[{"role":"user","content":"weather?"},
      {"role":"assistant","content":[
        {"type":"thinking","thinking":"qwen thought"},
        {"type":"tool_use","id":"t1","name":"w","input":{}}]},
      {"role":"user","content":[
        {"type":"tool_result","tool_use_id":"t1","content":"sun"}]}]})";
  v1::ChatCompletionRequest request;
  request.set_model("claude-sonnet-4-5");
  request.set_passthrough_protocol("anthropic");
  request.set_passthrough_body(lost);
  absl::StatusOr<std::unique_ptr<Provider>> provider =
      ProviderRegistry::Global().Create(Config());
  ASSERT_TRUE(provider.ok()) << provider.status();
  CallContext ctx;
  absl::StatusOr<UpstreamRequest> upstream =
      (*provider)->ChatRequest(request, true, "sk-ant-1", ctx);
  ASSERT_TRUE(upstream.ok()) << upstream.status();
  nlohmann::json body = nlohmann::json::parse(upstream->body);
  EXPECT_FALSE(body.contains("thinking"));
  EXPECT_EQ(body["messages"][1]["content"].size(), 1u);
  EXPECT_EQ(ctx.dropped_params, std::vector<std::string>{"thinking"});

  ProviderConfig strict = Config();
  strict.unsupported_params = UnsupportedParams::kReject;
  absl::StatusOr<std::unique_ptr<Provider>> rejecting =
      ProviderRegistry::Global().Create(strict);
  ASSERT_TRUE(rejecting.ok()) << rejecting.status();
  CallContext strict_ctx;
  upstream = (*rejecting)->ChatRequest(request, true, "sk-ant-1", strict_ctx);
  EXPECT_EQ(GetErrorDetails(upstream.status()).param, "thinking");

  std::string kept = lost;
  kept.replace(kept.find(R"("qwen thought"})"), 15, R"("t","signature":"s"})");
  request.set_passthrough_body(kept);
  CallContext kept_ctx;
  upstream = (*provider)->ChatRequest(request, true, "sk-ant-1", kept_ctx);
  ASSERT_TRUE(upstream.ok()) << upstream.status();
  EXPECT_EQ(nlohmann::json::parse(upstream->body)["thinking"]["type"],
            "enabled");
  EXPECT_TRUE(kept_ctx.dropped_params.empty());
}

// A short answer in the shape of Anthropic's streaming reference.
constexpr char kTextStream[] =
    "event: message_start\n"
    "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":"
    "\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\","
    "\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{"
    "\"input_tokens\":5,\"output_tokens\":1}}}\n\n"
    "event: content_block_start\n"
    "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{"
    "\"type\":\"text\",\"text\":\"\"}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
    "\"text_delta\",\"text\":\"Hi\"}}\n\n"
    "event: content_block_stop\n"
    "data: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
    "event: message_delta\n"
    "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\","
    "\"stop_sequence\":null},\"usage\":{\"output_tokens\":2}}\n\n"
    "event: message_stop\n"
    "data: {\"type\":\"message_stop\"}\n\n";

constexpr char kTextMessage[] =
    R"({"id":"msg_2","type":"message","role":"assistant",)"
    R"("model":"claude-sonnet-4-5","content":[{"type":"text","text":"Hi"}],)"
    R"("stop_reason":"end_turn","stop_sequence":null,)"
    R"("usage":{"input_tokens":5,"output_tokens":2}})";

struct Answer {
  int status = 200;
  std::string content_type;
  std::string body;
};

// An Anthropic stand-in on an ephemeral loopback port: streams kTextStream
// or answers kTextMessage (by the request's "stream"), unless an answer was
// set for the request's x-api-key; records the keys it saw.
class FakeAnthropic {
 public:
  FakeAnthropic() {
    server_.Post("/v1/messages",
                 [this](const httplib::Request& req, httplib::Response& res) {
                   absl::MutexLock lock(&mu_);
                   std::string key = req.get_header_value("x-api-key");
                   keys_.push_back(key);
                   auto it = by_key_.find(key);
                   if (it != by_key_.end()) {
                     res.status = it->second.status;
                     if (res.status == 429) res.set_header("Retry-After", "60");
                     res.set_content(it->second.body, it->second.content_type);
                   } else if (absl::StrContains(req.body, "\"stream\":true")) {
                     res.set_content(kTextStream, "text/event-stream");
                   } else {
                     res.set_content(kTextMessage, "application/json");
                   }
                 });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) absl::SleepFor(absl::Milliseconds(1));
  }
  ~FakeAnthropic() {
    server_.stop();
    thread_.join();
  }

  void AnswerFor(const std::string& key, Answer answer) {
    absl::MutexLock lock(&mu_);
    by_key_[key] = std::move(answer);
  }
  std::vector<std::string> keys() {
    absl::MutexLock lock(&mu_);
    return keys_;
  }
  std::string url() const { return absl::StrCat("http://127.0.0.1:", port_); }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  absl::Mutex mu_;
  std::map<std::string, Answer> by_key_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> keys_ ABSL_GUARDED_BY(mu_);
};

std::unique_ptr<Provider> TwoKeyProvider(const FakeAnthropic& upstream) {
  ProviderConfig config = Config();
  config.base_url = upstream.url();
  config.api_keys = {"sk-ant-key-1", "sk-ant-key-2"};
  absl::StatusOr<std::unique_ptr<Provider>> provider =
      ProviderRegistry::Global().Create(config);
  EXPECT_TRUE(provider.ok()) << provider.status();
  return provider.ok() ? std::move(*provider) : nullptr;
}

v1::ChatCompletionRequest Hello() {
  v1::ChatCompletionRequest request;
  request.set_model("claude-sonnet-4-5");
  request.set_max_tokens(64);
  v1::Message* message = request.add_messages();
  message->set_role("user");
  message->set_content("hello");
  return request;
}

class CollectingSink : public ChunkSink {
 public:
  bool Write(v1::ChatCompletionChunk chunk) override {
    chunks.push_back(std::move(chunk));
    return true;
  }
  std::vector<v1::ChatCompletionChunk> chunks;
};

TEST(ClaudeProvider, RateLimitedKeyIsSkippedByTheNextRequest) {
  FakeAnthropic upstream;
  upstream.AnswerFor(
      "sk-ant-key-1",
      {429, "application/json",
       R"({"type":"error","error":{"type":"rate_limit_error",)"
       R"("message":"Number of requests has exceeded your rate limit"}})"});
  std::unique_ptr<Provider> provider = TwoKeyProvider(upstream);
  ASSERT_NE(provider, nullptr);
  TestUpstream data_plane(*provider);
  CancelToken cancel;
  CallContext ctx;
  CollectingSink sink;
  absl::Status status = data_plane.Stream(Hello(), ctx, sink, &cancel);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(status.message(),
            "Number of requests has exceeded your rate limit");
  EXPECT_TRUE(data_plane.Stream(Hello(), ctx, sink, &cancel).ok());
  absl::StatusOr<v1::ChatCompletion> completion =
      data_plane.Complete(Hello(), ctx, &cancel);
  ASSERT_TRUE(completion.ok()) << completion.status();
  EXPECT_EQ(completion->choices(0).message().content(), "Hi");
  EXPECT_EQ(upstream.keys(),
            (std::vector<std::string>{"sk-ant-key-1", "sk-ant-key-2",
                                      "sk-ant-key-2"}));
}

TEST(ClaudeProvider, RateLimitErrorEventCoolsTheKeyDownAndHidesIt) {
  FakeAnthropic upstream;
  std::string stream(kTextStream);
  stream = stream.substr(0, stream.find("event: content_block_delta")) +
           "event: error\n"
           "data: {\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\","
           "\"message\":\"rate limited for key sk-ant-key-1\"}}\n\n";
  upstream.AnswerFor("sk-ant-key-1", {200, "text/event-stream", stream});
  std::unique_ptr<Provider> provider = TwoKeyProvider(upstream);
  ASSERT_NE(provider, nullptr);
  TestUpstream data_plane(*provider);
  CancelToken cancel;
  CallContext ctx;
  CollectingSink sink;
  absl::Status status = data_plane.Stream(Hello(), ctx, sink, &cancel);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(status.message(), "rate limited for key [redacted]");
  EXPECT_TRUE(data_plane.Stream(Hello(), ctx, sink, &cancel).ok());
  EXPECT_TRUE(data_plane.Stream(Hello(), ctx, sink, &cancel).ok());
  EXPECT_EQ(upstream.keys(),
            (std::vector<std::string>{"sk-ant-key-1", "sk-ant-key-2",
                                      "sk-ant-key-2"}));
}

}  // namespace
}  // namespace aigw
