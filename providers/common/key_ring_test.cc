#include "providers/common/key_ring.h"

#include <gtest/gtest.h>

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

TEST(KeyRing, RejectedKeyLeavesRotationForGood) {
  FakeClock clock;
  KeyRing ring("p", {"a", "b"}, clock.AsClock());
  ring.Report(*ring.Acquire(), StatusFromUpstreamHttp(401, "{}"));
  clock.Advance(absl::Hours(24));
  for (int i = 0; i < 4; ++i) EXPECT_EQ(ring.Acquire()->key, "b");
  ring.Report(*ring.Acquire(), StatusFromUpstreamHttp(403, "{}"));
  EXPECT_FALSE(ring.Acquire().ok());
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

}  // namespace
}  // namespace aigw
