#include "server/filters/rate_limit/local_store.h"

#include "gtest/gtest.h"

namespace aigw {
namespace {

constexpr int64_t kMinute = 60000;

class LocalStoreTest : public ::testing::Test {
 protected:
  // Starts on a bucket boundary so the arithmetic below reads plainly.
  int64_t now_ = 1000 * kMinute;
  LocalLimitStore store_{[this] { return now_; }};

  ReserveResult Reserve(int64_t amount, int64_t limit = 100) {
    ReserveRequest request;
    request.windows.push_back({"c:tokens", limit, kMinute, amount});
    absl::StatusOr<ReserveResult> result = store_.Reserve(request);
    EXPECT_TRUE(result.ok());
    return *result;
  }
};

TEST_F(LocalStoreTest, ReservesUntilTheLimitThenDenies) {
  EXPECT_TRUE(Reserve(60).allowed);
  ReserveResult second = Reserve(40);
  EXPECT_TRUE(second.allowed);
  EXPECT_EQ(second.windows[0].remaining, 0);
  ReserveResult third = Reserve(1);
  EXPECT_FALSE(third.allowed);
  EXPECT_EQ(third.denied, 0);
  EXPECT_EQ(third.windows[0].remaining, 0);
  // Everything was spent in the first bucket: it leaves after a minute.
  EXPECT_EQ(third.retry_after_ms, kMinute);
}

TEST_F(LocalStoreTest, WindowSlidesOneBucketAtATime) {
  EXPECT_TRUE(Reserve(50).allowed);
  now_ += 30000;
  EXPECT_TRUE(Reserve(50).allowed);
  ReserveResult denied = Reserve(10);
  EXPECT_FALSE(denied.allowed);
  // The first 50 leave the window 30 s from now; that frees enough.
  EXPECT_EQ(denied.retry_after_ms, 30000);
  now_ += 30000;
  ReserveResult after = Reserve(10);
  EXPECT_TRUE(after.allowed);
  EXPECT_EQ(after.windows[0].remaining, 40);
}

TEST_F(LocalStoreTest, RequestLargerThanTheLimitIsTooLarge) {
  ReserveResult result = Reserve(101);
  EXPECT_FALSE(result.allowed);
  EXPECT_TRUE(result.too_large);
  EXPECT_EQ(result.retry_after_ms, kMinute);
}

TEST_F(LocalStoreTest, SettleFreesWhatTheCallDidNotUse) {
  ReserveResult reserved = Reserve(100);
  ASSERT_TRUE(reserved.allowed);
  EXPECT_FALSE(Reserve(1).allowed);
  now_ += 2000;
  SettleRequest settle;
  settle.adjustments.push_back({"c:tokens", kMinute, -70});
  settle.reserved_at_ms = reserved.now_ms;
  ASSERT_TRUE(store_.Settle(settle).ok());
  ReserveResult next = Reserve(30);
  EXPECT_TRUE(next.allowed);
  EXPECT_EQ(next.windows[0].remaining, 40);
}

TEST_F(LocalStoreTest, SettleNeverGoesBelowZeroAndLateOverrunsCountNow) {
  ReserveResult reserved = Reserve(10);
  SettleRequest settle;
  settle.adjustments.push_back({"c:tokens", kMinute, -50});
  settle.reserved_at_ms = reserved.now_ms;
  ASSERT_TRUE(store_.Settle(settle).ok());
  EXPECT_EQ(Reserve(0).windows[0].remaining, 100);
  // An overrun is spent when the call ends: it lands in the current
  // bucket, here after the reservation's has left the window.
  now_ += 2 * kMinute;
  settle.adjustments[0].delta = 30;
  ASSERT_TRUE(store_.Settle(settle).ok());
  EXPECT_EQ(Reserve(0).windows[0].remaining, 70);
}

TEST_F(LocalStoreTest, OverrunStaysInTheWindowAWholeWindow) {
  ReserveResult reserved = Reserve(10);
  now_ += 50000;
  SettleRequest settle;
  settle.adjustments.push_back({"c:tokens", kMinute, 60});
  settle.reserved_at_ms = reserved.now_ms;
  ASSERT_TRUE(store_.Settle(settle).ok());
  // The reservation's bucket leaves at 60 s; the overrun stays until 110 s.
  now_ += 15000;
  EXPECT_EQ(Reserve(0).windows[0].remaining, 40);
}

TEST_F(LocalStoreTest, AWindowTheRequestCanNeverFitDecides) {
  ReserveRequest fill;
  fill.windows.push_back({"c:day", 1000, 24 * 60 * kMinute, 990});
  ASSERT_TRUE(store_.Reserve(fill)->allowed);
  ReserveRequest request;
  request.windows.push_back({"c:day", 1000, 24 * 60 * kMinute, 50});
  request.windows.push_back({"c:model", 20, kMinute, 50});
  absl::StatusOr<ReserveResult> result = store_.Reserve(request);
  ASSERT_TRUE(result.ok());
  EXPECT_FALSE(result->allowed);
  EXPECT_TRUE(result->too_large);
  EXPECT_EQ(result->denied, 1);
}

TEST_F(LocalStoreTest, AllOrNothingAcrossWindows) {
  ReserveRequest request;
  request.windows.push_back({"c:requests", 10, kMinute, 1});
  request.windows.push_back({"c:tokens", 100, kMinute, 80});
  ASSERT_TRUE(store_.Reserve(request)->allowed);
  absl::StatusOr<ReserveResult> denied = store_.Reserve(request);
  ASSERT_TRUE(denied.ok());
  EXPECT_FALSE(denied->allowed);
  EXPECT_EQ(denied->denied, 1);
  // The denied call took nothing from the requests window.
  EXPECT_EQ(denied->windows[0].remaining, 9);
}

TEST_F(LocalStoreTest, ConcurrencyLeasesAreReleasedOrExpire) {
  ReserveRequest request;
  request.concurrency = ConcurrencyLimit{"c:inflight", 2, "a", 5000};
  ASSERT_TRUE(store_.Reserve(request)->allowed);
  request.concurrency->lease_id = "b";
  ASSERT_TRUE(store_.Reserve(request)->allowed);
  request.concurrency->lease_id = "c";
  absl::StatusOr<ReserveResult> third = store_.Reserve(request);
  EXPECT_FALSE(third->allowed);
  EXPECT_EQ(third->denied, 0);  // windows.size(): the concurrency limit
  SettleRequest release;
  release.release = ConcurrencyLimit{"c:inflight", 2, "a", 5000};
  ASSERT_TRUE(store_.Settle(release).ok());
  EXPECT_TRUE(store_.Reserve(request)->allowed);
  request.concurrency->lease_id = "d";
  EXPECT_FALSE(store_.Reserve(request)->allowed);
  // "b" is renewed; "c" expires.
  now_ += 4000;
  ASSERT_TRUE(store_.RenewLease({"c:inflight", 2, "b", 5000}).ok());
  now_ += 2000;
  EXPECT_TRUE(store_.Reserve(request)->allowed);
}

TEST_F(LocalStoreTest, ResetIsWhenTheNewestUsageLeaves) {
  Reserve(10);
  now_ += 10000;
  ReserveResult result = Reserve(10);
  EXPECT_EQ(result.windows[0].reset_ms, kMinute);
  // Buckets are 5 s wide: usage leaves with its bucket.
  now_ += 1000;
  EXPECT_EQ(Reserve(0).windows[0].reset_ms, kMinute - 1000);
  now_ += kMinute - 1000;
  EXPECT_EQ(Reserve(0).windows[0].reset_ms, 0);
}

}  // namespace
}  // namespace aigw
