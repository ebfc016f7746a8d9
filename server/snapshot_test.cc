#include "server/snapshot.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

#include "server/snapshot_testing.h"

namespace aigw {
namespace {

std::shared_ptr<const GatewaySnapshot> Build(const std::string& yaml) {
  return BuildFromYaml(yaml);
}

std::vector<std::string> Names(const std::vector<Candidate>& plan) {
  std::vector<std::string> names;
  for (const Candidate& c : plan) names.push_back(c.backend->config.name);
  return names;
}

constexpr char kProviders[] = R"(
providers:
  - {name: a, type: echo, model_mapping: {gpt-4o: a-model}}
  - {name: b, type: echo, model_mapping: {"*": b-model}}
  - {name: c, type: echo, models: [c-only]}
)";

TEST(PlanFor, WithoutRoutesFirstServingProviderThenDefaultFallback) {
  auto snapshot = Build(std::string(kProviders) + "fallback: [c, a]\n");
  absl::StatusOr<std::vector<Candidate>> plan = PlanFor(*snapshot, "gpt-4o", 0);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(Names(*plan), (std::vector<std::string>{"a", "c"}));
  EXPECT_EQ((*plan)[0].upstream_model, "a-model");
  // c's mapping does not list gpt-4o: it gets the requested name.
  EXPECT_EQ((*plan)[1].upstream_model, "gpt-4o");
}

TEST(PlanFor, RoutesMatchInOrderExactPrefixRegex) {
  auto snapshot = Build(std::string(kProviders) + R"(
routes:
  - {models: [gpt-4o], providers: [c]}
  - {models: ["gpt-*"], providers: [b], fallback: [a]}
  - {models: ["~^o\\d"], providers: [a], fallback: []}
)");
  EXPECT_EQ(Names(*PlanFor(*snapshot, "gpt-4o", 0)),
            (std::vector<std::string>{"c"}));
  EXPECT_EQ(Names(*PlanFor(*snapshot, "gpt-3.5", 0)),
            (std::vector<std::string>{"b", "a"}));
  EXPECT_EQ(Names(*PlanFor(*snapshot, "o3-mini", 0)),
            (std::vector<std::string>{"a"}));
  // No route: the first provider serving it (b serves everything).
  EXPECT_EQ(Names(*PlanFor(*snapshot, "claude", 0)),
            (std::vector<std::string>{"b"}));
}

TEST(PlanFor, UnknownModelIsNotFound) {
  auto snapshot = Build(R"(
providers:
  - {name: a, type: echo, models: [x]}
)");
  absl::StatusOr<std::vector<Candidate>> plan = PlanFor(*snapshot, "y", 0);
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().code(), absl::StatusCode::kNotFound);
}

TEST(PlanFor, WeightsSpreadLoadWithinTolerance) {
  auto snapshot = Build(std::string(kProviders) + R"(
routes:
  - models: ["*"]
    providers: [{name: a, weight: 3}, {name: b, weight: 1}]
    fallback: [c]
)");
  std::mt19937 random(42);
  std::map<std::string, int> first;
  constexpr int kRequests = 20000;
  for (int i = 0; i < kRequests; ++i) {
    absl::StatusOr<std::vector<Candidate>> plan =
        PlanFor(*snapshot, "m", random());
    ASSERT_TRUE(plan.ok());
    ASSERT_EQ(plan->back().backend->config.name, "c");  // fallback last
    first[plan->front().backend->config.name]++;
  }
  EXPECT_NEAR(first["a"] / double(kRequests), 0.75, 0.02);
  EXPECT_NEAR(first["b"] / double(kRequests), 0.25, 0.02);
}

TEST(RouteConfig, ErrorsNameTheKey) {
  auto error = [](const std::string& yaml) {
    absl::StatusOr<GatewayConfig> config =
        ParseConfig(std::string(kProviders) + yaml);
    return config.ok() ? std::string() : std::string(config.status().message());
  };
  EXPECT_NE(error("routes: [{models: [x], providers: [nope]}]")
                .find("routes[0].providers[0]: no provider is named 'nope'"),
            std::string::npos);
  EXPECT_NE(error("routes: [{models: [x], providers: [{name: a, weight: 0}]}]")
                .find("routes[0].providers[0].weight"),
            std::string::npos);
  EXPECT_NE(error("routes: [{providers: [a]}]").find("routes[0].models"),
            std::string::npos);
  EXPECT_NE(error("routes: [{models: [\"~(\"], providers: [a]}]")
                .find("routes[0].models"),
            std::string::npos);
  EXPECT_NE(error("fallback: [a, zz]").find("fallback[1]"), std::string::npos);
  EXPECT_NE(error("retries: {max_attempts: 0}").find("retries.max_attempts"),
            std::string::npos);
  EXPECT_NE(error("circuit_breaker: {cooldown: soon}")
                .find("circuit_breaker.cooldown"),
            std::string::npos);
  EXPECT_NE(error("routes: [{models: [x], providers: [a], context: {file: "
                  "/x, url: http://h/}}]")
                .find("routes[0].context"),
            std::string::npos);
}

// A reload must not close an open breaker of a provider it did not change;
// a provider whose upstream changed starts with a closed one.
TEST(BuildSnapshot, BreakersSurviveAReloadThatKeepsTheUpstream) {
  constexpr char kYaml[] = R"(
circuit_breaker: {failures: 1, cooldown: 1m}
providers:
  - {name: a, type: openai, base_url: "http://127.0.0.1:9/v1", api_keys: [k1]}
  - {name: b, type: openai, base_url: "http://127.0.0.1:9/v1", api_keys: [k2]}
)";
  auto first = Build(kYaml);
  first->backends[0]->breaker->RecordFailure();
  first->backends[1]->breaker->RecordFailure();
  ASSERT_EQ(first->backends[0]->breaker->state(), CircuitBreaker::State::kOpen);

  std::shared_ptr<const GatewaySnapshot> same = BuildFromYaml(kYaml);
  ASSERT_NE(same, nullptr);
  EXPECT_EQ(same->backends[0]->breaker->state(), CircuitBreaker::State::kOpen);
  EXPECT_FALSE(same->backends[0]->breaker->Allow());

  std::string changed = kYaml;
  changed.replace(changed.find("[k2]"), 4, "[k3]");
  std::shared_ptr<const GatewaySnapshot> rekeyed = BuildFromYaml(changed);
  ASSERT_NE(rekeyed, nullptr);
  EXPECT_EQ(rekeyed->backends[0]->breaker->state(),
            CircuitBreaker::State::kOpen);
  EXPECT_EQ(rekeyed->backends[1]->breaker->state(),
            CircuitBreaker::State::kClosed);
}

}  // namespace
}  // namespace aigw
