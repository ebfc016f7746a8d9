#include "server/config.h"

#include <gtest/gtest.h>
#include <stdlib.h>

namespace aigw {
namespace {

std::string ErrorOf(const std::string& yaml) {
  absl::StatusOr<GatewayConfig> config = ParseConfig(yaml);
  EXPECT_FALSE(config.ok()) << yaml;
  return config.ok() ? "" : std::string(config.status().message());
}

TEST(Config, DefaultConfigServesEcho) {
  absl::StatusOr<GatewayConfig> config = ParseConfig(kDefaultConfigYaml);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->listen.http, "127.0.0.1:8080");
  EXPECT_EQ(config->listen.grpc, "127.0.0.1:9090");
  EXPECT_EQ(config->listen.admin, "127.0.0.1:9901");
  ASSERT_EQ(config->providers.size(), 1u);
  EXPECT_EQ(config->providers[0].type, "echo");
}

TEST(Config, FullProviderParses) {
  setenv("AIGW_TEST_KEY", "sk-from-env", 1);
  unsetenv("AIGW_TEST_UNSET");
  absl::StatusOr<GatewayConfig> config = ParseConfig(R"(
listen: {http: "127.0.0.1:0", grpc: "127.0.0.1:0", admin: "127.0.0.1:0"}
limits: {max_body_bytes: 1024}
providers:
  - name: up
    type: openai
    base_url: ${AIGW_TEST_UNSET:-http://127.0.0.1:1234/v1}
    api_keys: ["${AIGW_TEST_KEY}", "k2"]
    timeouts: {connect: 250ms, read: 2s}
    model_mapping: {gpt-4o: qwen-max, "gpt-4*": qwen-plus, "*": turbo}
    models: [qwen-max]
)");
  ASSERT_TRUE(config.ok()) << config.status();
  const ProviderConfig& p = config->providers[0];
  EXPECT_EQ(p.base_url, "http://127.0.0.1:1234/v1");
  EXPECT_EQ(p.api_keys[0], "sk-from-env");
  EXPECT_EQ(p.connect_timeout, absl::Milliseconds(250));
  EXPECT_EQ(p.read_timeout, absl::Seconds(2));
  ASSERT_EQ(p.model_mapping.size(), 3u);
  EXPECT_EQ(p.model_mapping[1].first, "gpt-4*");  // written order kept
  EXPECT_EQ(config->limits.max_body_bytes, 1024u);
}

TEST(Config, MissingCaFileIsAnErrorNamingTheKey) {
  EXPECT_NE(ErrorOf("providers: [{name: a, type: openai, api_keys: [k], "
                    "ca_file: /nonexistent/ca.pem}]")
                .find("providers[0].ca_file: cannot read"),
            std::string::npos);
}

TEST(Config, UnsupportedParamsGlobalAndPerProvider) {
  absl::StatusOr<GatewayConfig> config = ParseConfig(
      "unsupported_params: reject\n"
      "providers: [{name: a, type: echo}, "
      "{name: b, type: echo, unsupported_params: drop}]");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->providers[0].unsupported_params,
            UnsupportedParams::kReject);
  EXPECT_EQ(config->providers[1].unsupported_params, UnsupportedParams::kDrop);
  config = ParseConfig("providers: [{name: a, type: echo}]");
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->providers[0].unsupported_params, UnsupportedParams::kDrop);
  EXPECT_NE(ErrorOf("providers: [{name: a, type: echo, unsupported_params: "
                    "ignore}]")
                .find("providers[0].unsupported_params: expected drop or "
                      "reject"),
            std::string::npos);
  EXPECT_NE(ErrorOf("unsupported_params: 1\nproviders: [{name: a, type: "
                    "echo}]")
                .find("unsupported_params: expected drop or reject"),
            std::string::npos);
}

TEST(Config, ErrorsNameTheOffendingKey) {
  EXPECT_EQ(ErrorOf("providers: []").rfind("providers:", 0), 0u);
  EXPECT_NE(ErrorOf("providers: [{name: a, type: nope}]")
                .find("providers[0].type: unknown provider type 'nope'"),
            std::string::npos);
  EXPECT_NE(ErrorOf("providers: [{type: echo}]").find("providers[0].name"),
            std::string::npos);
  EXPECT_NE(ErrorOf("providers: [{name: a, type: echo}, {name: a, type: "
                    "echo}]")
                .find("providers[1].name: duplicate"),
            std::string::npos);
  EXPECT_NE(ErrorOf("listen: {http: nowhere}\nproviders: [{name: a, type: "
                    "echo}]")
                .find("listen.http"),
            std::string::npos);
  EXPECT_NE(ErrorOf("lisen: {}\nproviders: [{name: a, type: echo}]")
                .find("lisen: unknown key"),
            std::string::npos);
  EXPECT_NE(ErrorOf("providers: [{name: a, type: openai, base_url: ftp://x}]")
                .find("providers[0].base_url"),
            std::string::npos);
  EXPECT_NE(ErrorOf("providers: [{name: a, type: echo, model_mapping: "
                    "{\"~([\": x}}]")
                .find("providers[0].model_mapping"),
            std::string::npos);
  EXPECT_NE(ErrorOf("providers: [{name: a, type: echo, timeouts: {read: "
                    "soon}}]")
                .find("providers[0].timeouts.read"),
            std::string::npos);
  EXPECT_NE(ErrorOf("providers: [{name: a, type: echo, api_keys: "
                    "[\"${AIGW_TEST_UNSET}\"]}]")
                .find("providers[0].api_keys[0]: environment variable "
                      "AIGW_TEST_UNSET is not set"),
            std::string::npos);
  EXPECT_NE(ErrorOf("providers: [{name: a, type: echo}]\nlimits: "
                    "{max_body_bytes: lots}")
                .find("limits.max_body_bytes"),
            std::string::npos);
  EXPECT_NE(ErrorOf("providers: [ {name: a").find("invalid YAML"),
            std::string::npos);
}

TEST(Config, ExpandEnv) {
  setenv("AIGW_TEST_A", "alpha", 1);
  setenv("AIGW_TEST_EMPTY", "", 1);
  unsetenv("AIGW_TEST_UNSET");
  EXPECT_EQ(*ExpandEnv("x${AIGW_TEST_A}y"), "xalphay");
  EXPECT_EQ(*ExpandEnv("${AIGW_TEST_UNSET:-dflt}"), "dflt");
  EXPECT_EQ(*ExpandEnv("${AIGW_TEST_EMPTY:-dflt}"), "dflt");
  EXPECT_EQ(*ExpandEnv("${AIGW_TEST_UNSET}"), "");
  EXPECT_EQ(*ExpandEnv("$HOME-not-braced"), "$HOME-not-braced");
  EXPECT_FALSE(ExpandEnv("${OPEN").ok());
}

TEST(Config, ParseDuration) {
  EXPECT_EQ(*ParseDuration("500ms"), absl::Milliseconds(500));
  EXPECT_EQ(*ParseDuration("2s"), absl::Seconds(2));
  EXPECT_EQ(*ParseDuration("1m"), absl::Minutes(1));
  EXPECT_EQ(*ParseDuration("0"), absl::ZeroDuration());
  EXPECT_FALSE(ParseDuration("-1s").ok());
  EXPECT_FALSE(ParseDuration("later").ok());
}

TEST(Config, BareNumberDurationNeedsAUnit) {
  std::string error =
      ErrorOf("providers: [{name: a, type: echo, timeouts: {connect: 5000}}]");
  EXPECT_NE(error.find("providers[0].timeouts.connect: '5000' has no unit"),
            std::string::npos)
      << error;
  EXPECT_NE(ErrorOf("providers: [{name: a, type: echo}]\nshutdown: {grace: "
                    "30}")
                .find("shutdown.grace"),
            std::string::npos);
  EXPECT_NE(ErrorOf("providers: [{name: a, type: echo}]\nretries: {budget: "
                    "1.5}")
                .find("retries.budget"),
            std::string::npos);
}

TEST(Config, UnsetVariableInBaseUrlOrApiKeysIsAnError) {
  unsetenv("AIGW_TEST_UNSET");
  setenv("AIGW_TEST_EMPTY", "", 1);
  std::string error = ErrorOf(
      "providers: [{name: a, type: openai, base_url: \"${AIGW_TEST_UNSET}\"}]");
  EXPECT_NE(error.find("providers[0].base_url: environment variable "
                       "AIGW_TEST_UNSET is not set"),
            std::string::npos)
      << error;
  // Part of a longer value, and set but empty, are caught too.
  EXPECT_NE(ErrorOf("providers: [{name: a, type: openai, api_keys: [k1, "
                    "\"sk-${AIGW_TEST_EMPTY}\"]}]")
                .find("providers[0].api_keys[1]: environment variable "
                      "AIGW_TEST_EMPTY"),
            std::string::npos);
  // A default makes it the user's explicit choice.
  absl::StatusOr<GatewayConfig> config = ParseConfig(
      "providers: [{name: a, type: openai, base_url: "
      "\"${AIGW_TEST_UNSET:-http://127.0.0.1:1/v1}\"}]");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->providers[0].base_url, "http://127.0.0.1:1/v1");
}

TEST(Config, KeyWrittenTwiceIsAnError) {
  std::string error = ErrorOf(
      "providers: [{name: a, type: echo}]\n"
      "retries: {max_attempts: 2}\n"
      "retries: {max_attempts: 5}\n");
  EXPECT_NE(error.find("retries: written twice (lines 2 and 3)"),
            std::string::npos)
      << error;
  error = ErrorOf(
      "providers:\n  - name: a\n    type: echo\n    model_mapping:\n"
      "      gpt-4o: x\n      gpt-4o: y\n");
  EXPECT_NE(error.find("providers[0].model_mapping.gpt-4o: written twice"),
            std::string::npos)
      << error;
}

TEST(Config, ConfigPathThatIsADirectoryIsAnError) {
  absl::StatusOr<GatewayConfig> config = LoadConfigFile("/tmp");
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.status().message().find("/tmp is a directory"),
            std::string::npos)
      << config.status();
}

TEST(Config, ListenersNeedDistinctAddresses) {
  std::string error = ErrorOf(
      "listen: {http: \"127.0.0.1:8080\", admin: \"127.0.0.1:8080\"}\n"
      "providers: [{name: a, type: echo}]");
  EXPECT_NE(error.find("listen.admin: 127.0.0.1:8080 is also listen.http"),
            std::string::npos)
      << error;
  // Port 0 asks for any free port: never the same one twice.
  EXPECT_TRUE(ParseConfig("listen: {http: \"127.0.0.1:0\", grpc: "
                          "\"127.0.0.1:0\", admin: \"127.0.0.1:0\"}\n"
                          "providers: [{name: a, type: echo}]")
                  .ok());
}

TEST(Config, CorsAndShutdown) {
  absl::StatusOr<GatewayConfig> config = ParseConfig(R"(
providers: [{name: a, type: echo}]
cors: {allow_origins: ["https://chat.example.com", "http://localhost:3000"],
       allow_headers: [authorization, content-type], max_age: 2m}
shutdown: {grace: 5s}
)");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->cors.allow_origins.size(), 2u);
  EXPECT_EQ(config->cors.allow_headers[1], "content-type");
  EXPECT_EQ(config->cors.max_age, absl::Minutes(2));
  EXPECT_EQ(config->shutdown.grace, absl::Seconds(5));

  absl::StatusOr<GatewayConfig> defaults =
      ParseConfig("providers: [{name: a, type: echo}]");
  ASSERT_TRUE(defaults.ok());
  EXPECT_TRUE(defaults->cors.allow_origins.empty());
  EXPECT_EQ(defaults->cors.max_age, absl::Minutes(10));
  EXPECT_EQ(defaults->shutdown.grace, absl::Seconds(30));

  EXPECT_NE(ErrorOf("providers: [{name: a, type: echo}]\ncors: "
                    "{allow_origins: [\"https://chat.example.com/\"]}")
                .find("cors.allow_origins[0]: 'https://chat.example.com/' is "
                      "not an origin"),
            std::string::npos);
  EXPECT_NE(ErrorOf("providers: [{name: a, type: echo}]\ncors: {origins: []}")
                .find("cors.origins: unknown key"),
            std::string::npos);
}

constexpr char kEcho[] = "providers: [{name: a, type: echo}]\n";

TEST(Config, AWholeCallIsBoundedByDefault) {
  absl::StatusOr<GatewayConfig> config = ParseConfig(R"(
providers:
  - {name: a, type: echo}
  - {name: b, type: echo, timeouts: {total: 0}}
)");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->providers[0].total_timeout, absl::Minutes(30));
  EXPECT_EQ(config->providers[1].total_timeout, absl::ZeroDuration());
}

TEST(Config, ConsumersLimitsRedisAndAdmin) {
  absl::StatusOr<GatewayConfig> config = ParseConfig(std::string(kEcho) + R"(
consumers:
  - name: team-a
    api_keys: [plain-key, "sha256:9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08"]
    models: ["gpt-4*", "~^o\\d$"]
    limits:
      requests_per_minute: 600
      tokens_per_minute: 200000
      tokens_per_day: 5000000
      max_concurrent: 20
      models: {"gpt-4o": {tokens_per_minute: 50000}}
    on_budget_exhausted: cut
  - {name: team-b, api_keys: [other]}
limits:
  default: {requests_per_minute: 60}
  default_max_tokens: 512
  store: redis
  on_store_error: deny
redis: {address: "10.0.0.5:6380", password: pw, db: 2, key_prefix: "gw:", timeout: 20ms}
admin: {token: secret}
)");
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_EQ(config->consumers.size(), 2u);
  const ConsumerConfig& a = config->consumers[0];
  EXPECT_EQ(a.name, "team-a");
  EXPECT_EQ(a.api_keys.size(), 2u);
  EXPECT_EQ(a.models.size(), 2u);
  EXPECT_TRUE(a.has_limits);
  EXPECT_EQ(a.limits.all.requests_per_minute, 600);
  EXPECT_EQ(a.limits.all.tokens_per_day, 5000000);
  EXPECT_EQ(a.limits.all.max_concurrent, 20);
  ASSERT_EQ(a.limits.models.size(), 1u);
  EXPECT_EQ(a.limits.models[0].first, "gpt-4o");
  EXPECT_EQ(a.limits.models[0].second.tokens_per_minute, 50000);
  EXPECT_EQ(a.on_budget_exhausted, BudgetExhausted::kCut);
  EXPECT_FALSE(config->consumers[1].has_limits);
  EXPECT_EQ(config->limits.default_limits.all.requests_per_minute, 60);
  EXPECT_EQ(config->limits.default_max_tokens, 512);
  EXPECT_EQ(config->limits.store, LimitStoreKind::kRedis);
  EXPECT_TRUE(config->limits.deny_on_store_error);
  EXPECT_EQ(config->redis.address, "10.0.0.5:6380");
  EXPECT_EQ(config->redis.db, 2);
  EXPECT_EQ(config->redis.key_prefix, "gw:");
  EXPECT_EQ(config->redis.timeout, absl::Milliseconds(20));
  EXPECT_EQ(config->admin.token, "secret");
}

TEST(Config, ConsumerErrorsNameTheKey) {
  auto error = [](const std::string& tail) {
    absl::StatusOr<GatewayConfig> config =
        ParseConfig(std::string(kEcho) + tail);
    return config.ok() ? std::string("OK")
                       : std::string(config.status().message());
  };
  EXPECT_NE(error("consumers: [{name: a, api_keys: []}]")
                .find("consumers[0].api_keys"),
            std::string::npos);
  // Found by config_fuzzer: a consumer without a name threw
  // YAML::InvalidNode out of ParseConfig (std::terminate on load/reload).
  EXPECT_NE(error("consumers: [{api_keys: [k]}]").find("consumers[0].name"),
            std::string::npos);
  EXPECT_NE(error("consumers: [{name: a, api_keys: [\"sha256:abc\"]}]")
                .find("consumers[0].api_keys[0]"),
            std::string::npos);
  std::string duplicate = error(
      "consumers: [{name: a, api_keys: [k1]}, {name: b, api_keys: "
      "[k1]}]");
  EXPECT_NE(duplicate.find("consumers[1].api_keys[0]"), std::string::npos);
  EXPECT_EQ(duplicate.find("k1"), std::string::npos) << "the key is echoed";
  EXPECT_NE(error("consumers: [{name: a, api_keys: [k], limits: "
                  "{tokens_per_minute: 0}}]")
                .find("consumers[0].limits.tokens_per_minute"),
            std::string::npos);
  EXPECT_NE(error("consumers: [{name: a, api_keys: [k], "
                  "on_budget_exhausted: stop}]")
                .find("consumers[0].on_budget_exhausted"),
            std::string::npos);
  EXPECT_NE(error("consumers: [{name: a, api_keys: [k], models: "
                  "[\"~([\"]}]")
                .find("consumers[0].models"),
            std::string::npos);
  EXPECT_NE(error("limits: {store: memcached}").find("limits.store"),
            std::string::npos);
  EXPECT_NE(
      error("limits: {on_store_error: maybe}").find("limits.on_store_error"),
      std::string::npos);
  EXPECT_NE(error("redis: {address: nowhere}").find("redis.address"),
            std::string::npos);
  EXPECT_NE(error("admin: {token: \"${AIGW_TEST_UNSET}\"}").find("admin.token"),
            std::string::npos);
  EXPECT_NE(error("consumers: [{name: a, api_keys: [k], limits: {models: "
                  "{m: {max_concurrent: 2}}}}]")
                .find("consumers[0].limits.models.m"),
            std::string::npos);
}

}  // namespace
}  // namespace aigw
