#include "server/protection/offender_log.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace aigw {
namespace {

IpAddress Ip(absl::string_view text) { return *IpAddress::Parse(text); }

class OffenderLogTest : public ::testing::Test {
 protected:
  std::vector<std::string> lines_;
  std::vector<OffenderLog::Report> reports_;
  absl::Time now_ = absl::FromUnixSeconds(1700000000);
  OffenderLog log_{{absl::Seconds(10), /*max_offenders=*/3},
                   [this](const OffenderLog::Report& report) {
                     lines_.push_back(report.line);
                     reports_.push_back(report);
                   }};
};

TEST_F(OffenderLogTest, FirstHitIsLoggedAtOnce) {
  log_.Record(Ip("203.0.113.7"), RejectReason::kMaxConnectionsPerIp, now_);
  ASSERT_EQ(lines_.size(), 1u);
  EXPECT_EQ(lines_[0], "protection: 203.0.113.7 hit max_connections_per_ip");
  EXPECT_EQ(reports_[0].client, "203.0.113.7");
  EXPECT_EQ(reports_[0].reason, "max_connections_per_ip");
  EXPECT_EQ(reports_[0].held, 0u);
}

TEST_F(OffenderLogTest, RepeatsAreHeldBackThenCounted) {
  IpAddress a = Ip("203.0.113.7");
  log_.Record(a, RejectReason::kRequestRate, now_);
  for (int i = 0; i < 41; ++i) {
    now_ += absl::Milliseconds(200);
    log_.Record(a, RejectReason::kRequestRate, now_);
  }
  EXPECT_EQ(lines_.size(), 1u);
  now_ += absl::Seconds(2);  // 10.2 s after the first line
  log_.Record(a, RejectReason::kRequestRate, now_);
  ASSERT_EQ(lines_.size(), 2u);
  EXPECT_EQ(lines_[1],
            "protection: 203.0.113.7 hit request_rate (and 41 more "
            "times in the last 10s)");
  EXPECT_EQ(reports_[1].held, 41u);
}

TEST_F(OffenderLogTest, EachReasonAndClientIsItsOwnOffender) {
  log_.Record(Ip("203.0.113.7"), RejectReason::kRequestRate, now_);
  log_.Record(Ip("203.0.113.7"), RejectReason::kHeadTimeout, now_);
  log_.Record(Ip("203.0.113.8"), RejectReason::kRequestRate, now_);
  log_.Record(Ip("203.0.113.8"), RejectReason::kRequestRate, now_);
  EXPECT_EQ(lines_.size(), 3u);
}

TEST_F(OffenderLogTest, FlushReportsHeldBackHitsOfQuietOffenders) {
  IpAddress a = Ip("2001:db8:1:2::5");
  log_.Record(a, RejectReason::kMaxStreamsPerIp, now_);
  log_.Record(a, RejectReason::kMaxStreamsPerIp, now_ + absl::Seconds(1));
  log_.Record(a, RejectReason::kMaxStreamsPerIp, now_ + absl::Seconds(2));
  log_.Flush(now_ + absl::Seconds(5));
  EXPECT_EQ(lines_.size(), 1u);  // not quiet long enough
  log_.Flush(now_ + absl::Seconds(11));
  ASSERT_EQ(lines_.size(), 2u);
  EXPECT_EQ(lines_[1],
            "protection: 2001:db8:1:2::/64 hit max_streams_per_ip 2 "
            "more times in the last 11s");
  EXPECT_EQ(log_.tracked(), 1u);
  log_.Flush(now_ + absl::Seconds(30));  // nothing more to say: forgotten
  EXPECT_EQ(lines_.size(), 2u);
  EXPECT_EQ(log_.tracked(), 0u);
  log_.Record(a, RejectReason::kMaxStreamsPerIp, now_ + absl::Seconds(31));
  EXPECT_EQ(lines_.size(), 3u);
}

TEST_F(OffenderLogTest, PastTheCapOthersAreOnlyCounted) {
  for (int i = 0; i < 3; ++i) {
    log_.Record(Ip(absl::StrCat("203.0.113.", i)), RejectReason::kRequestRate,
                now_);
  }
  for (int i = 3; i < 100; ++i) {
    log_.Record(Ip(absl::StrCat("203.0.113.", i)), RejectReason::kRequestRate,
                now_);
  }
  EXPECT_EQ(lines_.size(), 3u);
  EXPECT_EQ(log_.tracked(), 3u);
  log_.Flush(now_ + absl::Seconds(10));
  ASSERT_EQ(lines_.size(), 4u);
  EXPECT_EQ(lines_[3],
            "protection: 97 more limit hits from other clients in the "
            "last 10s (too many offenders to name)");
  EXPECT_EQ(log_.tracked(), 0u);  // room again
}

}  // namespace
}  // namespace aigw
