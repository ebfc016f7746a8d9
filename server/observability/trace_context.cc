#include "server/observability/trace_context.h"

#include <random>

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"

namespace aigw {
namespace {

constexpr size_t kTraceparentSize = 55;  // 00-<32>-<16>-<2>
constexpr size_t kMaxTracestateSize = 512;
constexpr size_t kMaxTracestateMembers = 32;
constexpr char kHexDigits[] = "0123456789abcdef";

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;  // upper case is invalid in traceparent
}

// `text`, exactly 2 * N lowercase hex digits, into `out`.
template <size_t N>
bool ParseHex(absl::string_view text, std::array<uint8_t, N>* out) {
  if (text.size() != 2 * N) return false;
  for (size_t i = 0; i < N; ++i) {
    int high = HexValue(text[2 * i]);
    int low = HexValue(text[2 * i + 1]);
    if (high < 0 || low < 0) return false;
    (*out)[i] = static_cast<uint8_t>(high * 16 + low);
  }
  return true;
}

template <size_t N>
bool IsZero(const std::array<uint8_t, N>& bytes) {
  return bytes == std::array<uint8_t, N>{};
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

// Seeded once per thread from several random_device words: one 32-bit seed
// would make ids collide across processes far sooner than 128 bits should.
std::mt19937_64& Generator() {
  thread_local std::mt19937_64 generator = [] {
    std::random_device device;
    std::seed_seq seed{device(), device(), device(), device(),
                       device(), device(), device(), device()};
    return std::mt19937_64(seed);
  }();
  return generator;
}

template <size_t N>
std::array<uint8_t, N> RandomId() {
  std::mt19937_64& generator = Generator();
  std::array<uint8_t, N> id{};
  do {
    for (size_t i = 0; i < N; i += 8) {
      uint64_t word = generator();
      for (size_t j = 0; j < 8 && i + j < N; ++j) {
        id[i + j] = static_cast<uint8_t>(word >> (8 * j));
      }
    }
  } while (IsZero(id));
  return id;
}

bool IsLcAlpha(char c) { return c >= 'a' && c <= 'z'; }

bool IsLcAlphaOrDigit(char c) { return IsLcAlpha(c) || (c >= '0' && c <= '9'); }

// lcalpha / DIGIT / "_" / "-" / "*" / "/": a key's characters after its
// first.
bool IsKeyChar(char c) {
  return IsLcAlphaOrDigit(c) || c == '_' || c == '-' || c == '*' || c == '/';
}

// `first` then 0 to `max_rest` key characters.
bool ValidKeyPart(absl::string_view part, bool (*first)(char),
                  size_t max_rest) {
  if (part.empty() || part.size() > max_rest + 1 || !first(part[0])) {
    return false;
  }
  for (char c : part.substr(1)) {
    if (!IsKeyChar(c)) return false;
  }
  return true;
}

// W3C trace-context: simple-key = lcalpha 0*255(keychar); multi-tenant-key
// = tenant-id "@" system-id, tenant-id = (lcalpha / DIGIT) 0*240(keychar),
// system-id = lcalpha 0*13(keychar).
bool ValidKey(absl::string_view key) {
  size_t at = key.find('@');
  if (at == absl::string_view::npos) return ValidKeyPart(key, IsLcAlpha, 255);
  return ValidKeyPart(key.substr(0, at), IsLcAlphaOrDigit, 240) &&
         ValidKeyPart(key.substr(at + 1), IsLcAlpha, 13);
}

// value = 0*255(chr) nblk-chr; chr = %x20 / nblk-chr; nblk-chr = printable
// ASCII but ',' and '=' (%x21-2B / %x2D-3C / %x3E-7E).
bool ValidValue(absl::string_view value) {
  if (value.empty() || value.size() > 256 || value.back() == ' ') return false;
  for (char c : value) {
    if (c < 0x20 || c > 0x7e || c == ',' || c == '=') return false;
  }
  return true;
}

bool ValidMember(absl::string_view member) {
  size_t equals = member.find('=');
  if (equals == absl::string_view::npos) return false;
  return ValidKey(member.substr(0, equals)) &&
         ValidValue(member.substr(equals + 1));
}

bool ValidTracestate(absl::string_view state) {
  if (state.size() > kMaxTracestateSize) return false;
  for (char c : state) {
    if (c != '\t' && (c < 0x20 || c > 0x7e)) return false;
  }
  size_t members = 0;
  for (absl::string_view member : absl::StrSplit(state, ',')) {
    // Optional whitespace (spaces, tabs) around members; empty members are
    // allowed.
    member = absl::StripAsciiWhitespace(member);
    if (member.empty()) continue;
    if (++members > kMaxTracestateMembers || !ValidMember(member)) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::optional<TraceContext> ParseTraceparent(absl::string_view traceparent,
                                             absl::string_view tracestate) {
  if (traceparent.size() < kTraceparentSize) return std::nullopt;
  absl::string_view version = traceparent.substr(0, 2);
  std::array<uint8_t, 1> version_byte{};
  if (!ParseHex(version, &version_byte) || version == "ff") {
    return std::nullopt;
  }
  if (version == "00" && traceparent.size() != kTraceparentSize) {
    return std::nullopt;
  }
  // A later version may append fields, each after a '-'.
  if (traceparent.size() > kTraceparentSize &&
      traceparent[kTraceparentSize] != '-') {
    return std::nullopt;
  }
  if (traceparent[2] != '-' || traceparent[35] != '-' ||
      traceparent[52] != '-') {
    return std::nullopt;
  }
  TraceContext context;
  std::array<uint8_t, 1> flags{};
  if (!ParseHex(traceparent.substr(3, 32), &context.trace_id) ||
      !ParseHex(traceparent.substr(36, 16), &context.parent_span_id) ||
      !ParseHex(traceparent.substr(53, 2), &flags) ||
      IsZero(context.trace_id) || IsZero(context.parent_span_id)) {
    return std::nullopt;
  }
  context.has_parent = true;
  context.sampled = (flags[0] & 1) != 0;
  if (ValidTracestate(tracestate)) context.tracestate = std::string(tracestate);
  return context;
}

TraceId NewTraceId() { return RandomId<16>(); }
SpanId NewSpanId() { return RandomId<8>(); }

std::string FormatTraceparent(const TraceId& trace_id, const SpanId& span_id,
                              bool sampled) {
  std::string out;
  out.reserve(kTraceparentSize);
  out.append("00-").append(ToHex(trace_id)).append("-");
  out.append(ToHex(span_id)).append(sampled ? "-01" : "-00");
  return out;
}

std::string Hex(const TraceId& id) { return ToHex(id); }
std::string Hex(const SpanId& id) { return ToHex(id); }

bool ShouldSample(const std::optional<TraceContext>& parent,
                  const TraceId& trace_id, double ratio) {
  if (parent.has_value() && parent->has_parent) return parent->sampled;
  if (!(ratio > 0)) return false;  // also NaN
  if (ratio >= 1) return true;
  uint64_t low = 0;
  for (size_t i = 8; i < 16; ++i) low = (low << 8) | trace_id[i];
  return static_cast<double>(low) < ratio * 18446744073709551616.0;
}

}  // namespace aigw
