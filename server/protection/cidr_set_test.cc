#include "server/protection/cidr_set.h"

#include "gtest/gtest.h"

namespace aigw {
namespace {

IpAddress Ip(absl::string_view text) { return *IpAddress::Parse(text); }

CidrSet Set(const std::vector<std::string>& texts) {
  absl::StatusOr<CidrSet> set = CidrSet::Parse(texts);
  EXPECT_TRUE(set.ok()) << set.status();
  return set.ok() ? *set : CidrSet();
}

TEST(CidrSet, V4RangeMatchesPlainAndMappedPeers) {
  CidrSet set = Set({"10.0.0.0/8"});
  EXPECT_TRUE(set.Contains(Ip("10.0.0.0")));
  EXPECT_TRUE(set.Contains(Ip("10.255.255.255")));
  EXPECT_TRUE(set.Contains(Ip("::ffff:10.9.8.7")));
  EXPECT_FALSE(set.Contains(Ip("11.0.0.1")));
  EXPECT_FALSE(set.Contains(Ip("9.255.255.255")));
  // The same 32 bits at the start of an IPv6 address are not IPv4.
  EXPECT_FALSE(set.Contains(Ip("a00::1")));
}

TEST(CidrSet, V6Ranges) {
  CidrSet set = Set({"fd00::/8", "2001:db8:1::/48"});
  EXPECT_TRUE(set.Contains(Ip("fd12:3456::1")));
  EXPECT_TRUE(set.Contains(Ip("2001:db8:1:ffff::1")));
  EXPECT_FALSE(set.Contains(Ip("2001:db8:2::1")));
  EXPECT_FALSE(set.Contains(Ip("10.0.0.1")));
}

TEST(CidrSet, PlainAddressesAreSingleHosts) {
  CidrSet set = Set({"192.0.2.7", "::1"});
  EXPECT_TRUE(set.Contains(Ip("192.0.2.7")));
  EXPECT_FALSE(set.Contains(Ip("192.0.2.8")));
  EXPECT_TRUE(set.Contains(Ip("::1")));
  EXPECT_FALSE(set.Contains(Ip("::2")));
}

TEST(CidrSet, OddPrefixLengthsAndTheWholeSpace) {
  CidrSet set = Set({"172.16.0.0/12"});
  EXPECT_TRUE(set.Contains(Ip("172.31.255.255")));
  EXPECT_FALSE(set.Contains(Ip("172.32.0.0")));
  EXPECT_TRUE(Set({"0.0.0.0/0"}).Contains(Ip("203.0.113.1")));
  EXPECT_FALSE(Set({"0.0.0.0/0"}).Contains(Ip("2001:db8::1")));
  EXPECT_TRUE(Set({"::/0"}).Contains(Ip("2001:db8::1")));
  EXPECT_TRUE(Set({"::/0"}).Contains(Ip("203.0.113.1")));
  EXPECT_TRUE(Set({"::ffff:10.0.0.0/104"}).Contains(Ip("10.1.1.1")));
}

TEST(CidrSet, EmptySetContainsNothing) {
  CidrSet set;
  EXPECT_TRUE(set.empty());
  EXPECT_FALSE(set.Contains(Ip("127.0.0.1")));
}

TEST(CidrSet, ErrorsNameTheEntryAndWhatIsWrong) {
  absl::StatusOr<CidrSet> set = CidrSet::Parse({"10.0.0.0/8", "10.0.0.1/8"});
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.status().message(),
            "[1]: '10.0.0.1/8' has bits set after its /8 prefix; the range "
            "is 10.0.0.0/8");
  for (const char* bad :
       {"10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/x", "10.0.0.0/-1",
        "example.com", "10.0.0.0/8 ", "fe80::1%eth0", ""}) {
    EXPECT_FALSE(Cidr::Parse(bad).ok()) << bad;
  }
}

TEST(CidrSet, ToStringWritesTheRangeAsConfigWould) {
  EXPECT_EQ(Cidr::Parse("10.0.0.0/8")->ToString(), "10.0.0.0/8");
  EXPECT_EQ(Cidr::Parse("192.0.2.7")->ToString(), "192.0.2.7/32");
  EXPECT_EQ(Cidr::Parse("fd00::/8")->ToString(), "fd00::/8");
}

}  // namespace
}  // namespace aigw
