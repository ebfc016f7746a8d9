// The adapter against a local HTTP server standing in for DashScope: config
// validation, key rotation, both modes, errors and embeddings.
#include "providers/qwen/qwen_provider.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
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

struct Seen {
  std::string path;
  std::string authorization;
  std::string sse_header;
  std::string body;
};

struct Reply {
  int status = 200;
  std::string content_type = "text/event-stream";
  std::string body;
};

// Answers every POST with `status`, `content_type` and `body` (or what was
// set for its Authorization header), recording what it received.
class FakeDashScope {
 public:
  FakeDashScope() {
    server_.Post(".*", [this](const httplib::Request& req,
                              httplib::Response& res) {
      absl::MutexLock lock(&mu_);
      std::string authorization = req.get_header_value("Authorization");
      seen_.push_back({req.path, authorization,
                       req.get_header_value("X-DashScope-SSE"), req.body});
      auto it = by_key_.find(authorization);
      Reply answer = it != by_key_.end() ? it->second
                                         : Reply{status_, content_type_, body_};
      res.status = answer.status;
      if (answer.status == 429) res.set_header("Retry-After", "60");
      res.set_content(answer.body, answer.content_type);
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) absl::SleepFor(absl::Milliseconds(1));
  }
  ~FakeDashScope() {
    server_.stop();
    thread_.join();
  }

  void Answer(int status, std::string content_type, std::string body) {
    absl::MutexLock lock(&mu_);
    status_ = status;
    content_type_ = std::move(content_type);
    body_ = std::move(body);
  }
  // How the fake answers requests sent with `authorization`.
  void AnswerFor(const std::string& authorization, Reply answer) {
    absl::MutexLock lock(&mu_);
    by_key_[authorization] = std::move(answer);
  }
  std::vector<Seen> seen() {
    absl::MutexLock lock(&mu_);
    return seen_;
  }
  std::string url() const { return absl::StrCat("http://127.0.0.1:", port_); }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  absl::Mutex mu_;
  int status_ = 200;
  std::string content_type_ = "text/event-stream";
  std::string body_;
  std::vector<Seen> seen_;
  std::map<std::string, Reply> by_key_ ABSL_GUARDED_BY(mu_);
};

ProviderConfig Config(const std::string& base_url,
                      const std::string& mode = "") {
  ProviderConfig config;
  config.name = "dashscope";
  config.type = "qwen";
  config.base_url = base_url;
  config.api_keys = {"sk-qwen-key-1", "sk-qwen-key-2"};
  if (!mode.empty()) config.options["mode"] = mode;
  return config;
}

std::unique_ptr<Provider> Create(const ProviderConfig& config) {
  absl::StatusOr<std::unique_ptr<Provider>> provider =
      ProviderRegistry::Global().Create(config);
  EXPECT_TRUE(provider.ok()) << provider.status();
  return provider.ok() ? std::move(*provider) : nullptr;
}

v1::ChatCompletionRequest Hello(const std::string& model) {
  v1::ChatCompletionRequest request;
  request.set_model(model);
  v1::Message* message = request.add_messages();
  message->set_role("user");
  message->set_content("hello");
  return request;
}

constexpr char kNativeStream[] =
    "id:1\nevent:result\n:HTTP_STATUS/200\ndata:{\"output\":{\"choices\":[{"
    "\"message\":{\"content\":\"Hi\",\"role\":\"assistant\"},"
    "\"finish_reason\":\"null\"}]},\"usage\":{\"total_tokens\":6,"
    "\"output_tokens\":1,\"input_tokens\":5},\"request_id\":\"req-1\"}\n\n"
    "id:2\nevent:result\n:HTTP_STATUS/200\ndata:{\"output\":{\"choices\":[{"
    "\"message\":{\"content\":\" there\",\"role\":\"assistant\"},"
    "\"finish_reason\":\"stop\"}]},\"usage\":{\"total_tokens\":7,"
    "\"output_tokens\":2,\"input_tokens\":5},\"request_id\":\"req-1\"}\n\n";

class CollectingSink : public ChunkSink {
 public:
  bool Write(v1::ChatCompletionChunk chunk) override {
    chunks.push_back(std::move(chunk));
    return true;
  }
  std::vector<v1::ChatCompletionChunk> chunks;
};

TEST(QwenProvider, ConfigErrorsNameTheKey) {
  EXPECT_TRUE(ProviderRegistry::Global().Has("qwen"));
  ProviderConfig config = Config("", "streaming");
  EXPECT_EQ(ProviderRegistry::Global().Create(config).status().message(),
            "mode: must be 'native' or 'compatible', not 'streaming'");
  config = Config("");
  config.options["region"] = "intl";
  EXPECT_EQ(ProviderRegistry::Global().Create(config).status().message(),
            "region: not a key of the qwen provider");
  config = Config("");
  config.api_keys.clear();
  EXPECT_TRUE(absl::StartsWith(
      ProviderRegistry::Global().Create(config).status().message(),
      "api_keys:"));
  config = Config("https://dashscope.aliyuncs.com/compatible-mode/v1");
  EXPECT_TRUE(absl::StartsWith(
      ProviderRegistry::Global().Create(config).status().message(),
      "base_url: the qwen provider takes the origin"));
  EXPECT_NE(Create(Config("", "native")), nullptr);
  EXPECT_NE(Create(Config("https://dashscope-intl.aliyuncs.com", "compatible")),
            nullptr);
}

TEST(QwenProvider, NativeStreamRotatesKeysAndCompleteAssembles) {
  FakeDashScope upstream;
  upstream.Answer(200, "text/event-stream", kNativeStream);
  std::unique_ptr<Provider> provider = Create(Config(upstream.url()));
  ASSERT_NE(provider, nullptr);
  TestUpstream data_plane(*provider);
  CancelToken cancel;
  CallContext ctx;
  CollectingSink sink;
  ASSERT_TRUE(data_plane.Stream(Hello("qwen-plus"), ctx, sink, &cancel).ok());
  ASSERT_EQ(sink.chunks.size(), 3u);
  EXPECT_EQ(sink.chunks[0].id(), "chatcmpl-req-1");
  EXPECT_EQ(sink.chunks[2].usage().total_tokens(), 7);

  absl::StatusOr<v1::ChatCompletion> completion =
      data_plane.Complete(Hello("qwen-plus"), ctx, &cancel);
  ASSERT_TRUE(completion.ok()) << completion.status();
  EXPECT_EQ(completion->object(), "chat.completion");
  EXPECT_EQ(completion->choices(0).message().content(), "Hi there");
  EXPECT_EQ(completion->choices(0).finish_reason(), "stop");
  EXPECT_EQ(completion->usage().prompt_tokens(), 5);

  std::vector<Seen> seen = upstream.seen();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].path, "/api/v1/services/aigc/text-generation/generation");
  EXPECT_EQ(seen[0].sse_header, "enable");
  EXPECT_EQ(seen[0].authorization, "Bearer sk-qwen-key-1");
  EXPECT_EQ(seen[1].authorization, "Bearer sk-qwen-key-2");
}

TEST(QwenProvider, CompatibleModeSpeaksOpenAi) {
  FakeDashScope upstream;
  upstream.Answer(
      200, "text/event-stream",
      "data: {\"id\":\"chatcmpl-c1\",\"object\":\"chat.completion.chunk\","
      "\"created\":1,\"model\":\"qwen-plus\",\"choices\":[{\"index\":0,"
      "\"delta\":{\"role\":\"assistant\",\"content\":\"Yo\"},"
      "\"finish_reason\":\"stop\"}]}\n\n"
      "data: {\"id\":\"chatcmpl-c1\",\"object\":\"chat.completion.chunk\","
      "\"created\":1,\"model\":\"qwen-plus\",\"choices\":[],\"usage\":{"
      "\"prompt_tokens\":3,\"completion_tokens\":1,\"total_tokens\":4}}\n\n"
      "data: [DONE]\n\n");
  std::unique_ptr<Provider> provider =
      Create(Config(upstream.url() + "/gw", "compatible"));
  ASSERT_NE(provider, nullptr);
  TestUpstream data_plane(*provider);
  CancelToken cancel;
  CallContext ctx;
  absl::StatusOr<v1::ChatCompletion> completion =
      data_plane.Complete(Hello("qwen-plus"), ctx, &cancel);
  ASSERT_TRUE(completion.ok()) << completion.status();
  EXPECT_EQ(completion->id(), "chatcmpl-c1");
  EXPECT_EQ(completion->choices(0).message().content(), "Yo");
  EXPECT_EQ(completion->usage().total_tokens(), 4);
  std::vector<Seen> seen = upstream.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].path, "/gw/compatible-mode/v1/chat/completions");
  EXPECT_EQ(seen[0].sse_header, "");
}

TEST(QwenProvider, SseErrorBodyKeepsStatusMessageAndHidesTheKey) {
  FakeDashScope upstream;
  upstream.Answer(401, "text/event-stream",
                  "id:1\nevent:error\n:HTTP_STATUS/401\ndata:{\"code\":"
                  "\"InvalidApiKey\",\"message\":\"Invalid API-key provided: "
                  "sk-qwen-key-1\",\"request_id\":\"r\"}\n\n");
  std::unique_ptr<Provider> provider = Create(Config(upstream.url()));
  TestUpstream data_plane(*provider);
  CancelToken cancel;
  CallContext ctx;
  CollectingSink sink;
  absl::Status status =
      data_plane.Stream(Hello("qwen-max"), ctx, sink, &cancel);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(status.message(), "Invalid API-key provided: [redacted]");
  EXPECT_EQ(GetErrorDetails(status).code, "InvalidApiKey");
  EXPECT_TRUE(sink.chunks.empty());
}

std::vector<std::string> Authorizations(FakeDashScope& upstream) {
  std::vector<std::string> keys;
  for (const Seen& seen : upstream.seen()) keys.push_back(seen.authorization);
  return keys;
}

TEST(QwenProvider, ThrottledKeyIsSkippedByTheNextRequest) {
  FakeDashScope upstream;
  upstream.Answer(200, "text/event-stream", kNativeStream);
  upstream.AnswerFor("Bearer sk-qwen-key-1",
                     {429, "application/json",
                      R"({"code":"Throttling.RateQuota","message":"Requests )"
                      R"(rate limit exceeded.","request_id":"r"})"});
  std::unique_ptr<Provider> provider = Create(Config(upstream.url()));
  TestUpstream data_plane(*provider);
  CancelToken cancel;
  CallContext ctx;
  CollectingSink sink;
  EXPECT_EQ(data_plane.Stream(Hello("qwen-plus"), ctx, sink, &cancel).code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(data_plane.Stream(Hello("qwen-plus"), ctx, sink, &cancel).ok());
  EXPECT_TRUE(data_plane.Complete(Hello("qwen-plus"), ctx, &cancel).ok());
  EXPECT_EQ(
      Authorizations(upstream),
      (std::vector<std::string>{"Bearer sk-qwen-key-1", "Bearer sk-qwen-key-2",
                                "Bearer sk-qwen-key-2"}));

  // Once every key cools down the provider fails fast, without a call.
  upstream.AnswerFor("Bearer sk-qwen-key-2",
                     {429, "application/json",
                      R"({"code":"Throttling","message":"slow down"})"});
  EXPECT_EQ(data_plane.Stream(Hello("qwen-plus"), ctx, sink, &cancel).code(),
            absl::StatusCode::kResourceExhausted);
  absl::Status exhausted =
      data_plane.Stream(Hello("qwen-plus"), ctx, sink, &cancel);
  EXPECT_EQ(GetErrorDetails(exhausted).code, "keys_exhausted");
  EXPECT_EQ(upstream.seen().size(), 4u);
}

TEST(QwenProvider, ThrottlingEventInsideTheStreamCoolsTheKeyDown) {
  FakeDashScope upstream;
  upstream.Answer(200, "text/event-stream", kNativeStream);
  upstream.AnswerFor(
      "Bearer sk-qwen-key-1",
      {200, "text/event-stream",
       "id:1\nevent:error\n:HTTP_STATUS/429\ndata:{\"code\":\"Throttling\","
       "\"message\":\"Requests throttling triggered.\",\"request_id\":"
       "\"r\"}\n\n"});
  std::unique_ptr<Provider> provider = Create(Config(upstream.url()));
  TestUpstream data_plane(*provider);
  CancelToken cancel;
  CallContext ctx;
  CollectingSink sink;
  absl::Status status =
      data_plane.Stream(Hello("qwen-plus"), ctx, sink, &cancel);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(status.message(), "Requests throttling triggered.");
  EXPECT_TRUE(data_plane.Stream(Hello("qwen-plus"), ctx, sink, &cancel).ok());
  EXPECT_TRUE(data_plane.Stream(Hello("qwen-plus"), ctx, sink, &cancel).ok());
  EXPECT_EQ(
      Authorizations(upstream),
      (std::vector<std::string>{"Bearer sk-qwen-key-1", "Bearer sk-qwen-key-2",
                                "Bearer sk-qwen-key-2"}));
}

TEST(QwenProvider, JsonErrorBodyKeepsStatusAndMessage) {
  FakeDashScope upstream;
  upstream.Answer(
      429, "application/json",
      R"({"code":"Throttling.RateQuota","message":"Requests rate )"
      R"(limit exceeded, please try again later.","request_id":"r"})");
  std::unique_ptr<Provider> provider = Create(Config(upstream.url()));
  TestUpstream data_plane(*provider);
  CancelToken cancel;
  CallContext ctx;
  absl::StatusOr<v1::ChatCompletion> completion =
      data_plane.Complete(Hello("qwen-max"), ctx, &cancel);
  EXPECT_EQ(completion.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(GetErrorDetails(completion.status()).http_status, 429);
  EXPECT_EQ(completion.status().message(),
            "Requests rate limit exceeded, please try again later.");
}

TEST(QwenProvider, InvalidRequestNeverReachesTheUpstream) {
  FakeDashScope upstream;
  std::unique_ptr<Provider> provider = Create(Config(upstream.url()));
  v1::ChatCompletionRequest request = Hello("qwen-max");
  request.mutable_tool_choice()->set_mode("sometimes");
  TestUpstream data_plane(*provider);
  CancelToken cancel;
  CallContext ctx;
  EXPECT_EQ(data_plane.Complete(request, ctx, &cancel).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(upstream.seen().empty());
}

TEST(QwenProvider, DroppedParamsReachTheCallContext) {
  FakeDashScope upstream;
  upstream.Answer(200, "text/event-stream",
                  "data: {\"output\":{\"choices\":[{\"message\":{"
                  "\"role\":\"assistant\",\"content\":\"hi\"},"
                  "\"finish_reason\":\"stop\"}]},\"usage\":{"
                  "\"input_tokens\":1,\"output_tokens\":1},"
                  "\"request_id\":\"r\"}\n\n");
  std::unique_ptr<Provider> provider = Create(Config(upstream.url()));
  v1::ChatCompletionRequest request = Hello("qwen-max");
  request.set_frequency_penalty(1);
  TestUpstream data_plane(*provider);
  CancelToken cancel;
  CallContext ctx;
  ASSERT_TRUE(data_plane.Complete(request, ctx, &cancel).ok());
  EXPECT_EQ(ctx.dropped_params, std::vector<std::string>{"frequency_penalty"});
  EXPECT_EQ(upstream.seen().size(), 1u);
}

TEST(QwenProvider, EmbedNativeAndCompatible) {
  FakeDashScope upstream;
  upstream.Answer(200, "application/json",
                  R"({"output":{"embeddings":[{"text_index":0,)"
                  R"("embedding":[0.25,0.5]}]},"usage":{"total_tokens":3},)"
                  R"("request_id":"e1"})");
  std::unique_ptr<Provider> native = Create(Config(upstream.url()));
  v1::EmbeddingsRequest request;
  request.set_model("text-embedding-v3");
  request.add_input("hello");
  TestUpstream native_plane(*native);
  CancelToken cancel;
  CallContext ctx;
  absl::StatusOr<v1::EmbeddingsResponse> response =
      native_plane.Embed(request, ctx, &cancel);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->data(0).embedding(1), 0.5);
  EXPECT_EQ(response->usage().prompt_tokens(), 3);

  upstream.Answer(
      200, "application/json",
      R"({"object":"list","data":[{"object":"embedding",)"
      R"("index":0,"embedding":[1.5]}],"model":"text-embedding-v3",)"
      R"("usage":{"prompt_tokens":2,"total_tokens":2}})");
  std::unique_ptr<Provider> compatible =
      Create(Config(upstream.url(), "compatible"));
  TestUpstream compatible_plane(*compatible);
  response = compatible_plane.Embed(request, ctx, &cancel);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->data(0).embedding(0), 1.5);

  std::vector<Seen> seen = upstream.seen();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].path,
            "/api/v1/services/embeddings/text-embedding/text-embedding");
  EXPECT_EQ(seen[1].path, "/compatible-mode/v1/embeddings");
}

}  // namespace
}  // namespace aigw
