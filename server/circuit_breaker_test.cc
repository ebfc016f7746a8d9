#include "server/circuit_breaker.h"

#include <gtest/gtest.h>

namespace aigw {
namespace {

class CircuitBreakerTest : public ::testing::Test {
 protected:
  absl::Time now_ = absl::FromUnixSeconds(1000);
  CircuitBreaker breaker_{3, absl::Seconds(10), [this] { return now_; }};
};

TEST_F(CircuitBreakerTest, OpensAfterFailuresInARow) {
  breaker_.RecordFailure();
  breaker_.RecordFailure();
  EXPECT_TRUE(breaker_.Allow());
  breaker_.RecordFailure();
  EXPECT_EQ(breaker_.state(), CircuitBreaker::State::kOpen);
  EXPECT_FALSE(breaker_.Allow());
}

TEST_F(CircuitBreakerTest, SuccessResetsTheCount) {
  breaker_.RecordFailure();
  breaker_.RecordFailure();
  breaker_.RecordSuccess();
  breaker_.RecordFailure();
  breaker_.RecordFailure();
  EXPECT_EQ(breaker_.state(), CircuitBreaker::State::kClosed);
}

TEST_F(CircuitBreakerTest, HalfOpenLetsOneProbeThrough) {
  for (int i = 0; i < 3; ++i) breaker_.RecordFailure();
  now_ += absl::Seconds(9);
  EXPECT_FALSE(breaker_.Allow());
  now_ += absl::Seconds(1);
  EXPECT_TRUE(breaker_.Allow());  // the probe
  EXPECT_EQ(breaker_.state(), CircuitBreaker::State::kHalfOpen);
  EXPECT_FALSE(breaker_.Allow());  // others wait for its result
  breaker_.RecordSuccess();
  EXPECT_EQ(breaker_.state(), CircuitBreaker::State::kClosed);
  EXPECT_TRUE(breaker_.Allow());
}

TEST_F(CircuitBreakerTest, FailedProbeOpensAgainForAFullCooldown) {
  for (int i = 0; i < 3; ++i) breaker_.RecordFailure();
  now_ += absl::Seconds(10);
  ASSERT_TRUE(breaker_.Allow());
  breaker_.RecordFailure();  // one failure is enough in half-open
  EXPECT_EQ(breaker_.state(), CircuitBreaker::State::kOpen);
  now_ += absl::Seconds(9);
  EXPECT_FALSE(breaker_.Allow());
  now_ += absl::Seconds(1);
  EXPECT_TRUE(breaker_.Allow());
}

TEST_F(CircuitBreakerTest, NeutralOutcomeFreesTheProbeSlot) {
  for (int i = 0; i < 3; ++i) breaker_.RecordFailure();
  now_ += absl::Seconds(10);
  ASSERT_TRUE(breaker_.Allow());
  EXPECT_FALSE(breaker_.Allow());
  breaker_.RecordNeutral();  // e.g. the probing client went away
  EXPECT_TRUE(breaker_.Allow());
}

// A caller turned away is told when the breaker lets requests try again.
TEST_F(CircuitBreakerTest, RetryAfterIsTheRestOfTheCooldown) {
  EXPECT_EQ(breaker_.RetryAfter(), absl::ZeroDuration());
  for (int i = 0; i < 3; ++i) breaker_.RecordFailure();
  EXPECT_EQ(breaker_.RetryAfter(), absl::Seconds(10));
  now_ += absl::Seconds(7);
  EXPECT_EQ(breaker_.RetryAfter(), absl::Seconds(3));
  now_ += absl::Seconds(3);
  ASSERT_TRUE(breaker_.Allow());  // the probe
  EXPECT_EQ(breaker_.RetryAfter(), absl::Seconds(1));
  breaker_.RecordSuccess();
  EXPECT_EQ(breaker_.RetryAfter(), absl::ZeroDuration());
}

}  // namespace
}  // namespace aigw
