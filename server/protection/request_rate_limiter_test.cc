#include "server/protection/request_rate_limiter.h"

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace aigw {
namespace {

IpAddress Ip(absl::string_view text) { return *IpAddress::Parse(text); }

class RequestRateLimiterTest : public ::testing::Test {
 protected:
  absl::Time now_ = absl::FromUnixSeconds(1700000000);
};

TEST_F(RequestRateLimiterTest, OffAdmitsEverythingAndTracksNothing) {
  RequestRateLimiter limiter;
  EXPECT_FALSE(limiter.enabled());
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(limiter.Admit(Ip("1.2.3.4"), now_));
  EXPECT_EQ(limiter.tracked_clients(), 0u);
}

TEST_F(RequestRateLimiterTest, BurstThenRateWithRetryAfter) {
  RequestRateLimiter limiter({/*rate=*/2, /*burst=*/3});
  IpAddress a = Ip("198.51.100.1");
  EXPECT_TRUE(limiter.Admit(a, now_));
  EXPECT_TRUE(limiter.Admit(a, now_));
  EXPECT_TRUE(limiter.Admit(a, now_));
  RequestRateLimiter::Decision denied = limiter.Admit(a, now_);
  EXPECT_FALSE(denied.ok);
  EXPECT_EQ(denied.retry_after, absl::Milliseconds(500));
  now_ += absl::Milliseconds(250);
  denied = limiter.Admit(a, now_);
  EXPECT_FALSE(denied);
  EXPECT_EQ(denied.retry_after, absl::Milliseconds(250));
  now_ += absl::Milliseconds(250);
  EXPECT_TRUE(limiter.Admit(a, now_));
  EXPECT_FALSE(limiter.Admit(a, now_));
  // Another client has its own bucket.
  EXPECT_TRUE(limiter.Admit(Ip("198.51.100.2"), now_));
}

TEST_F(RequestRateLimiterTest, DefaultBurstIsTheRateRoundedUpAtLeastOne) {
  EXPECT_EQ(RequestRateLimiter::DefaultBurst(10), 10);
  EXPECT_EQ(RequestRateLimiter::DefaultBurst(2.5), 3);
  EXPECT_EQ(RequestRateLimiter::DefaultBurst(0.2), 1);
  RequestRateLimiter limiter({/*rate=*/0.5});
  IpAddress a = Ip("198.51.100.1");
  EXPECT_TRUE(limiter.Admit(a, now_));
  RequestRateLimiter::Decision denied = limiter.Admit(a, now_);
  EXPECT_FALSE(denied);
  EXPECT_EQ(denied.retry_after, absl::Seconds(2));
}

TEST_F(RequestRateLimiterTest, RefillIsCappedAtTheBurst) {
  RequestRateLimiter limiter({/*rate=*/1, /*burst=*/2});
  IpAddress a = Ip("198.51.100.1");
  EXPECT_TRUE(limiter.Admit(a, now_));
  now_ += absl::Hours(1);
  EXPECT_TRUE(limiter.Admit(a, now_));
  EXPECT_TRUE(limiter.Admit(a, now_));
  EXPECT_FALSE(limiter.Admit(a, now_));
}

TEST_F(RequestRateLimiterTest, ClockGoingBackGrantsNothing) {
  RequestRateLimiter limiter({1, 1});
  IpAddress a = Ip("198.51.100.1");
  EXPECT_TRUE(limiter.Admit(a, now_));
  EXPECT_FALSE(limiter.Admit(a, now_ - absl::Seconds(5)));
  EXPECT_FALSE(limiter.Admit(a, now_ + absl::Milliseconds(500)));
  EXPECT_TRUE(limiter.Admit(a, now_ + absl::Seconds(1)));
}

TEST_F(RequestRateLimiterTest, V6ClientsShareTheir64sBucket) {
  RequestRateLimiter limiter({1, 1});
  EXPECT_TRUE(limiter.Admit(Ip("2001:db8:1:2::1"), now_));
  EXPECT_FALSE(limiter.Admit(Ip("2001:db8:1:2::99"), now_));
  EXPECT_TRUE(limiter.Admit(Ip("2001:db8:1:3::1"), now_));
}

TEST_F(RequestRateLimiterTest, RefilledBucketsAreSweptAway) {
  RequestRateLimiter limiter({/*rate=*/10, /*burst=*/10});
  for (int i = 0; i < 500; ++i) {
    limiter.Admit(Ip(absl::StrCat("10.0.", i / 256, ".", i % 256)), now_);
  }
  EXPECT_EQ(limiter.tracked_clients(), 500u);
  // Full again after 0.1 s; every shard sweeps at most once a second, on
  // its next admission.
  now_ += absl::Seconds(2);
  for (int i = 0; i < 500; ++i) {
    limiter.Admit(Ip(absl::StrCat("10.1.", i / 256, ".", i % 256)), now_);
  }
  EXPECT_EQ(limiter.tracked_clients(), 500u);
}

TEST_F(RequestRateLimiterTest, WhenFullNewClientsShareOneOverflowBucket) {
  RequestRateLimiter limiter({/*rate=*/1, /*burst=*/1, /*max_clients=*/64});
  int admitted = 0;
  for (int i = 0; i < 1000; ++i) {
    if (limiter.Admit(Ip(absl::StrCat("10.0.", i / 256, ".", i % 256)), now_)) {
      admitted++;
    }
  }
  // Each of the 32 shards holds 2; 1000 clients fill every one.
  EXPECT_EQ(limiter.tracked_clients(), 64u);
  // The tracked clients plus one request from the shared overflow bucket.
  EXPECT_EQ(admitted, static_cast<int>(limiter.tracked_clients()) + 1);
  // A tracked client still has its own budget later.
  now_ += absl::Seconds(1);
  EXPECT_TRUE(limiter.Admit(Ip("10.0.0.0"), now_));
}

TEST_F(RequestRateLimiterTest, NewOptionsKeepBucketsAndOffForgetsThem) {
  RequestRateLimiter limiter({1, 5});
  IpAddress a = Ip("198.51.100.1");
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(limiter.Admit(a, now_));
  limiter.SetOptions({1, 10});
  EXPECT_FALSE(limiter.Admit(a, now_));  // still empty
  limiter.SetOptions({0});
  EXPECT_FALSE(limiter.enabled());
  EXPECT_EQ(limiter.tracked_clients(), 0u);
  limiter.SetOptions({1, 1});
  EXPECT_TRUE(limiter.Admit(a, now_));
}

}  // namespace
}  // namespace aigw
