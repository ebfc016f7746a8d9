#include "server/protection/ip_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

namespace aigw {
namespace {

constexpr uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0,    0,
                                       0, 0, 0, 0, 0xff, 0xff};

}  // namespace

std::optional<IpAddress> IpAddress::Parse(absl::string_view text) {
  text = text.substr(0, text.find('%'));
  // Longest IPv6 text form: 45 characters (v4-mapped with a dotted tail).
  if (text.empty() || text.size() > 45) return std::nullopt;
  char buffer[46];
  std::memcpy(buffer, text.data(), text.size());
  buffer[text.size()] = '\0';
  Bytes bytes{};
  if (text.find(':') != absl::string_view::npos) {
    if (inet_pton(AF_INET6, buffer, bytes.data()) != 1) return std::nullopt;
    return IpAddress(bytes);
  }
  std::array<uint8_t, 4> v4;
  if (inet_pton(AF_INET, buffer, v4.data()) != 1) return std::nullopt;
  return FromV4Bytes(v4);
}

IpAddress IpAddress::FromV4Bytes(const std::array<uint8_t, 4>& bytes) {
  Bytes mapped{};
  std::memcpy(mapped.data(), kMappedPrefix, 12);
  std::memcpy(mapped.data() + 12, bytes.data(), 4);
  return IpAddress(mapped);
}

std::optional<IpAddress> IpAddress::FromSockaddr(const sockaddr* address) {
  if (address == nullptr) return std::nullopt;
  if (address->sa_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(address);
    std::array<uint8_t, 4> bytes;
    std::memcpy(bytes.data(), &v4->sin_addr, 4);
    return FromV4Bytes(bytes);
  }
  if (address->sa_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(address);
    Bytes bytes;
    std::memcpy(bytes.data(), &v6->sin6_addr, 16);
    return IpAddress(bytes);
  }
  return std::nullopt;
}

bool IpAddress::is_v4() const {
  return std::memcmp(bytes_.data(), kMappedPrefix, 12) == 0;
}

std::string IpAddress::ToString() const {
  char buffer[INET6_ADDRSTRLEN];
  if (is_v4()) {
    inet_ntop(AF_INET, bytes_.data() + 12, buffer, sizeof(buffer));
  } else {
    inet_ntop(AF_INET6, bytes_.data(), buffer, sizeof(buffer));
  }
  return buffer;
}

IpAddress IpAddress::ClientKey() const {
  if (is_v4()) return *this;
  Bytes prefix{};
  std::memcpy(prefix.data(), bytes_.data(), 8);
  return IpAddress(prefix);
}

std::string IpAddress::DescribeClient() const {
  if (is_v4()) return ToString();
  return absl::StrCat(ClientKey().ToString(), "/64");
}

}  // namespace aigw
