// An IPv4 or IPv6 address as 16 bytes (IPv4 stored v4-mapped,
// ::ffff:a.b.c.d), so that a dual-stack socket's "::ffff:10.1.2.3" and a
// plain "10.1.2.3" are one client. Cheap to copy, hash and compare: it is
// the key of the per-client tables.
#ifndef AIGW_SERVER_PROTECTION_IP_ADDRESS_H_
#define AIGW_SERVER_PROTECTION_IP_ADDRESS_H_

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace aigw {

class IpAddress {
 public:
  using Bytes = std::array<uint8_t, 16>;

  IpAddress() = default;  // ::
  // "10.1.2.3", "2001:db8::1", "::ffff:10.1.2.3"; a zone ("fe80::1%eth0")
  // is ignored. Nothing else (no brackets, no port, no spaces).
  static std::optional<IpAddress> Parse(absl::string_view text);
  static IpAddress FromV6Bytes(const Bytes& bytes) { return IpAddress(bytes); }
  static IpAddress FromV4Bytes(const std::array<uint8_t, 4>& bytes);
  // AF_INET or AF_INET6 (e.g. from accept() or getpeername()).
  static std::optional<IpAddress> FromSockaddr(const sockaddr* address);

  const Bytes& bytes() const { return bytes_; }
  bool is_v4() const;  // v4-mapped
  // "10.1.2.3" for IPv4 (mapped or not), RFC 5952 text for IPv6.
  std::string ToString() const;

  // The key per-client limits count under: the address itself for IPv4,
  // its /64 for IPv6 (one host or subscriber routinely owns a whole /64,
  // so counting single v6 addresses would not limit anyone).
  IpAddress ClientKey() const;
  // ClientKey() as text: "10.1.2.3" or "2001:db8:1:2::/64".
  std::string DescribeClient() const;

  friend bool operator==(const IpAddress& a, const IpAddress& b) {
    return a.bytes_ == b.bytes_;
  }
  friend bool operator!=(const IpAddress& a, const IpAddress& b) {
    return !(a == b);
  }
  template <typename H>
  friend H AbslHashValue(H h, const IpAddress& ip) {
    return H::combine(std::move(h), ip.bytes_);
  }

 private:
  explicit IpAddress(const Bytes& bytes) : bytes_(bytes) {}
  Bytes bytes_{};
};

}  // namespace aigw

#endif  // AIGW_SERVER_PROTECTION_IP_ADDRESS_H_
