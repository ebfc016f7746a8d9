#include "server/protection/client_address.h"

#include <vector>

#include "gtest/gtest.h"

namespace aigw {
namespace {

IpAddress Ip(absl::string_view text) { return *IpAddress::Parse(text); }

class ClientAddressTest : public ::testing::Test {
 protected:
  CidrSet trusted_ = *CidrSet::Parse({"10.0.0.0/8", "fd00::/8"});

  std::string Client(absl::string_view peer,
                     std::vector<absl::string_view> xff) {
    return ClientAddress(Ip(peer), xff, trusted_).ToString();
  }
};

TEST_F(ClientAddressTest, UntrustedPeerIsTheClientWhateverItForwards) {
  EXPECT_EQ(Client("203.0.113.9", {"198.51.100.1"}), "203.0.113.9");
  EXPECT_EQ(Client("203.0.113.9", {}), "203.0.113.9");
}

TEST_F(ClientAddressTest, NoTrustedProxiesMeansThePeer) {
  trusted_ = CidrSet();
  EXPECT_EQ(Client("10.0.0.1", {"198.51.100.1"}), "10.0.0.1");
}

TEST_F(ClientAddressTest, TrustedPeerWithoutHeaderIsItself) {
  EXPECT_EQ(Client("10.0.0.1", {}), "10.0.0.1");
  EXPECT_EQ(Client("10.0.0.1", {""}), "10.0.0.1");
}

TEST_F(ClientAddressTest, RightmostUntrustedHopIsTheClient) {
  // A client can write anything left of what our proxies appended.
  EXPECT_EQ(Client("10.0.0.1", {"1.1.1.1, 198.51.100.7, 10.0.0.2"}),
            "198.51.100.7");
  EXPECT_EQ(Client("10.0.0.1", {"198.51.100.7"}), "198.51.100.7");
}

TEST_F(ClientAddressTest, EveryHopTrustedGivesTheLeftmost) {
  EXPECT_EQ(Client("10.0.0.1", {"10.0.0.3, 10.0.0.2"}), "10.0.0.3");
}

TEST_F(ClientAddressTest, SeveralHeaderLinesAreOneListInOrder) {
  EXPECT_EQ(Client("10.0.0.1", {"198.51.100.7, 10.0.0.5", "10.0.0.4"}),
            "198.51.100.7");
  EXPECT_EQ(Client("10.0.0.1", {"198.51.100.7", "198.51.100.8"}),
            "198.51.100.8");
  EXPECT_EQ(Client("10.0.0.1", {"198.51.100.7", "", "10.0.0.2"}),
            "198.51.100.7");
}

TEST_F(ClientAddressTest, MalformedEntryStopsTheWalkAtTheLastTrustedHop) {
  EXPECT_EQ(Client("10.0.0.1", {"198.51.100.7, unknown, 10.0.0.2"}),
            "10.0.0.2");
  EXPECT_EQ(Client("10.0.0.1", {"198.51.100.7, garbage"}), "10.0.0.1");
  EXPECT_EQ(Client("10.0.0.1", {"198.51.100.7, 1.2.3"}), "10.0.0.1");
}

TEST_F(ClientAddressTest, PortsBracketsSpacesAndEmptyElements) {
  EXPECT_EQ(Client("10.0.0.1", {" 198.51.100.7:5555 ,, 10.0.0.2 "}),
            "198.51.100.7");
  EXPECT_EQ(Client("10.0.0.1", {"[2001:db8::7]:443"}), "2001:db8::7");
  EXPECT_EQ(Client("10.0.0.1", {"[2001:db8::7]"}), "2001:db8::7");
  EXPECT_EQ(Client("10.0.0.1", {"2001:db8::7"}), "2001:db8::7");
  EXPECT_EQ(Client("10.0.0.1", {"\"[2001:db8::7]:80\""}), "2001:db8::7");
}

TEST_F(ClientAddressTest, V6AndMappedPeers) {
  EXPECT_EQ(Client("fd00::1", {"198.51.100.7"}), "198.51.100.7");
  EXPECT_EQ(Client("::ffff:10.0.0.1", {"2001:db8::9"}), "2001:db8::9");
  EXPECT_EQ(Client("10.0.0.1", {"::ffff:10.0.0.9, fd00::2"}), "10.0.0.9");
}

TEST(ParseForwardedFor, Entries) {
  EXPECT_EQ(ParseForwardedFor(" 1.2.3.4 "), IpAddress::Parse("1.2.3.4"));
  EXPECT_EQ(ParseForwardedFor("1.2.3.4:80"), IpAddress::Parse("1.2.3.4"));
  for (absl::string_view bad : {"", "unknown", "_hidden", "[1.2.3.4]", "[::1",
                                "[::1]x", "1.2.3.4:", "fe80::1%eth0", "\""}) {
    EXPECT_FALSE(ParseForwardedFor(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace aigw
