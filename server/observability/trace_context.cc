#include "server/observability/trace_context.h"

#include <random>

namespace aigw {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;  // upper case is invalid in traceparent
}

// `text` (2 * N lowercase hex digits) into `out`.
template <size_t N>
bool ParseHex(absl::string_view text, std::array<uint8_t, N>* out) {
  if (text.size() != 2 * N) return false;
  bool any = false;
  for (size_t i = 0; i < N; ++i) {
    int high = HexValue(text[2 * i]);
    int low = HexValue(text[2 * i + 1]);
    if (high < 0 || low < 0) return false;
    (*out)[i] = static_cast<uint8_t>(high * 16 + low);
    any = any || (*out)[i] != 0;
  }
  return true && (any || N == 1);
}

template <size_t N>
std::string ToHex(const std::array<uint8_t, N>& bytes) {
  std::string out;
  out.reserve(2 * N);
  for (uint8_t byte : bytes) {
    out.push_back(kHexDigits[byte >> 4]);
    out.push_back(kHexDigits[byte & 0xf]);
  }
  return out;
}

template <size_t N>
std::array<uint8_t, N> RandomId() {
  thread_local std::mt19937_64 generator{std::random_device{}()};
  std::array<uint8_t, N> id{};
  do {
    for (size_t i = 0; i < N; i += 8) {
      uint64_t word = generator();
      for (size_t j = 0; j < 8 && i + j < N; ++j) {
        id[i + j] = static_cast<uint8_t>(word >> (8 * j));
      }
    }
  } while (id == std::array<uint8_t, N>{});
  return id;
}

bool ValidTracestate(absl::string_view state) {
  if (state.size() > 512) return false;
  for (char c : state) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

}  // namespace

std::optional<TraceContext> ParseTraceparent(absl::string_view traceparent,
                                             absl::string_view tracestate) {
  if (traceparent.size() < 55) return std::nullopt;
  absl::string_view version = traceparent.substr(0, 2);
  std::array<uint8_t, 1> version_byte{};
  if (!ParseHex(version, &version_byte) || version == "ff") {
    return std::nullopt;
  }
  if (version == "00" && traceparent.size() != 55) return std::nullopt;
  if (traceparent.size() > 55 && traceparent[55] != '-') return std::nullopt;
  if (traceparent[2] != '-' || traceparent[35] != '-' ||
      traceparent[52] != '-') {
    return std::nullopt;
  }
  TraceContext context;
  std::array<uint8_t, 1> flags{};
  if (!ParseHex(traceparent.substr(3, 32), &context.trace_id) ||
      !ParseHex(traceparent.substr(36, 16), &context.parent_span_id) ||
      !ParseHex(traceparent.substr(53, 2), &flags)) {
    return std::nullopt;
  }
  context.sampled = (flags[0] & 1) != 0;
  if (ValidTracestate(tracestate)) context.tracestate = std::string(tracestate);
  return context;
}

TraceId NewTraceId() { return RandomId<16>(); }
SpanId NewSpanId() { return RandomId<8>(); }

std::string FormatTraceparent(const TraceId& trace_id, const SpanId& span_id,
                              bool sampled) {
  return "00-" + ToHex(trace_id) + "-" + ToHex(span_id) +
         (sampled ? "-01" : "-00");
}

std::string Hex(const TraceId& id) { return ToHex(id); }
std::string Hex(const SpanId& id) { return ToHex(id); }

bool ShouldSample(const std::optional<TraceContext>& parent,
                  const TraceId& trace_id, double ratio) {
  if (parent.has_value()) return parent->sampled;
  if (ratio >= 1) return true;
  if (ratio <= 0) return false;
  uint64_t low = 0;
  for (size_t i = 8; i < 16; ++i) low = (low << 8) | trace_id[i];
  return static_cast<double>(low) < ratio * 18446744073709551616.0;
}

}  // namespace aigw
