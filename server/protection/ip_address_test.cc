#include "server/protection/ip_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

#include "absl/hash/hash.h"
#include "gtest/gtest.h"

namespace aigw {
namespace {

IpAddress Ip(absl::string_view text) {
  std::optional<IpAddress> ip = IpAddress::Parse(text);
  EXPECT_TRUE(ip.has_value()) << text;
  return ip.value_or(IpAddress());
}

TEST(IpAddress, V4AndItsMappedFormAreOneAddress) {
  EXPECT_EQ(Ip("10.1.2.3"), Ip("::ffff:10.1.2.3"));
  EXPECT_EQ(absl::HashOf(Ip("10.1.2.3")), absl::HashOf(Ip("::ffff:a01:203")));
  EXPECT_TRUE(Ip("10.1.2.3").is_v4());
  EXPECT_TRUE(Ip("::ffff:10.1.2.3").is_v4());
  EXPECT_FALSE(Ip("2001:db8::1").is_v4());
  EXPECT_EQ(Ip("::ffff:10.1.2.3").ToString(), "10.1.2.3");
}

TEST(IpAddress, V6TextIsCanonical) {
  EXPECT_EQ(Ip("2001:0DB8:0000::0001").ToString(), "2001:db8::1");
  EXPECT_EQ(Ip("::1").ToString(), "::1");
}

TEST(IpAddress, RejectsWhatIsNotAnAddress) {
  for (absl::string_view text :
       {"", "unknown", "1.2.3", "1.2.3.4.5", "256.1.1.1", " 1.2.3.4",
        "1.2.3.4:80", "[::1]", "::1::2", "1.2.3.4 ",
        "2001:db8::1:2:3:4:5:6:7:8:9:10:11:12:13:14:15:16:17"}) {
    EXPECT_FALSE(IpAddress::Parse(text).has_value()) << text;
  }
}

TEST(IpAddress, ZoneIsIgnored) { EXPECT_EQ(Ip("fe80::1%eth0"), Ip("fe80::1")); }

TEST(IpAddress, FromSockaddr) {
  sockaddr_in v4{};
  v4.sin_family = AF_INET;
  inet_pton(AF_INET, "192.0.2.7", &v4.sin_addr);
  EXPECT_EQ(IpAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&v4)),
            Ip("192.0.2.7"));
  sockaddr_in6 v6{};
  v6.sin6_family = AF_INET6;
  inet_pton(AF_INET6, "2001:db8::7", &v6.sin6_addr);
  EXPECT_EQ(IpAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&v6)),
            Ip("2001:db8::7"));
  sockaddr unix_socket{};
  unix_socket.sa_family = AF_UNIX;
  EXPECT_FALSE(IpAddress::FromSockaddr(&unix_socket).has_value());
}

TEST(IpAddress, ClientKeyIsTheAddressForV4AndThe64ForV6) {
  EXPECT_EQ(Ip("10.1.2.3").ClientKey(), Ip("10.1.2.3"));
  EXPECT_NE(Ip("10.1.2.3").ClientKey(), Ip("10.1.2.4").ClientKey());
  EXPECT_EQ(Ip("2001:db8:1:2::1").ClientKey(),
            Ip("2001:db8:1:2:ffff:ffff:ffff:ffff").ClientKey());
  EXPECT_NE(Ip("2001:db8:1:2::1").ClientKey(),
            Ip("2001:db8:1:3::1").ClientKey());
  EXPECT_EQ(Ip("10.1.2.3").DescribeClient(), "10.1.2.3");
  EXPECT_EQ(Ip("2001:db8:1:2:aaaa::1").DescribeClient(), "2001:db8:1:2::/64");
}

}  // namespace
}  // namespace aigw
