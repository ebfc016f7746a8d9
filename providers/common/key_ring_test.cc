#include "providers/common/key_ring.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>

#include "providers/common/api_error.h"

namespace aigw {
namespace {

class FakeClock {
 public:
  absl::Time Now() const { return now_; }
  void Advance(absl::Duration d) { now_ += d; }
  KeyRing::Clock AsClock() {
    return [this] { return now_; };
  }

 private:
  absl::Time now_ = absl::FromUnixSeconds(1000);
};

absl::Status RateLimited(int64_t retry_after_ms = -1) {
  return StatusFromUpstreamHttp(429, "{}", retry_after_ms);
}

TEST(KeyRing, RoundRobin) {
  KeyRing ring("p", {"a", "b", "c"});
  EXPECT_EQ(ring.Acquire()->key, "a");
  EXPECT_EQ(ring.Acquire()->key, "b");
  EXPECT_EQ(ring.Acquire()->key, "c");
  EXPECT_EQ(ring.Acquire()->key, "a");
}

TEST(KeyRing, KeylessRingAlwaysLeasesNothing) {
  KeyRing ring("p", {});
  absl::StatusOr<KeyRing::Lease> lease = ring.Acquire();
  ASSERT_TRUE(lease.ok());
  EXPECT_EQ(lease->index, -1);
  ring.Report(*lease, RateLimited());
  EXPECT_TRUE(ring.Acquire().ok());
}

TEST(KeyRing, RateLimitedKeyCoolsDownForRetryAfter) {
  FakeClock clock;
  KeyRing ring("p", {"a", "b"}, clock.AsClock());
  KeyRing::Lease a = *ring.Acquire();
  ring.Report(a, RateLimited(/*retry_after_ms=*/5000));
  EXPECT_EQ(ring.Acquire()->key, "b");
  EXPECT_EQ(ring.Acquire()->key, "b");  // a still cooling
  clock.Advance(absl::Seconds(5));
  EXPECT_EQ(ring.Acquire()->key, "a");
}

TEST(KeyRing, BackoffDoublesWithoutRetryAfterAndResetsOnSuccess) {
  FakeClock clock;
  KeyRing ring("p", {"a"}, clock.AsClock());
  KeyRing::Lease a = *ring.Acquire();
  ring.Report(a, RateLimited());  // 1 s
  EXPECT_FALSE(ring.Acquire().ok());
  clock.Advance(absl::Seconds(1));
  a = *ring.Acquire();
  ring.Report(a, RateLimited());  // 2 s
  clock.Advance(absl::Milliseconds(1999));
  EXPECT_FALSE(ring.Acquire().ok());
  clock.Advance(absl::Milliseconds(1));
  a = *ring.Acquire();
  ring.Report(a, absl::OkStatus());
  ring.Report(a, RateLimited());  // back to 1 s
  clock.Advance(absl::Seconds(1));
  EXPECT_TRUE(ring.Acquire().ok());
}

TEST(KeyRing, AllKeysCoolingIsResourceExhausted) {
  FakeClock clock;
  KeyRing ring("dashscope", {"a", "b"}, clock.AsClock());
  ring.Report(*ring.Acquire(), RateLimited(1000));
  ring.Report(*ring.Acquire(), RateLimited(1000));
  absl::StatusOr<KeyRing::Lease> lease = ring.Acquire();
  ASSERT_FALSE(lease.ok());
  EXPECT_EQ(lease.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(GetErrorDetails(lease.status()).code, "keys_exhausted");
  EXPECT_NE(lease.status().message().find("dashscope"),
            absl::string_view::npos);
}

TEST(KeyRing, ExhaustedCarriesRetryAfterOfTheFirstKeyBack) {
  FakeClock clock;
  KeyRing ring("p", {"a", "b"}, clock.AsClock());
  ring.Report(*ring.Acquire("m"), RateLimited(7000));
  ring.Report(*ring.Acquire("m"), RateLimited(3000));
  absl::StatusOr<KeyRing::Lease> lease = ring.Acquire("m");
  ASSERT_FALSE(lease.ok());
  EXPECT_EQ(GetErrorDetails(lease.status()).retry_after_ms, 3000);
}

// Provider rate limits are per model: one model's 429 leaves the key usable
// for the others (and for embeddings).
TEST(KeyRing, RateLimitCoolsTheKeyForThatModelOnly) {
  FakeClock clock;
  KeyRing ring("p", {"a"}, clock.AsClock());
  ring.Report(*ring.Acquire("qwen-max"), RateLimited(5000));
  EXPECT_FALSE(ring.Acquire("qwen-max").ok());
  EXPECT_EQ(ring.Acquire("qwen-turbo")->key, "a");
  EXPECT_EQ(ring.Acquire("text-embedding-v3")->key, "a");
}

// 403: the key may lack access to one model only.
TEST(KeyRing, ForbiddenIsScopedToTheModel) {
  FakeClock clock;
  KeyRing ring("p", {"a"}, clock.AsClock());
  ring.Report(*ring.Acquire("gpt-4o"), StatusFromUpstreamHttp(403, "{}"));
  EXPECT_FALSE(ring.Acquire("gpt-4o").ok());
  EXPECT_EQ(ring.Acquire("gpt-4o-mini")->key, "a");
  clock.Advance(absl::Minutes(1));
  EXPECT_TRUE(ring.Acquire("gpt-4o").ok());
}

// 401: out for every model, then one probe per back-off (1, 2, 4 ... min,
// at most 30); a probe that succeeds restores the key.
TEST(KeyRing, RejectedKeyIsProbedWithABackoff) {
  FakeClock clock;
  KeyRing ring("p", {"a", "b"}, clock.AsClock());
  ring.Report(*ring.Acquire("m"), StatusFromUpstreamHttp(401, "{}"));
  for (int i = 0; i < 4; ++i) EXPECT_EQ(ring.Acquire("other")->key, "b");
  clock.Advance(absl::Minutes(1));
  // One probe: while it runs, the others keep using b.
  std::vector<std::string> keys;
  for (int i = 0; i < 4; ++i) keys.push_back(ring.Acquire("m")->key);
  EXPECT_EQ(std::count(keys.begin(), keys.end(), "a"), 1);
  KeyRing::Lease probe;
  probe.index = 0;
  probe.key = "a";
  probe.model = "m";
  ring.Report(probe, StatusFromUpstreamHttp(401, "{}"));  // now 2 min
  clock.Advance(absl::Seconds(119));
  for (int i = 0; i < 4; ++i) EXPECT_EQ(ring.Acquire("m")->key, "b");
  clock.Advance(absl::Seconds(1));
  for (int i = 0; i < 2; ++i) {
    KeyRing::Lease lease = *ring.Acquire("m");
    if (lease.key == "a") ring.Report(lease, absl::OkStatus());
  }
  keys.clear();
  for (int i = 0; i < 4; ++i) keys.push_back(ring.Acquire("m")->key);
  EXPECT_EQ(std::count(keys.begin(), keys.end(), "a"), 2);  // back in turn
}

TEST(KeyRing, RejectedBackoffIsCappedAtThirtyMinutes) {
  FakeClock clock;
  KeyRing ring("p", {"a"}, clock.AsClock());
  for (int i = 0; i < 10; ++i) {
    absl::StatusOr<KeyRing::Lease> lease = ring.Acquire("m");
    ASSERT_TRUE(lease.ok()) << i;
    ring.Report(*lease, StatusFromUpstreamHttp(401, "{}"));
    clock.Advance(absl::Minutes(30));
  }
}

TEST(KeyRing, ReportAndRedactReportsTheOutcomeAndHidesTheKeys) {
  KeyRing ring("p", {"sk-secret-a", "sk-secret-b"});
  KeyRing::Lease a = *ring.Acquire();
  absl::Status status = ring.ReportAndRedact(
      a, StatusFromUpstreamHttp(
             401, R"({"error":{"message":"bad key sk-secret-a"}})"));
  EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_NE(status.message().find("bad key"), absl::string_view::npos);
  EXPECT_EQ(status.message().find("sk-secret-a"), absl::string_view::npos);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(ring.Acquire()->key, "sk-secret-b");
}

TEST(KeyRing, ReportAndRedactPassesAValueThrough) {
  KeyRing ring("p", {"sk-secret-a"});
  absl::StatusOr<std::string> body =
      ring.ReportAndRedact(*ring.Acquire(), absl::StatusOr<std::string>("ok"));
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(*body, "ok");
  body = ring.ReportAndRedact(
      *ring.Acquire(), absl::StatusOr<std::string>(StatusFromUpstreamHttp(
                           429, "{}", /*retry_after_ms=*/60000)));
  EXPECT_EQ(body.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_FALSE(ring.Acquire().ok());  // the only key is cooling down
}

TEST(MakeKeyRing, NoKeysIsAnErrorNamingApiKeysUnlessOptional) {
  ProviderConfig config;
  config.name = "main";
  config.type = "claude";
  absl::StatusOr<std::unique_ptr<KeyRing>> ring = MakeKeyRing(config);
  ASSERT_FALSE(ring.ok());
  EXPECT_EQ(ring.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ring.status().message(),
            "api_keys: the claude provider needs at least one key");
  ring = MakeKeyRing(config, /*key_required=*/false);
  ASSERT_TRUE(ring.ok());
  EXPECT_EQ((*ring)->Acquire()->index, -1);
  config.api_keys = {"k1", "k2"};
  ring = MakeKeyRing(config);
  ASSERT_TRUE(ring.ok());
  EXPECT_EQ((*ring)->Acquire()->key, "k1");
  EXPECT_EQ((*ring)->Acquire()->key, "k2");
}

// A reload builds new adapters; a provider whose name, type, base_url and
// keys did not change keeps its keys' cool-downs.
TEST(MakeKeyRing, AReloadOfTheSameProviderKeepsItsCooldowns) {
  ProviderConfig config;
  config.name = "main";
  config.type = "openai";
  config.base_url = "https://api.example.com/v1";
  config.api_keys = {"k1"};
  std::unique_ptr<KeyRing> old_ring = *MakeKeyRing(config);
  old_ring->Report(*old_ring->Acquire("m"), RateLimited(60000));

  std::unique_ptr<KeyRing> reloaded = *MakeKeyRing(config);
  absl::StatusOr<KeyRing::Lease> lease = reloaded->Acquire("m");
  ASSERT_FALSE(lease.ok());
  EXPECT_GT(GetErrorDetails(lease.status()).retry_after_ms, 50000);
  EXPECT_TRUE(reloaded->Acquire("other").ok());

  ProviderConfig other_url = config;
  other_url.base_url = "https://proxy.example.com/v1";
  EXPECT_TRUE((*MakeKeyRing(other_url))->Acquire("m").ok());
  ProviderConfig other_keys = config;
  other_keys.api_keys = {"k1", "k2"};
  std::unique_ptr<KeyRing> fresh = *MakeKeyRing(other_keys);
  EXPECT_TRUE(fresh->Acquire("m").ok());
  EXPECT_TRUE(fresh->Acquire("m").ok());
  ProviderConfig other_name = config;
  other_name.name = "second";
  EXPECT_TRUE((*MakeKeyRing(other_name))->Acquire("m").ok());
}

TEST(MakeKeyRing, StateEndsWithTheLastRingUsingIt) {
  ProviderConfig config;
  config.name = "gone";
  config.type = "openai";
  config.api_keys = {"k1"};
  {
    std::unique_ptr<KeyRing> ring = *MakeKeyRing(config);
    ring->Report(*ring->Acquire("m"), RateLimited(60000));
  }
  EXPECT_TRUE((*MakeKeyRing(config))->Acquire("m").ok());
}

// While one request probes a key whose 401 back-off ended, the others are
// told when to come back.
TEST(KeyRing, ExhaustedDuringAProbeSaysComeBackInASecond) {
  FakeClock clock;
  KeyRing ring("p", {"a"}, clock.AsClock());
  ring.Report(*ring.Acquire("m"), StatusFromUpstreamHttp(401, "{}"));
  absl::StatusOr<KeyRing::Lease> lease = ring.Acquire("m");
  ASSERT_FALSE(lease.ok());
  EXPECT_EQ(GetErrorDetails(lease.status()).retry_after_ms, 60000);
  clock.Advance(absl::Minutes(1));
  ASSERT_TRUE(ring.Acquire("m").ok());  // the probe
  lease = ring.Acquire("other");
  ASSERT_FALSE(lease.ok());
  EXPECT_EQ(GetErrorDetails(lease.status()).retry_after_ms, 1000);
}

}  // namespace
}  // namespace aigw
