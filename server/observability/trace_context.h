// W3C Trace Context (traceparent / tracestate, level 1): parsing what a
// client sent, new ids, the header aigw sends upstream, and sampling.
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
  SpanId parent_span_id{};  // zero when there is no parent
  bool has_parent = false;
  bool sampled = false;
  std::string tracestate;  // "" when absent or dropped as malformed
};

// nullopt when `traceparent` is absent or invalid: version ff, a version 00
// header that is not exactly 55 characters, a later version whose first 55
// characters are not followed by '-' or the end, upper-case or non-hex
// digits, an all-zero trace or parent id. `tracestate` is kept as received
// when it is printable ASCII, at most 512 characters and 32 well-formed
// key=value members; otherwise it is dropped (the traceparent still counts).
std::optional<TraceContext> ParseTraceparent(absl::string_view traceparent,
                                             absl::string_view tracestate);

// Random, never all zero; a thread_local generator, no syscall per call.
TraceId NewTraceId();
SpanId NewSpanId();

// "00-<32 hex>-<16 hex>-01" (or -00 when not sampled).
std::string FormatTraceparent(const TraceId& trace_id, const SpanId& span_id,
                              bool sampled);
// Lowercase hex.
std::string Hex(const TraceId& id);
std::string Hex(const SpanId& id);

// Parent-based: a parent's sampled flag decides; without one, `ratio`
// (0..1) of trace ids by their low 8 bytes as a big-endian uint64, so every
// hop that uses the same rule decides alike.
bool ShouldSample(const std::optional<TraceContext>& parent,
                  const TraceId& trace_id, double ratio);

}  // namespace aigw

#endif  // AIGW_SERVER_OBSERVABILITY_TRACE_CONTEXT_H_
