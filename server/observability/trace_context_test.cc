#include "server/observability/trace_context.h"

#include <set>
#include <string>

#include "gtest/gtest.h"

namespace aigw {
namespace {

constexpr char kTrace[] = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr char kParent[] = "00f067aa0ba902b7";

std::string Traceparent(absl::string_view version, absl::string_view flags) {
  return std::string(version) + "-" + kTrace + "-" + kParent + "-" +
         std::string(flags);
}

TEST(ParseTraceparent, ValidHeaderGivesIdsFlagAndTracestate) {
  auto context = ParseTraceparent(Traceparent("00", "01"), "congo=t61rcWkgMzE");
  ASSERT_TRUE(context.has_value());
  EXPECT_EQ(Hex(context->trace_id), kTrace);
  EXPECT_EQ(Hex(context->parent_span_id), kParent);
  EXPECT_TRUE(context->has_parent);
  EXPECT_TRUE(context->sampled);
  EXPECT_EQ(context->tracestate, "congo=t61rcWkgMzE");
}

TEST(ParseTraceparent, SampledIsTheLowBitOfTheFlags) {
  EXPECT_FALSE(ParseTraceparent(Traceparent("00", "00"), "")->sampled);
  EXPECT_TRUE(ParseTraceparent(Traceparent("00", "03"), "")->sampled);
  EXPECT_FALSE(ParseTraceparent(Traceparent("00", "02"), "")->sampled);
}

TEST(ParseTraceparent, RejectsAbsentOrMalformedHeaders) {
  EXPECT_FALSE(ParseTraceparent("", "").has_value());
  EXPECT_FALSE(ParseTraceparent(Traceparent("ff", "01"), "").has_value());
  EXPECT_FALSE(ParseTraceparent(Traceparent("0g", "01"), "").has_value());
  EXPECT_FALSE(ParseTraceparent(Traceparent("00", "0x"), "").has_value());
  EXPECT_FALSE(ParseTraceparent(Traceparent("00", "01") + "-", "").has_value());
  EXPECT_FALSE(ParseTraceparent(Traceparent("00", "1"), "").has_value());
  std::string upper = Traceparent("00", "01");
  upper[5] = 'F';
  EXPECT_FALSE(ParseTraceparent(upper, "").has_value());
  std::string no_dash = Traceparent("00", "01");
  no_dash[35] = '_';
  EXPECT_FALSE(ParseTraceparent(no_dash, "").has_value());
}

TEST(ParseTraceparent, RejectsAllZeroIds) {
  std::string zero_trace = "00-" + std::string(32, '0') + "-" + kParent + "-01";
  std::string zero_parent =
      "00-" + std::string(kTrace) + "-" + std::string(16, '0') + "-01";
  EXPECT_FALSE(ParseTraceparent(zero_trace, "").has_value());
  EXPECT_FALSE(ParseTraceparent(zero_parent, "").has_value());
}

TEST(ParseTraceparent, LaterVersionsAreReadByTheirFirst55Characters) {
  EXPECT_TRUE(ParseTraceparent(Traceparent("01", "01"), "").has_value());
  auto extended = ParseTraceparent(Traceparent("cc", "01") + "-what-ever", "");
  ASSERT_TRUE(extended.has_value());
  EXPECT_EQ(Hex(extended->trace_id), kTrace);
  EXPECT_FALSE(ParseTraceparent(Traceparent("cc", "01") + "x", "").has_value());
}

TEST(ParseTraceparent, KeepsWellFormedTracestateWithSpacesAndEmptyMembers) {
  std::string state = "rojo=00f067aa0ba902b7, ,congo=t61rcWkgMzE,a@b=x y";
  EXPECT_EQ(ParseTraceparent(Traceparent("00", "01"), state)->tracestate,
            state);
}

TEST(ParseTraceparent, DropsBadTracestateButKeepsTheParent) {
  auto parse = [](const std::string& state) {
    auto context = ParseTraceparent(Traceparent("00", "01"), state);
    EXPECT_TRUE(context.has_value());
    return context->tracestate;
  };
  EXPECT_EQ(parse(std::string(513, 'a')), "");
  EXPECT_EQ(parse("a=1\n"), "");
  EXPECT_EQ(parse("a=\x80"), "");
  EXPECT_EQ(parse("novalue"), "");
  EXPECT_EQ(parse("Upper=1"), "");
  EXPECT_EQ(parse("a=b=c"), "");
  EXPECT_EQ(parse("=1"), "");
  std::string members;
  for (int i = 0; i < 32; ++i) members += "k" + std::to_string(i) + "=v,";
  EXPECT_EQ(parse(members), members);
  EXPECT_EQ(parse(members + "k32=v"), "");
}

TEST(ParseTraceparent, TracestateKeysFollowTheW3cGrammar) {
  auto kept = [](const std::string& state) {
    return ParseTraceparent(Traceparent("00", "01"), state)->tracestate ==
           state;
  };
  EXPECT_TRUE(kept("a_-*/9=1"));
  EXPECT_TRUE(kept(std::string(256, 'k') + "=1"));
  EXPECT_FALSE(kept(std::string(257, 'k') + "=1"));
  // A simple key starts with a letter; only a tenant id may start with a
  // digit.
  EXPECT_FALSE(kept("1abc=1"));
  EXPECT_FALSE(kept("_a=1"));
  EXPECT_TRUE(kept("1tenant@sys=1"));
  EXPECT_TRUE(kept("t_-*/@s_-*/9=1"));
  EXPECT_TRUE(kept(std::string(241, 't') + "@" + std::string(14, 's') + "=1"));
  EXPECT_FALSE(kept(std::string(242, 't') + "@s=1"));
  EXPECT_FALSE(kept("t@" + std::string(15, 's') + "=1"));
  // The system id starts with a letter; one '@', neither side empty.
  EXPECT_FALSE(kept("t@1s=1"));
  EXPECT_FALSE(kept("@s=1"));
  EXPECT_FALSE(kept("t@=1"));
  EXPECT_FALSE(kept("t@s@x=1"));
  EXPECT_FALSE(kept("_t@s=1"));
}

TEST(ParseTraceparent, TracestateValuesArePrintableWithInnerSpacesOnly) {
  auto kept = [](const std::string& state) {
    return ParseTraceparent(Traceparent("00", "01"), state)->tracestate ==
           state;
  };
  EXPECT_TRUE(kept("a=!~ x\\"));
  EXPECT_TRUE(kept("a=" + std::string(256, 'v')));
  EXPECT_FALSE(kept("a=" + std::string(257, 'v')));
  EXPECT_FALSE(kept("a=x\ty"));
  EXPECT_FALSE(kept("a=\tx"));
  EXPECT_FALSE(kept("a=x\t\ty,b=1"));
  EXPECT_TRUE(kept("a= x"));  // a leading space is a chr
  EXPECT_FALSE(kept("a =1"));
  EXPECT_FALSE(kept("a=\x7f"));
  EXPECT_FALSE(kept("a="));
  // Tabs and spaces around members are list whitespace, not value bytes.
  EXPECT_TRUE(kept("a=1\t,\tb=2 "));
}

TEST(NewIds, AreNonZeroAndDistinct) {
  std::set<std::string> traces, spans;
  for (int i = 0; i < 1000; ++i) {
    TraceId trace = NewTraceId();
    SpanId span = NewSpanId();
    EXPECT_NE(trace, TraceId{});
    EXPECT_NE(span, SpanId{});
    traces.insert(Hex(trace));
    spans.insert(Hex(span));
  }
  EXPECT_EQ(traces.size(), 1000u);
  EXPECT_EQ(spans.size(), 1000u);
}

TEST(FormatTraceparent, RoundTripsThroughParse) {
  TraceId trace = NewTraceId();
  SpanId span = NewSpanId();
  std::string header = FormatTraceparent(trace, span, true);
  EXPECT_EQ(header, "00-" + Hex(trace) + "-" + Hex(span) + "-01");
  auto parsed = ParseTraceparent(header, "");
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->trace_id, trace);
  EXPECT_EQ(parsed->parent_span_id, span);
  EXPECT_EQ(FormatTraceparent(trace, span, false).substr(53), "00");
}

TEST(Hex, IsLowercaseAndFixedWidth) {
  SpanId span = {0x00, 0x01, 0xab, 0xcd, 0xef, 0x10, 0xff, 0x09};
  EXPECT_EQ(Hex(span), "0001abcdef10ff09");
  EXPECT_EQ(Hex(TraceId{}).size(), 32u);
}

TEST(ShouldSample, TheParentsFlagDecides) {
  auto sampled = ParseTraceparent(Traceparent("00", "01"), "");
  auto unsampled = ParseTraceparent(Traceparent("00", "00"), "");
  EXPECT_TRUE(ShouldSample(sampled, NewTraceId(), 0.0));
  EXPECT_FALSE(ShouldSample(unsampled, NewTraceId(), 1.0));
}

TEST(ShouldSample, WithoutAParentTheRatioDecidesByTheLowBytes) {
  TraceId low{};
  low[15] = 1;
  TraceId high{};
  for (size_t i = 8; i < 16; ++i) high[i] = 0xff;
  EXPECT_TRUE(ShouldSample(std::nullopt, low, 0.5));
  EXPECT_FALSE(ShouldSample(std::nullopt, high, 0.5));
  EXPECT_TRUE(ShouldSample(std::nullopt, high, 1.0));
  EXPECT_FALSE(ShouldSample(std::nullopt, low, 0.0));
  TraceId id = NewTraceId();
  EXPECT_EQ(ShouldSample(std::nullopt, id, 0.3),
            ShouldSample(std::nullopt, id, 0.3));
  int sampled = 0;
  for (int i = 0; i < 10000; ++i) {
    sampled += ShouldSample(std::nullopt, NewTraceId(), 0.25) ? 1 : 0;
  }
  EXPECT_GT(sampled, 2200);
  EXPECT_LT(sampled, 2800);
}

}  // namespace
}  // namespace aigw
