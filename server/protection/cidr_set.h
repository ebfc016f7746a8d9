// A set of address ranges ("10.0.0.0/8", "fd00::/8", or single addresses)
// such as protection.trusted_proxies. IPv4 ranges also match v4-mapped IPv6
// peers (a dual-stack socket's ::ffff:10.1.2.3).
#ifndef AIGW_SERVER_PROTECTION_CIDR_SET_H_
#define AIGW_SERVER_PROTECTION_CIDR_SET_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/protection/ip_address.h"

namespace aigw {

struct Cidr {
  IpAddress base;         // host bits are zero
  int prefix_bits = 128;  // of the 16-byte (v4-mapped) form

  // "10.0.0.0/8", "2001:db8::/32", "10.1.2.3" (= /32), "::1" (= /128).
  // Host bits set ("10.0.0.1/8") are an error, not silently masked: it is
  // usually a typo for another range.
  static absl::StatusOr<Cidr> Parse(absl::string_view text);
  bool Contains(const IpAddress& ip) const;
  std::string ToString() const;  // as it would be written
};

class CidrSet {
 public:
  CidrSet() = default;
  // Every entry as Cidr::Parse reads it; the error names the entry's index
  // ("[2]: ...") so a config reader can prefix its key.
  static absl::StatusOr<CidrSet> Parse(const std::vector<std::string>& texts);

  void Add(const Cidr& cidr) { ranges_.push_back(cidr); }
  bool Contains(const IpAddress& ip) const;
  bool empty() const { return ranges_.empty(); }
  const std::vector<Cidr>& ranges() const { return ranges_; }

 private:
  std::vector<Cidr> ranges_;  // a handful: a linear scan beats any index
};

}  // namespace aigw

#endif  // AIGW_SERVER_PROTECTION_CIDR_SET_H_
