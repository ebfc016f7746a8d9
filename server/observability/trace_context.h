// W3C Trace Context (traceparent / tracestate, level 1): parsing what a
// client sent, new ids, and the header aigw sends upstream.
#ifndef AIGW_SERVER_OBSERVABILITY_TRACE_CONTEXT_H_
#define AIGW_SERVER_OBSERVABILITY_TRACE_CONTEXT_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace aigw {

using TraceId = std::array<uint8_t, 16>;
using SpanId = std::array<uint8_t, 8>;

struct TraceContext {
  TraceId trace_id{};
  SpanId parent_span_id{};
  bool sampled = false;
  std::string tracestate;  // "" when absent or not passed on
};

// nullopt when `traceparent` is absent or invalid: version ff, a version
// 00 header that is not exactly 55 characters, upper-case or non-hex
// digits, an all-zero trace or parent id. A later version is read by its
// first 55 characters. A tracestate over 512 characters or with
// non-printable characters is dropped.
std::optional<TraceContext> ParseTraceparent(absl::string_view traceparent,
                                             absl::string_view tracestate);

// Random, never all zero.
TraceId NewTraceId();
SpanId NewSpanId();

// "00-<trace id>-<span id>-01" (or -00 when not sampled).
std::string FormatTraceparent(const TraceId& trace_id, const SpanId& span_id,
                              bool sampled);
std::string Hex(const TraceId& id);
std::string Hex(const SpanId& id);

// Parent-based: the caller's flag decides; without a caller, `ratio` of
// trace ids (by their low 8 bytes, so every hop decides alike).
bool ShouldSample(const std::optional<TraceContext>& parent,
                  const TraceId& trace_id, double ratio);

}  // namespace aigw

#endif  // AIGW_SERVER_OBSERVABILITY_TRACE_CONTEXT_H_
