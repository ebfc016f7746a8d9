#include "server/metrics.h"

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace aigw {
namespace {

bool Has(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

TEST(Metrics, ProtectionRejectionsAreCountedByReasonFromZero) {
  Metrics metrics;
  std::string before = metrics.RenderPrometheus();
  EXPECT_TRUE(Has(before, "# TYPE aigw_protection_rejected_total counter"));
  for (size_t i = 0; i < kRejectReasonCount; ++i) {
    EXPECT_TRUE(Has(
        before,
        absl::StrCat("aigw_protection_rejected_total{"
                     "reason=\"",
                     RejectReasonName(static_cast<RejectReason>(i)), "\"} 0")));
  }
  metrics.RecordProtectionRejected(RejectReason::kMaxConnectionsPerIp);
  metrics.RecordProtectionRejected(RejectReason::kMaxConnectionsPerIp);
  metrics.RecordProtectionRejected(RejectReason::kBadFraming);
  std::string after = metrics.RenderPrometheus();
  EXPECT_TRUE(Has(after,
                  "aigw_protection_rejected_total{reason=\"max_connections_"
                  "per_ip\"} 2"));
  EXPECT_TRUE(
      Has(after, "aigw_protection_rejected_total{reason=\"bad_framing\"} 1"));
  EXPECT_TRUE(
      Has(after, "aigw_protection_rejected_total{reason=\"overload\"} 0"));
}

TEST(Metrics, ConnectionsActiveGauge) {
  Metrics metrics;
  EXPECT_TRUE(Has(metrics.RenderPrometheus(), "aigw_connections_active 0"));
  metrics.ConnectionOpened();
  metrics.ConnectionOpened();
  metrics.ConnectionClosed();
  std::string text = metrics.RenderPrometheus();
  EXPECT_TRUE(Has(text, "# TYPE aigw_connections_active gauge"));
  EXPECT_TRUE(Has(text, "aigw_connections_active 1"));
}

}  // namespace
}  // namespace aigw
