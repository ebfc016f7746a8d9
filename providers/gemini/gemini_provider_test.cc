#include "providers/gemini/gemini_provider.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "httplib.h"
#include "providers/common/api_error.h"
#include "providers/common/chat_assembler.h"
#include "providers/common/openai_request_json.h"
#include "providers/registry.h"
#include "server/upstream_call_testing.h"

namespace aigw {
namespace {

using nlohmann::json;

struct Answer {
  int status = 200;
  std::string content_type;
  std::string body;
};

// A Gemini stand-in on an ephemeral loopback port that records what it got.
class FakeGemini {
 public:
  FakeGemini() {
    server_.Post(".*", [this](const httplib::Request& req,
                              httplib::Response& res) {
      std::string key = req.get_header_value("x-goog-api-key");
      {
        absl::MutexLock lock(&mu_);
        paths_.push_back(req.path +
                         (req.params.count("alt") ? "?alt=sse" : ""));
        keys_.push_back(key);
        authorization_.push_back(req.get_header_value("Authorization"));
        auto it = by_key_.find(key);
        if (it != by_key_.end()) {
          res.status = it->second.status;
          if (res.status == 429) res.set_header("Retry-After", "60");
          res.set_content(it->second.body, it->second.content_type);
          return;
        }
      }
      if (req.path.find("broken") != std::string::npos) {
        res.status = 400;
        res.set_content(
            R"({"error": {"code": 400, "message": "API key not valid: key-one-secret", "status": "INVALID_ARGUMENT"}})",
            "application/json");
      } else if (req.path.find(":batchEmbedContents") != std::string::npos) {
        res.set_content(R"({"embeddings": [{"values": [0.5, 0.25]}]})",
                        "application/json");
      } else if (req.path.find(":streamGenerateContent") != std::string::npos) {
        res.set_content(
            "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": "
            "\"Hi\"}],\"role\": \"model\"},\"index\": 0}],\"responseId\": "
            "\"s1\"}\r\n\r\n"
            "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": "
            "\" there\"}],\"role\": \"model\"},\"finishReason\": \"STOP\","
            "\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 3,"
            "\"candidatesTokenCount\": 2,\"totalTokenCount\": 5},"
            "\"responseId\": \"s1\"}\r\n\r\n",
            "text/event-stream");
      } else {
        res.set_content(
            R"({"candidates": [{"content": {"parts": [{"text": "Whole"}], "role": "model"}, "finishReason": "MAX_TOKENS", "index": 0}], "usageMetadata": {"promptTokenCount": 4, "candidatesTokenCount": 1, "totalTokenCount": 5}, "responseId": "w1"})",
            "application/json");
      }
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::yield();
  }
  ~FakeGemini() {
    server_.stop();
    thread_.join();
  }
  // How the fake answers every request sent with `key`.
  void AnswerFor(const std::string& key, Answer answer) {
    absl::MutexLock lock(&mu_);
    by_key_[key] = std::move(answer);
  }
  std::string base_url() const {
    return absl::StrCat("http://127.0.0.1:", port_, "/gw");
  }
  std::vector<std::string> paths() {
    absl::MutexLock lock(&mu_);
    return paths_;
  }
  std::vector<std::string> keys() {
    absl::MutexLock lock(&mu_);
    return keys_;
  }
  std::vector<std::string> authorization() {
    absl::MutexLock lock(&mu_);
    return authorization_;
  }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  absl::Mutex mu_;
  std::vector<std::string> paths_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> keys_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> authorization_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Answer> by_key_ ABSL_GUARDED_BY(mu_);
};

ProviderConfig Config(const std::string& base_url) {
  ProviderConfig config;
  config.name = "google";
  config.type = "gemini";
  config.base_url = base_url;
  config.api_keys = {"key-one-secret", "key-two-secret"};
  config.read_timeout = absl::Seconds(5);
  return config;
}

v1::ChatCompletionRequest Chat(const std::string& model) {
  return *ParseChatRequest(
      absl::StrCat(R"({"model": ")", model,
                   R"(", "messages": [{"role": "user", "content": "hi"}]})"));
}

class Collector : public ChunkSink {
 public:
  bool Write(v1::ChatCompletionChunk chunk) override {
    chunks.push_back(chunk);
    return assembler.Write(std::move(chunk));
  }
  std::vector<v1::ChatCompletionChunk> chunks;
  ChatAssembler assembler;
};

TEST(GeminiProvider, ConfigKeysAreValidated) {
  ProviderConfig config = Config("");
  EXPECT_TRUE(ProviderRegistry::Global().Create(config).ok());
  config.options["api_version"] = "v1";
  EXPECT_TRUE(ProviderRegistry::Global().Create(config).ok());
  config.options["api_version"] = "v1/../x";
  EXPECT_NE(
      std::string(ProviderRegistry::Global().Create(config).status().message())
          .find("api_version"),
      std::string::npos);
  config.options = {{"mode", "native"}};
  EXPECT_EQ(ProviderRegistry::Global().Create(config).status().message(),
            "mode: not a key of the gemini provider");
  config.options.clear();
  config.api_keys.clear();
  EXPECT_FALSE(ProviderRegistry::Global().Create(config).ok());
}

TEST(GeminiProvider, StreamCompleteAndEmbedReachTheirPathsWithKeysInTurn) {
  FakeGemini fake;
  ProviderConfig config = Config(fake.base_url());
  config.options["api_version"] = "v1alpha";
  auto provider = ProviderRegistry::Global().Create(config);
  ASSERT_TRUE(provider.ok()) << provider.status();
  TestUpstream data_plane(**provider);
  CancelToken cancel;
  CallContext ctx;

  Collector sink;
  ASSERT_TRUE(
      data_plane.Stream(Chat("gemini-2.5-flash"), ctx, sink, &cancel).ok());
  v1::ChatCompletion streamed = sink.assembler.Build();
  EXPECT_EQ(streamed.choices(0).message().content(), "Hi there");
  EXPECT_EQ(streamed.id(), "chatcmpl-s1");
  EXPECT_EQ(sink.chunks.back().usage().total_tokens(), 5);

  absl::StatusOr<v1::ChatCompletion> whole =
      data_plane.Complete(Chat("gemini-2.5-flash"), ctx, &cancel);
  ASSERT_TRUE(whole.ok()) << whole.status();
  EXPECT_EQ(whole->choices(0).message().content(), "Whole");
  EXPECT_EQ(whole->choices(0).finish_reason(), "length");
  EXPECT_EQ(whole->usage().prompt_tokens(), 4);

  v1::EmbeddingsRequest embed;
  embed.set_model("text-embedding-004");
  embed.add_input("x");
  absl::StatusOr<v1::EmbeddingsResponse> vectors =
      data_plane.Embed(embed, ctx, &cancel);
  ASSERT_TRUE(vectors.ok()) << vectors.status();
  EXPECT_EQ(vectors->data(0).embedding_size(), 2);

  EXPECT_EQ(
      fake.paths(),
      (std::vector<std::string>{
          "/gw/v1alpha/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
          "/gw/v1alpha/models/gemini-2.5-flash:generateContent",
          "/gw/v1alpha/models/text-embedding-004:batchEmbedContents"}));
  EXPECT_EQ(fake.keys(),
            (std::vector<std::string>{"key-one-secret", "key-two-secret",
                                      "key-one-secret"}));
  for (const std::string& auth : fake.authorization()) EXPECT_EQ(auth, "");
}

TEST(GeminiProvider, UpstreamErrorKeepsStatusAndMessageWithKeysRedacted) {
  FakeGemini fake;
  auto provider = ProviderRegistry::Global().Create(Config(fake.base_url()));
  ASSERT_TRUE(provider.ok());
  TestUpstream data_plane(**provider);
  CancelToken cancel;
  CallContext ctx;
  absl::StatusOr<v1::ChatCompletion> whole =
      data_plane.Complete(Chat("broken"), ctx, &cancel);
  ASSERT_FALSE(whole.ok());
  EXPECT_EQ(GetErrorDetails(whole.status()).http_status, 400);
  EXPECT_EQ(whole.status().message(), "API key not valid: [redacted]");
  Collector sink;
  absl::Status status = data_plane.Stream(Chat("broken"), ctx, sink, &cancel);
  EXPECT_EQ(status.message(), "API key not valid: [redacted]");
  EXPECT_TRUE(sink.chunks.empty());
}

TEST(GeminiProvider, RateLimitedKeyIsSkippedByTheNextRequest) {
  FakeGemini fake;
  fake.AnswerFor(
      "key-one-secret",
      {429, "application/json",
       R"({"error": {"code": 429, "message": "Resource has been exhausted )"
       R"((e.g. check quota).", "status": "RESOURCE_EXHAUSTED"}})"});
  auto provider = ProviderRegistry::Global().Create(Config(fake.base_url()));
  ASSERT_TRUE(provider.ok());
  TestUpstream data_plane(**provider);
  CancelToken cancel;
  CallContext ctx;
  Collector sink;
  absl::Status status =
      data_plane.Stream(Chat("gemini-2.5-flash"), ctx, sink, &cancel);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(GetErrorDetails(status).http_status, 429);
  EXPECT_TRUE(
      data_plane.Stream(Chat("gemini-2.5-flash"), ctx, sink, &cancel).ok());
  EXPECT_TRUE(data_plane.Complete(Chat("gemini-2.5-flash"), ctx, &cancel).ok());
  EXPECT_EQ(fake.keys(),
            (std::vector<std::string>{"key-one-secret", "key-two-secret",
                                      "key-two-secret"}));
}

TEST(GeminiProvider, RateLimitErrorInsideTheStreamCoolsTheKeyDown) {
  FakeGemini fake;
  fake.AnswerFor(
      "key-one-secret",
      {200, "text/event-stream",
       "data: {\"error\": {\"code\": 429, \"message\": \"Quota exceeded "
       "for key-one-secret\", \"status\": \"RESOURCE_EXHAUSTED\"}}\r\n\r\n"});
  auto provider = ProviderRegistry::Global().Create(Config(fake.base_url()));
  ASSERT_TRUE(provider.ok());
  TestUpstream data_plane(**provider);
  CancelToken cancel;
  CallContext ctx;
  Collector sink;
  absl::Status status =
      data_plane.Stream(Chat("gemini-2.5-flash"), ctx, sink, &cancel);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(status.message(), "Quota exceeded for [redacted]");
  EXPECT_TRUE(
      data_plane.Stream(Chat("gemini-2.5-flash"), ctx, sink, &cancel).ok());
  EXPECT_TRUE(
      data_plane.Stream(Chat("gemini-2.5-flash"), ctx, sink, &cancel).ok());
  EXPECT_EQ(fake.keys(),
            (std::vector<std::string>{"key-one-secret", "key-two-secret",
                                      "key-two-secret"}));
}

TEST(GeminiProvider, BadRequestsFailBeforeAnyUpstreamCall) {
  FakeGemini fake;
  auto provider = ProviderRegistry::Global().Create(Config(fake.base_url()));
  ASSERT_TRUE(provider.ok());
  TestUpstream data_plane(**provider);
  CancelToken cancel;
  CallContext ctx;
  Collector sink;
  EXPECT_EQ(GetErrorDetails(data_plane.Stream(Chat("../x"), ctx, sink, &cancel))
                .param,
            "model");
  v1::ChatCompletionRequest request = Chat("gemini-2.5-flash");
  (*request.mutable_extra()->mutable_fields())["reasoning_effort"]
      .set_string_value("enormous");
  EXPECT_EQ(GetErrorDetails(data_plane.Complete(request, ctx, &cancel).status())
                .http_status,
            400);
  EXPECT_TRUE(fake.paths().empty());
}

}  // namespace
}  // namespace aigw
