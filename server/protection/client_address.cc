#include "server/protection/client_address.h"

#include "absl/strings/ascii.h"

namespace aigw {
namespace {

bool IsPort(absl::string_view text) {
  if (text.empty() || text.size() > 5) return false;
  for (char c : text) {
    if (!absl::ascii_isdigit(c)) return false;
  }
  return true;
}

}  // namespace

std::optional<IpAddress> ParseForwardedFor(absl::string_view entry) {
  entry = absl::StripAsciiWhitespace(entry);
  if (entry.size() >= 2 && entry.front() == '"' && entry.back() == '"') {
    entry = entry.substr(1, entry.size() - 2);  // RFC 7239 quoting
  }
  if (!entry.empty() && entry.front() == '[') {
    // "[v6]" or "[v6]:port"
    size_t close = entry.find(']');
    if (close == absl::string_view::npos) return std::nullopt;
    absl::string_view rest = entry.substr(close + 1);
    if (!rest.empty() && (rest.front() != ':' || !IsPort(rest.substr(1)))) {
      return std::nullopt;
    }
    entry = entry.substr(1, close - 1);
    if (entry.find(':') == absl::string_view::npos) return std::nullopt;
  } else if (size_t colon = entry.find(':');
             colon != absl::string_view::npos &&
             entry.find(':', colon + 1) == absl::string_view::npos) {
    // "v4:port"; an IPv6 address has several colons.
    if (!IsPort(entry.substr(colon + 1))) return std::nullopt;
    entry = entry.substr(0, colon);
  }
  // A zone in a forwarded address means nothing to us; refuse it rather
  // than guess.
  if (entry.find('%') != absl::string_view::npos) return std::nullopt;
  return IpAddress::Parse(entry);
}

IpAddress ClientAddress(const IpAddress& peer,
                        absl::Span<const absl::string_view> x_forwarded_for,
                        const CidrSet& trusted) {
  if (trusted.empty() || !trusted.Contains(peer)) return peer;
  IpAddress client = peer;
  for (size_t line = x_forwarded_for.size(); line-- > 0;) {
    absl::string_view rest = x_forwarded_for[line];
    while (true) {
      size_t comma = rest.rfind(',');
      absl::string_view entry =
          comma == absl::string_view::npos ? rest : rest.substr(comma + 1);
      if (!absl::StripAsciiWhitespace(entry).empty()) {
        std::optional<IpAddress> hop = ParseForwardedFor(entry);
        if (!hop.has_value()) return client;
        client = *hop;
        if (!trusted.Contains(client)) return client;
      }
      if (comma == absl::string_view::npos) break;
      rest = rest.substr(0, comma);
    }
  }
  return client;
}

}  // namespace aigw
