#include "server/protection/cidr_set.h"

#include <cstring>

#include "absl/algorithm/container.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace aigw {
namespace {

// `bytes` with everything after the first `bits` bits cleared.
IpAddress::Bytes Masked(const IpAddress::Bytes& bytes, int bits) {
  IpAddress::Bytes out{};
  int whole = bits / 8;
  std::memcpy(out.data(), bytes.data(), whole);
  if (bits % 8 != 0) {
    out[whole] = bytes[whole] & static_cast<uint8_t>(0xff << (8 - bits % 8));
  }
  return out;
}

}  // namespace

absl::StatusOr<Cidr> Cidr::Parse(absl::string_view text) {
  size_t slash = text.find('/');
  absl::string_view address_text = text.substr(0, slash);
  std::optional<IpAddress> address = IpAddress::Parse(address_text);
  if (!address.has_value() ||
      address_text.find('%') != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", text,
                     "' is not an IP address or a range such as 10.0.0.0/8 "
                     "or fd00::/8"));
  }
  // Written IPv4 counts its bits from the mapped form's 97th.
  bool written_v4 = address_text.find(':') == absl::string_view::npos;
  int max_bits = written_v4 ? 32 : 128;
  int bits = max_bits;
  if (slash != absl::string_view::npos) {
    absl::string_view bits_text = text.substr(slash + 1);
    bool digits = !bits_text.empty() && bits_text.size() <= 3 &&
                  absl::c_all_of(bits_text, absl::ascii_isdigit);
    if (!digits || !absl::SimpleAtoi(bits_text, &bits) || bits > max_bits) {
      return absl::InvalidArgumentError(absl::StrCat(
          "'", text, "': the prefix length after / must be 0 to ", max_bits));
    }
  }
  Cidr cidr;
  cidr.prefix_bits = written_v4 ? bits + 96 : bits;
  IpAddress::Bytes base = Masked(address->bytes(), cidr.prefix_bits);
  cidr.base = IpAddress::FromV6Bytes(base);
  if (base != address->bytes()) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", text, "' has bits set after its /", bits,
                     " prefix; the range is ", cidr.ToString()));
  }
  return cidr;
}

bool Cidr::Contains(const IpAddress& ip) const {
  return Masked(ip.bytes(), prefix_bits) == base.bytes();
}

std::string Cidr::ToString() const {
  if (base.is_v4() && prefix_bits >= 96) {
    return absl::StrCat(base.ToString(), "/", prefix_bits - 96);
  }
  return absl::StrCat(base.ToString(), "/", prefix_bits);
}

absl::StatusOr<CidrSet> CidrSet::Parse(const std::vector<std::string>& texts) {
  CidrSet set;
  for (size_t i = 0; i < texts.size(); ++i) {
    absl::StatusOr<Cidr> cidr = Cidr::Parse(texts[i]);
    if (!cidr.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("[", i, "]: ", cidr.status().message()));
    }
    set.Add(*cidr);
  }
  return set;
}

bool CidrSet::Contains(const IpAddress& ip) const {
  for (const Cidr& range : ranges_) {
    if (range.Contains(ip)) return true;
  }
  return false;
}

}  // namespace aigw
