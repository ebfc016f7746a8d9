#include "server/observability/prometheus_text.h"

#include "gtest/gtest.h"
#include "server/observability/gen_ai_names.h"
#include "server/observability/histogram.h"

namespace aigw {
namespace {

TEST(PrometheusText, LabelValuesAreEscaped) {
  EXPECT_EQ(EscapeLabelValue("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  EXPECT_EQ(FormatLabels({{"provider", "x\"y"}, {"code", "200"}}),
            "provider=\"x\\\"y\",code=\"200\"");
}

TEST(PrometheusText, SampleValuesRoundTrip) {
  EXPECT_EQ(FormatSampleValue(3), "3");
  EXPECT_EQ(FormatSampleValue(0.01), "0.01");
  EXPECT_EQ(FormatSampleValue(81.92), "81.92");
  EXPECT_EQ(FormatSampleValue(0.000025), "2.5e-05");
  double tricky = 0.1 + 0.2;
  EXPECT_EQ(std::stod(FormatSampleValue(tricky)), tricky);
}

TEST(Histogram, BucketsAreCumulativeAndUpperBoundsInclusive) {
  BucketBounds bounds = {1, 2, 4};
  Histogram histogram(&bounds);
  for (double v : {0.5, 1.0, 1.5, 4.0, 9.0}) histogram.Observe(v);
  std::string out;
  histogram.AppendTo(&out, "x", "a=\"b\"");
  EXPECT_EQ(out,
            "x_bucket{a=\"b\",le=\"1\"} 2\n"
            "x_bucket{a=\"b\",le=\"2\"} 3\n"
            "x_bucket{a=\"b\",le=\"4\"} 4\n"
            "x_bucket{a=\"b\",le=\"+Inf\"} 5\n"
            "x_sum{a=\"b\"} 16\n"
            "x_count{a=\"b\"} 5\n");
}

TEST(Histogram, MergeAddsObservations) {
  BucketBounds bounds = {1};
  Histogram a(&bounds), b(&bounds);
  a.Observe(0.5);
  b.Observe(2);
  a.Merge(b);
  EXPECT_EQ(a.count(), 2u);
  EXPECT_EQ(a.sum(), 2.5);
}

TEST(GenAiNames, ProviderNamesFollowTheConventions) {
  EXPECT_EQ(GenAiProviderName("openai"), "openai");
  EXPECT_EQ(GenAiProviderName("claude"), "anthropic");
  EXPECT_EQ(GenAiProviderName("gemini"), "gcp.gemini");
  EXPECT_EQ(GenAiProviderName("azure"), "azure.ai.openai");
  EXPECT_EQ(GenAiProviderName("qwen"), "dashscope");
  EXPECT_EQ(GenAiProviderName("moonshot"), "moonshot");
}

TEST(GenAiNames, BucketsAreAscending) {
  for (const BucketBounds* bounds :
       {&OperationDurationBuckets(), &TokenUsageBuckets(),
        &TimeToFirstTokenBuckets(), &TimePerOutputTokenBuckets(),
        &OverheadBuckets()}) {
    for (size_t i = 1; i < bounds->size(); ++i) {
      EXPECT_LT((*bounds)[i - 1], (*bounds)[i]);
    }
  }
}

}  // namespace
}  // namespace aigw
