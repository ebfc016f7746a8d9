// The core below the end-to-end suite: the filter chain and the
// retry/fallback loop, driven by a scripted provider and a fake clock.
#include "server/gateway.h"

#include <gtest/gtest.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "providers/common/api_error.h"
#include "providers/registry.h"
#include "server/snapshot_testing.h"
#include "server/upstream_call_testing.h"

namespace aigw {
namespace {

// What one call to a scripted provider does.
struct Step {
  absl::Status status;  // the call's result (after its chunks, if OK)
  int words = 3;        // answer length; a stream sends one word per chunk
  int prompt_tokens = 5;
  absl::Duration takes;  // fake time the call uses
  bool usage = true;     // whether the answer reports usage
};

// Scripts by provider name; every call is logged.
struct Scripts {
  absl::Mutex mu;
  std::map<std::string, std::deque<Step>> steps;
  std::vector<std::string> calls;
  absl::Time now = absl::FromUnixSeconds(1'000'000);
};
Scripts& Script() {
  static Scripts* scripts = new Scripts;
  return *scripts;
}

// A provider without an upstream: the core plays its LocalAnswer, the
// step's chunks and then its status.
class ScriptedProvider : public Provider {
 public:
  explicit ScriptedProvider(std::string name) : name_(std::move(name)) {}

  const UpstreamEndpoint* endpoint() const override { return nullptr; }
  // "pass" takes a client's own body (a passthrough adapter).
  bool Passthrough(const v1::ChatCompletionRequest& request) const override {
    return name_ == "pass" && !request.passthrough_protocol().empty();
  }

  absl::StatusOr<LocalAnswer> LocalChat(
      const v1::ChatCompletionRequest& request) override {
    Step step = Next();
    LocalAnswer answer;
    if (!request.stream()) {
      // A whole answer: one chunk the core assembles, usage only if the
      // step reports it.
      if (!step.status.ok()) return step.status;
      v1::ChatCompletionChunk chunk;
      v1::ChunkChoice* choice = chunk.add_choices();
      choice->mutable_delta()->set_role("assistant");
      choice->mutable_delta()->set_content(Words(step.words));
      choice->set_finish_reason("stop");
      if (step.usage) SetUsage(step, chunk.mutable_usage());
      answer.chunks.push_back(std::move(chunk));
      return answer;
    }
    for (int i = 0; i < step.words; ++i) {
      v1::ChatCompletionChunk chunk;
      chunk.add_choices()->mutable_delta()->set_content("word ");
      answer.chunks.push_back(std::move(chunk));
    }
    answer.status = step.status;
    if (!step.status.ok()) return answer;
    v1::ChatCompletionChunk last;
    SetUsage(step, last.mutable_usage());
    answer.chunks.push_back(std::move(last));
    return answer;
  }

 private:
  Step Next() {
    absl::MutexLock lock(&Script().mu);
    Script().calls.push_back(name_);
    std::deque<Step>& steps = Script().steps[name_];
    Step step;
    if (!steps.empty()) {
      step = steps.front();
      steps.pop_front();
    }
    Script().now += step.takes;
    return step;
  }
  static std::string Words(int n) {
    std::string text;
    for (int i = 0; i < n; ++i) absl::StrAppend(&text, "word ");
    return text;
  }
  static void SetUsage(const Step& step, v1::Usage* usage) {
    usage->set_prompt_tokens(step.prompt_tokens);
    usage->set_completion_tokens(step.words);
    usage->set_total_tokens(step.prompt_tokens + step.words);
  }
  const std::string name_;
};

const ProviderRegistration kScripted(
    "scripted",
    [](const ProviderConfig& config)
        -> absl::StatusOr<std::unique_ptr<Provider>> {
      return std::make_unique<ScriptedProvider>(config.name);
    });

// A client that reads everything it is sent.
class CollectingSink : public StreamWriter {
 public:
  boost::asio::awaitable<bool> Write(
      std::vector<v1::ChatCompletionChunk>& batch) override {
    for (v1::ChatCompletionChunk& chunk : batch) {
      chunks.push_back(std::move(chunk));
    }
    co_return true;
  }
  std::vector<v1::ChatCompletionChunk> chunks;
};

class GatewayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::MutexLock lock(&Script().mu);
    Script().steps.clear();
    Script().calls.clear();
  }

  void Start(const std::string& yaml) {
    gateway_ = std::make_unique<Gateway>(BuildFromYaml(yaml), &metrics_, [] {
      absl::MutexLock lock(&Script().mu);
      return Script().now;
    });
  }
  void Then(const std::string& provider, Step step) {
    absl::MutexLock lock(&Script().mu);
    Script().steps[provider].push_back(step);
  }
  std::vector<std::string> Calls() {
    absl::MutexLock lock(&Script().mu);
    return Script().calls;
  }
  static v1::ChatCompletionRequest Chat(const std::string& model,
                                        int max_tokens = 0) {
    v1::ChatCompletionRequest request;
    request.set_model(model);
    auto* message = request.add_messages();
    message->set_role("user");
    message->set_content("hello");
    if (max_tokens > 0) request.set_max_tokens(max_tokens);
    return request;
  }
  static RequestContext Caller(const std::string& key) {
    RequestContext ctx;
    ctx.api_key = key;
    return ctx;
  }
  static std::string Header(const RequestContext& ctx,
                            const std::string& name) {
    for (const auto& [key, value] : ctx.response_headers) {
      if (key == name) return value;
    }
    return "";
  }

  // The gateway's calls, run to completion on the test's own event loop.
  absl::StatusOr<v1::ChatCompletion> Create(v1::ChatCompletionRequest request,
                                            RequestContext* ctx = nullptr) {
    return RunBlocking(
        loop_, gateway_->Create(std::move(request), loop_, nullptr, ctx));
  }
  absl::Status Stream(v1::ChatCompletionRequest request, StreamWriter& writer,
                      RequestContext* ctx = nullptr) {
    return RunBlocking(loop_, gateway_->Stream(std::move(request), writer,
                                               loop_, nullptr, ctx));
  }
  absl::StatusOr<v1::EmbeddingsResponse> Embed(v1::EmbeddingsRequest request,
                                               RequestContext* ctx = nullptr) {
    return RunBlocking(
        loop_, gateway_->Embed(std::move(request), loop_, nullptr, ctx));
  }

  boost::asio::io_context loop_{1};
  Metrics metrics_;
  std::unique_ptr<Gateway> gateway_;
};

constexpr char kTwoProviders[] = R"(
retries: {max_attempts: 3, budget: 10s}
circuit_breaker: {failures: 100}
fallback: [backup]
providers:
  - {name: main, type: scripted, api_keys: [k1, k2]}
  - {name: backup, type: scripted}
)";

TEST_F(GatewayTest, UnavailableFallsBackToTheNextProvider) {
  Start(kTwoProviders);
  Then("main", {absl::UnavailableError("down")});
  RequestContext ctx;
  absl::StatusOr<v1::ChatCompletion> answer = Create(Chat("gpt-4o"), &ctx);
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(Calls(), (std::vector<std::string>{"main", "backup"}));
  EXPECT_EQ(ctx.info.provider, "backup");
  EXPECT_EQ(ctx.info.attempts, 2);
  EXPECT_EQ(answer->model(), "gpt-4o");
}

TEST_F(GatewayTest, KeyFailureTriesTheSameProviderWithItsNextKey) {
  Start(kTwoProviders);
  Then("main", {absl::UnauthenticatedError("bad key")});
  RequestContext ctx;
  ASSERT_TRUE(Create(Chat("gpt-4o"), &ctx).ok());
  EXPECT_EQ(Calls(), (std::vector<std::string>{"main", "main"}));
  EXPECT_EQ(ctx.info.provider, "main");
}

TEST_F(GatewayTest, ClientErrorsAreNotRetried) {
  Start(kTwoProviders);
  Then("main", {InvalidRequest("no", "messages", "invalid")});
  absl::StatusOr<v1::ChatCompletion> answer = Create(Chat("gpt-4o"));
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Calls(), (std::vector<std::string>{"main"}));
}

// A request only a passthrough provider can serve goes past every
// candidate that would translate it, none of them called or counted as an
// attempt; with no passthrough candidate it is the 400 naming the field.
TEST_F(GatewayTest, UntranslatableRequestsSkipTranslatingCandidates) {
  Start(kTwoProviders);
  v1::ChatCompletionRequest request = Chat("gpt-4o");
  request.set_untranslatable("content block type 'document'");
  request.set_untranslatable_param("messages[0].content[0].type");
  RequestContext ctx;
  absl::StatusOr<v1::ChatCompletion> answer = Create(request, &ctx);
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(GetErrorDetails(answer.status()).code, "untranslatable");
  EXPECT_EQ(GetErrorDetails(answer.status()).param,
            "messages[0].content[0].type");
  EXPECT_TRUE(Calls().empty());
  EXPECT_EQ(ctx.info.attempts, 0);
  EXPECT_TRUE(ctx.info.attempt_records.empty());
}

// After a real failure of a candidate that could serve the request, a
// later one that cannot translate it does not hide that failure behind
// its 400; a passthrough candidate after it serves the request.
TEST_F(GatewayTest, UntranslatableDoesNotHideAnEarlierFailure) {
  Start(R"(
retries: {max_attempts: 3, budget: 10s}
circuit_breaker: {failures: 100}
providers:
  - {name: pass, type: scripted}
  - {name: main, type: scripted}
routes:
  - {models: [m], providers: [pass], fallback: [main]}
  - {models: [n], providers: [main], fallback: [pass]}
)");
  v1::ChatCompletionRequest request = Chat("m");
  request.set_passthrough_protocol("anthropic");
  request.set_untranslatable("content block type 'document'");
  request.set_untranslatable_param("messages[0].content[0].type");
  Then("pass", {absl::UnavailableError("down")});
  RequestContext ctx;
  absl::StatusOr<v1::ChatCompletion> answer = Create(request, &ctx);
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kUnavailable)
      << answer.status();
  EXPECT_EQ(Calls(), (std::vector<std::string>{"pass"}));
  EXPECT_EQ(ctx.info.attempts, 1);

  request.set_model("n");
  RequestContext served;
  answer = Create(request, &served);
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(served.info.provider, "pass");
  EXPECT_EQ(served.info.attempts, 1);
}

TEST_F(GatewayTest, NoAttemptStartsAfterTheRetryBudget) {
  Start(kTwoProviders);
  // The first call takes (fake) 11 s: the 10 s budget is spent.
  Then("main",
       {absl::UnavailableError("slow and down"), 0, 5, absl::Seconds(11)});
  absl::StatusOr<v1::ChatCompletion> answer = Create(Chat("gpt-4o"));
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(Calls(), (std::vector<std::string>{"main"}));
}

TEST_F(GatewayTest, StreamFailureAfterTheFirstChunkIsNotRetried) {
  Start(kTwoProviders);
  Then("main", {absl::UnavailableError("broke"), 2});
  CollectingSink sink;
  absl::Status status = Stream(Chat("gpt-4o"), sink);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(Calls(), (std::vector<std::string>{"main"}));
  EXPECT_EQ(sink.chunks.size(), 2u);
}

constexpr char kConsumers[] = R"(
providers:
  - {name: main, type: scripted}
consumers:
  - name: team-a
    api_keys: [key-a]
    models: ["gpt-4*"]
    limits: {tokens_per_minute: 1000, requests_per_minute: 100}
    on_budget_exhausted: cut
  - name: team-b
    api_keys: ["sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"]
limits: {default_max_tokens: 100}
)";

TEST_F(GatewayTest, UnknownKeysAndModelsAreRefusedBeforeAnyUpstreamCall) {
  Start(kConsumers);
  RequestContext none;
  EXPECT_EQ(Create(Chat("gpt-4o"), &none).status().code(),
            absl::StatusCode::kUnauthenticated);
  RequestContext wrong = Caller("key-b");
  absl::Status status = Create(Chat("gpt-4o"), &wrong).status();
  EXPECT_EQ(GetErrorDetails(status).code, "invalid_api_key");
  EXPECT_EQ(GetErrorDetails(status).http_status, 401);
  RequestContext other_model = Caller("key-a");
  status = Create(Chat("o1"), &other_model).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(GetErrorDetails(status).code, "model_not_allowed");
  EXPECT_TRUE(Calls().empty());
  EXPECT_EQ(gateway_->Authenticate(Caller("key-b")).code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(gateway_->Authenticate(Caller("key-a")).ok());
  // "test" is the key whose SHA-256 the config lists.
  RequestContext hashed = Caller("test");
  EXPECT_TRUE(Create(Chat("o1"), &hashed).ok());
  EXPECT_EQ(hashed.consumer->config.name, "team-b");
}

TEST_F(GatewayTest, ModelListShowsOnlyWhatTheConsumerMayUse) {
  Start(R"(
providers:
  - {name: main, type: scripted, models: [gpt-4o, gpt-4o-mini, o1]}
consumers:
  - {name: team-a, api_keys: [key-a], models: ["gpt-4*"]}
)");
  RequestContext ctx = Caller("key-a");
  absl::StatusOr<v1::ListModelsResponse> models = gateway_->ListModels(&ctx);
  ASSERT_TRUE(models.ok()) << models.status();
  std::vector<std::string> ids;
  for (const v1::Model& model : models->data()) ids.push_back(model.id());
  EXPECT_EQ(ids, (std::vector<std::string>{"gpt-4o", "gpt-4o-mini"}));
  RequestContext anonymous;
  EXPECT_EQ(gateway_->ListModels(&anonymous).status().code(),
            absl::StatusCode::kUnauthenticated);
  RequestContext hidden = Caller("key-a");
  EXPECT_EQ(gateway_->FindModel("o1", &hidden).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(GatewayTest, ReservationIsSettledToTheRealUsage) {
  Start(kConsumers);
  // Reserves ~10 + 900, uses 5 + 3: the next 900 fits only if settled.
  for (int i = 0; i < 3; ++i) {
    RequestContext ctx = Caller("key-a");
    ASSERT_TRUE(Create(Chat("gpt-4o", 900), &ctx).ok()) << "request " << i;
    EXPECT_EQ(Header(ctx, "x-ratelimit-limit-tokens"), "1000");
  }
  RequestContext too_big = Caller("key-a");
  absl::Status status = Create(Chat("gpt-4o", 1000), &too_big).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(GetErrorDetails(status).type, "tokens");
  EXPECT_EQ(GetErrorDetails(status).code, "rate_limit_exceeded");
  // Larger than the whole limit: waiting would not help.
  EXPECT_LT(GetErrorDetails(status).retry_after_ms, 0);
}

// Counting tokens (answered here by the estimate: no provider counts)
// reserves and spends no tokens, calls no upstream, and is one request.
TEST_F(GatewayTest, CountTokensSpendsNoTokens) {
  Start(kConsumers);
  // The consumer spends more than its 1000 tokens: it may still count.
  Then("main", {absl::OkStatus(), 5, 1000});
  RequestContext spend = Caller("key-a");
  ASSERT_TRUE(Create(Chat("gpt-4o", 10), &spend).ok());
  for (int i = 0; i < 3; ++i) {
    v1::ChatCompletionRequest count = Chat("gpt-4o");
    count.set_passthrough_protocol(std::string(kAnthropicCountTokens));
    RequestContext ctx = Caller("key-a");
    absl::StatusOr<v1::ChatCompletion> answer = Create(count, &ctx);
    ASSERT_TRUE(answer.ok()) << answer.status();
    EXPECT_EQ(answer->passthrough_body(), R"({"input_tokens":9})");
    EXPECT_EQ(Header(ctx, "x-ratelimit-remaining-tokens"), "");
    EXPECT_EQ(Header(ctx, "x-ratelimit-remaining-requests"),
              absl::StrCat(98 - i));
    EXPECT_EQ(ctx.info.attempts, 0);
  }
  EXPECT_EQ(Calls(), (std::vector<std::string>{"main"}));
}

TEST_F(GatewayTest, FailedCallReleasesItsReservation) {
  Start(kConsumers);
  for (int i = 0; i < 3; ++i) {
    Then("main", {InvalidRequest("refused upstream", "", "")});
    RequestContext ctx = Caller("key-a");
    EXPECT_FALSE(Create(Chat("gpt-4o", 900), &ctx).ok());
  }
  RequestContext ctx = Caller("key-a");
  EXPECT_TRUE(Create(Chat("gpt-4o", 900), &ctx).ok());
}

TEST_F(GatewayTest, CutEndsAStreamThatOutgrowsTheBudget) {
  Start(kConsumers);
  // No max_tokens: 100 reserved, then grown 256 at a time while 1000 lasts;
  // "word " is 2 tokens, so 1000 words cannot fit.
  Then("main", {absl::OkStatus(), 1000});
  CollectingSink sink;
  RequestContext ctx = Caller("key-a");
  absl::Status status = Stream(Chat("gpt-4o"), sink, &ctx);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(GetErrorDetails(status).code, "rate_limit_exceeded");
  EXPECT_GT(sink.chunks.size(), 100u);
  EXPECT_LT(sink.chunks.size(), 1000u);
  EXPECT_EQ(Calls().size(), 1u);  // a cut stream is not retried
}

TEST_F(GatewayTest, RequestsPerMinuteCountEveryRequest) {
  Start(R"(
providers:
  - {name: main, type: scripted}
limits: {default: {requests_per_minute: 2}}
)");
  EXPECT_TRUE(Create(Chat("m")).ok());
  EXPECT_TRUE(Create(Chat("m")).ok());
  RequestContext ctx;
  absl::Status status = Create(Chat("m"), &ctx).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(GetErrorDetails(status).type, "requests");
  EXPECT_GT(GetErrorDetails(status).retry_after_ms, 0);
  EXPECT_EQ(Header(ctx, "x-ratelimit-remaining-requests"), "0");
}

TEST_F(GatewayTest, DefaultMaxTokensNeverMakesEveryRequestTooLarge) {
  // default_max_tokens is 4096, the whole budget 1000: a request without
  // max_tokens reserves what fits instead of failing forever.
  Start(R"(
providers:
  - {name: main, type: scripted}
consumers:
  - {name: a, api_keys: [key-a], limits: {tokens_per_day: 1000}}
)");
  RequestContext ctx = Caller("key-a");
  EXPECT_TRUE(Create(Chat("m"), &ctx).ok());
  EXPECT_EQ(Header(ctx, "x-ratelimit-remaining-tokens"), "0");
  // Settled to the real 8 tokens: the next one reserves what is left.
  RequestContext next = Caller("key-a");
  EXPECT_TRUE(Create(Chat("m"), &next).ok());
  EXPECT_EQ(Header(next, "x-ratelimit-remaining-tokens"), "0");
}

TEST_F(GatewayTest, AnswerWithoutUsageIsChargedItsEstimate) {
  Start(kConsumers);
  // 400 words of "word " are 500 tokens: charged, two such answers (509
  // each with the prompt) leave no room for a third reservation of 459.
  for (int i = 0; i < 2; ++i) {
    Then("main", {absl::OkStatus(), 400, 5, absl::ZeroDuration(), false});
    RequestContext ctx = Caller("key-a");
    absl::Status status = Create(Chat("gpt-4o", 450), &ctx).status();
    ASSERT_TRUE(status.ok()) << status;
  }
  RequestContext third = Caller("key-a");
  EXPECT_EQ(Create(Chat("gpt-4o", 500), &third).status().code(),
            absl::StatusCode::kResourceExhausted);
}

TEST_F(GatewayTest, CutWithoutATokenBudgetLetsTheStreamFinish) {
  // Only requests are limited: a stream past its reservation has nothing
  // to grow into and nothing to be cut by.
  Start(R"(
providers:
  - {name: main, type: scripted}
consumers:
  - name: a
    api_keys: [key-a]
    limits: {requests_per_minute: 10}
    on_budget_exhausted: cut
limits: {default_max_tokens: 2}
)");
  Then("main", {absl::OkStatus(), 50});
  CollectingSink sink;
  RequestContext ctx = Caller("key-a");
  EXPECT_TRUE(Stream(Chat("m"), sink, &ctx).ok());
  EXPECT_EQ(sink.chunks.size(), 50u);
}

TEST_F(GatewayTest, EmbeddingsFromAProviderWithoutThemAreAClear400) {
  Start(kTwoProviders);
  v1::EmbeddingsRequest request;
  request.set_model("text-embedding-3-small");
  request.add_input("hello");
  RequestContext ctx;
  absl::StatusOr<v1::EmbeddingsResponse> answer = Embed(request, &ctx);
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(GetErrorDetails(answer.status()).code, "embeddings_not_supported");
  EXPECT_EQ(GetErrorDetails(answer.status()).http_status, 400);
  EXPECT_EQ(ctx.info.attempts, 1);  // a client error is not retried
  EXPECT_TRUE(Calls().empty());
}

TEST(GatewayConfig, AKeyListedPlainAndAsItsHashIsAConfigError) {
  absl::StatusOr<GatewayConfig> config = ParseConfig(R"(
providers: [{name: main, type: scripted}]
consumers:
  - {name: a, api_keys: [test]}
  - {name: b, api_keys: ["sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"]}
)");
  ASSERT_TRUE(config.ok()) << config.status();
  absl::StatusOr<std::shared_ptr<const GatewaySnapshot>> snapshot =
      BuildSnapshot(*std::move(config), TestState(), TestMetrics());
  EXPECT_FALSE(snapshot.ok());
  EXPECT_NE(snapshot.status().message().find("consumers[1].api_keys"),
            std::string::npos);
}

}  // namespace
}  // namespace aigw
