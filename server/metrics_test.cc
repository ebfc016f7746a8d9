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

TEST(Metrics, RequestsFeedTheGenAiHistogramsAndCounters) {
  Metrics metrics;
  RequestSample ok;
  ok.stream = true;
  ok.provider_name = "dashscope";
  ok.request_model = "gpt-4o";
  ok.response_model = "qwen-max";
  ok.provider = "dash\"scope";
  ok.consumer = "team-a";
  ok.duration = 0.5;
  ok.overhead = 0.00003;
  ok.time_to_first_token = 0.05;
  ok.time_per_output_token = 0.02;
  ok.input_tokens = 10;
  ok.output_tokens = 20;
  ok.cached_tokens = 4;
  metrics.RecordRequest(ok);
  metrics.RecordRequest(ok);
  RequestSample failed;
  failed.protocol = "grpc";
  failed.request_model = "gpt-4o";
  failed.error_type = "unavailable";
  failed.code = 503;
  failed.duration = 0.02;
  metrics.RecordRequest(failed);
  std::string text = metrics.RenderPrometheus();
  const std::string labels =
      "gen_ai_operation_name=\"chat\",gen_ai_provider_name=\"dashscope\","
      "gen_ai_request_model=\"gpt-4o\",gen_ai_response_model=\"qwen-max\","
      "aigw_provider=\"dash\\\"scope\",aigw_consumer=\"team-a\"";
  EXPECT_TRUE(Has(text,
                  "# TYPE gen_ai_client_operation_duration_seconds "
                  "histogram"));
  EXPECT_TRUE(Has(
      text, "gen_ai_client_operation_duration_seconds_count{" + labels + "} 2"))
      << text;
  EXPECT_TRUE(Has(text, "gen_ai_client_operation_duration_seconds_bucket{" +
                            labels + ",le=\"0.64\"} 2"));
  EXPECT_TRUE(Has(text,
                  "gen_ai_client_operation_duration_seconds_count{"
                  "gen_ai_operation_name=\"chat\",gen_ai_provider_"
                  "name=\"none\",gen_ai_request_model=\"gpt-4o\","
                  "gen_ai_response_model=\"none\",aigw_provider="
                  "\"none\",aigw_consumer=\"anonymous\",error_type="
                  "\"unavailable\"} 1"));
  EXPECT_TRUE(Has(text, "gen_ai_client_token_usage_sum{" + labels +
                            ",gen_ai_token_type=\"input\"} 20"));
  EXPECT_TRUE(Has(text, "gen_ai_client_token_usage_sum{" + labels +
                            ",gen_ai_token_type=\"output\"} 40"));
  EXPECT_TRUE(Has(text, "gen_ai_server_time_to_first_token_seconds_count{" +
                            labels + "} 2"));
  EXPECT_TRUE(Has(text, "gen_ai_server_time_per_output_token_seconds_sum{" +
                            labels + "} 0.04"));
  EXPECT_TRUE(Has(text,
                  "aigw_requests_total{protocol=\"http\",gen_ai_operation_"
                  "name=\"chat\",stream=\"true\",aigw_provider=\"dash\\\""
                  "scope\",aigw_consumer=\"team-a\",gen_ai_request_model=\""
                  "gpt-4o\",code=\"200\"} 2"));
  EXPECT_TRUE(Has(text,
                  "aigw_requests_total{protocol=\"grpc\",gen_ai_operation_"
                  "name=\"chat\",stream=\"false\",aigw_provider=\"none\","
                  "aigw_consumer=\"anonymous\",gen_ai_request_model=\""
                  "gpt-4o\",code=\"503\"} 1"));
  EXPECT_TRUE(Has(text,
                  "aigw_tokens_total{aigw_provider=\"dash\\\"scope\","
                  "aigw_consumer=\"team-a\",gen_ai_request_model=\""
                  "gpt-4o\",kind=\"cached\"} 8"));
  EXPECT_TRUE(Has(text,
                  "aigw_gateway_overhead_seconds_count{gen_ai_"
                  "operation_name=\"chat\",stream=\"true\"} 2"));
  EXPECT_TRUE(Has(text,
                  "aigw_gateway_overhead_seconds_bucket{gen_ai_"
                  "operation_name=\"chat\",stream=\"true\",le=\""
                  "5e-05\"} 2"));
}

TEST(Metrics, LabelValuesHoldingAnyByteKeepTheirSeriesApart) {
  Metrics metrics;
  // Joined with '\x1f', both would be one key with the labels shifted.
  RequestSample first;
  first.provider = "a\037b";
  first.consumer = "c";
  RequestSample second;
  second.provider = "a";
  second.consumer = "b\037c";
  metrics.RecordRequest(first);
  metrics.RecordRequest(second);
  metrics.RecordRequest(second);
  std::string text = metrics.RenderPrometheus();
  EXPECT_TRUE(Has(text,
                  "aigw_requests_total{protocol=\"http\",gen_ai_operation_"
                  "name=\"chat\",stream=\"false\",aigw_provider=\"a\037b\","
                  "aigw_consumer=\"c\",gen_ai_request_model=\"other\","
                  "code=\"200\"} 1"))
      << text;
  EXPECT_TRUE(Has(text,
                  "aigw_requests_total{protocol=\"http\",gen_ai_operation_"
                  "name=\"chat\",stream=\"false\",aigw_provider=\"a\","
                  "aigw_consumer=\"b\037c\",gen_ai_request_model=\"other\","
                  "code=\"200\"} 2"))
      << text;
}

TEST(Metrics, ReloadsAndAttempts) {
  Metrics metrics;
  metrics.RecordConfigLoaded(absl::FromUnixSeconds(1000));
  metrics.RecordReload(true, absl::FromUnixSeconds(2000));
  metrics.RecordReload(false, absl::FromUnixSeconds(3000));
  metrics.RecordAttempt("p", absl::OkStatus());
  metrics.RecordAttempt("p", absl::UnavailableError("down"));
  std::string text = metrics.RenderPrometheus();
  EXPECT_TRUE(Has(text, "aigw_config_reloads_total{result=\"ok\"} 1"));
  EXPECT_TRUE(Has(text, "aigw_config_reloads_total{result=\"error\"} 1"));
  EXPECT_TRUE(
      Has(text, "aigw_config_last_reload_success_timestamp_seconds 2000"));
  EXPECT_TRUE(Has(
      text, "aigw_upstream_attempts_total{provider=\"p\",result=\"ok\"} 1"));
  EXPECT_TRUE(Has(text,
                  "aigw_upstream_attempts_total{provider=\"p\","
                  "result=\"unavailable\"} 1"));
}

}  // namespace
}  // namespace aigw
