#include "server/protection/protection_state.h"

#include "gtest/gtest.h"

namespace aigw {
namespace {

IpAddress Ip(absl::string_view text) { return *IpAddress::Parse(text); }

class ProtectionStateTest : public ::testing::Test {
 protected:
  LoadShedder::Readers Readers() {
    LoadShedder::Readers readers;
    readers.open_files = [this] { return open_files_; };
    readers.open_file_limit = [] { return std::optional<int64_t>(100); };
    readers.resident_bytes = [] { return std::optional<int64_t>(1 << 20); };
    readers.memory_limit = [] { return std::optional<int64_t>(); };
    return readers;
  }
  std::optional<int64_t> open_files_ = 10;
};

TEST_F(ProtectionStateTest, BuiltFromTheConfigAndRetunedByApply) {
  ProtectionConfig config;
  config.max_connections_per_ip = 1;
  config.requests_per_ip_per_second = 1;
  config.requests_per_ip_burst = 1;
  ProtectionState state(config, Readers());
  IpAddress a = Ip("198.51.100.1");
  absl::Time now = absl::FromUnixSeconds(1700000000);
  EXPECT_TRUE(state.clients().TryOpenConnection(a));
  EXPECT_FALSE(state.clients().TryOpenConnection(a));
  EXPECT_TRUE(state.request_rate().Admit(a, now));
  EXPECT_FALSE(state.request_rate().Admit(a, now));

  config.max_connections_per_ip = 2;
  config.requests_per_ip_per_second = 0;
  state.Apply(config);
  EXPECT_TRUE(state.clients().TryOpenConnection(a));
  EXPECT_EQ(state.clients().ConnectionsOf(a), 2);  // kept across Apply
  EXPECT_TRUE(state.request_rate().Admit(a, now));
}

TEST_F(ProtectionStateTest, OpenConnectionsCountTowardDescriptorsAtOnce) {
  ProtectionConfig config;
  config.max_connections_per_ip = 0;
  ProtectionState state(config, Readers());  // 10 of 100 open: sheds at 90
  EXPECT_FALSE(state.load().Overloaded().has_value());
  for (int i = 0; i < 80; ++i) state.clients().TryOpenConnection(Ip("::1"));
  EXPECT_EQ(state.load().Overloaded(), LoadShedder::Pressure::kOpenFiles);
  open_files_ = 50;  // a sample after some closed elsewhere
  state.Tick(absl::Now());
  EXPECT_FALSE(state.load().Overloaded().has_value());
}

}  // namespace
}  // namespace aigw
