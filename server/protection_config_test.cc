#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/config.h"
#include "server/protection/system_resources.h"

namespace aigw {
namespace {

constexpr char kProviders[] = "providers: [{name: e, type: echo}]\n";

absl::StatusOr<GatewayConfig> Parse(const std::string& yaml) {
  return ParseConfig(kProviders + yaml);
}

std::string ErrorOf(const std::string& yaml) {
  absl::StatusOr<GatewayConfig> config = Parse(yaml);
  EXPECT_FALSE(config.ok()) << yaml;
  return config.ok() ? "" : std::string(config.status().message());
}

IpAddress Ip(absl::string_view text) { return *IpAddress::Parse(text); }

TEST(ProtectionConfig, DefaultsAreTheDesignsNumbers) {
  absl::StatusOr<GatewayConfig> config = Parse("");
  ASSERT_TRUE(config.ok()) << config.status();
  const ProtectionConfig& p = config->protection;
  EXPECT_EQ(p.max_connections, 20000);
  EXPECT_EQ(p.max_connections_per_ip, 256);
  EXPECT_EQ(p.max_streams_per_ip, 128);
  EXPECT_EQ(p.requests_per_ip_per_second, 0);
  EXPECT_EQ(p.requests_per_ip_burst, 1);
  EXPECT_EQ(p.head_timeout, absl::Seconds(10));
  EXPECT_EQ(p.body_timeout, absl::Seconds(30));
  EXPECT_EQ(p.idle_timeout, absl::Seconds(60));
  EXPECT_EQ(p.write_timeout, absl::Seconds(30));
  EXPECT_TRUE(p.trusted_proxies.empty());
  EXPECT_EQ(p.shed_fd_ratio, 0.9);
  EXPECT_EQ(p.max_memory, 0);
  EXPECT_EQ(p.shed_memory_ratio, 0.9);
  EXPECT_EQ(config->threads, std::min(UsableCpuCount(), 256));
}

TEST(ProtectionConfig, EveryKeyParses) {
  absl::StatusOr<GatewayConfig> config = Parse(R"(
protection:
  max_connections: 5000
  max_connections_per_ip: 0
  max_streams_per_ip: 16
  requests_per_ip_per_second: 2.5
  requests_per_ip_burst: 20
  head_timeout: 5s
  body_timeout: 1m
  idle_timeout: 90s
  write_timeout: 500ms
  trusted_proxies: ["10.0.0.0/8", "192.0.2.7", "fd00::/8", "::1"]
  shed_fd_ratio: 0.8
  max_memory: 1Gi
  shed_memory_ratio: 0
threads: 4
)");
  ASSERT_TRUE(config.ok()) << config.status();
  const ProtectionConfig& p = config->protection;
  EXPECT_EQ(p.max_connections, 5000);
  EXPECT_EQ(p.max_connections_per_ip, 0);
  EXPECT_EQ(p.max_streams_per_ip, 16);
  EXPECT_EQ(p.requests_per_ip_per_second, 2.5);
  EXPECT_EQ(p.requests_per_ip_burst, 20);
  EXPECT_EQ(p.head_timeout, absl::Seconds(5));
  EXPECT_EQ(p.body_timeout, absl::Minutes(1));
  EXPECT_EQ(p.idle_timeout, absl::Seconds(90));
  EXPECT_EQ(p.write_timeout, absl::Milliseconds(500));
  EXPECT_EQ(p.trusted_proxies.ranges().size(), 4u);
  EXPECT_TRUE(p.trusted_proxies.Contains(Ip("10.2.3.4")));
  EXPECT_TRUE(p.trusted_proxies.Contains(Ip("::ffff:10.2.3.4")));
  EXPECT_TRUE(p.trusted_proxies.Contains(Ip("192.0.2.7")));
  EXPECT_FALSE(p.trusted_proxies.Contains(Ip("192.0.2.8")));
  EXPECT_TRUE(p.trusted_proxies.Contains(Ip("fd12::1")));
  EXPECT_TRUE(p.trusted_proxies.Contains(Ip("::1")));
  EXPECT_EQ(p.shed_fd_ratio, 0.8);
  EXPECT_EQ(p.max_memory, int64_t{1} << 30);
  EXPECT_EQ(p.shed_memory_ratio, 0);
  EXPECT_EQ(config->threads, 4);
}

TEST(ProtectionConfig, BurstDefaultsToTheRateRoundedUpAtLeastOne) {
  EXPECT_EQ(Parse("protection: {requests_per_ip_per_second: 10}")
                ->protection.requests_per_ip_burst,
            10);
  EXPECT_EQ(Parse("protection: {requests_per_ip_per_second: 2.5}")
                ->protection.requests_per_ip_burst,
            3);
  EXPECT_EQ(Parse("protection: {requests_per_ip_per_second: 0.2}")
                ->protection.requests_per_ip_burst,
            1);
}

TEST(ProtectionConfig, MemorySizes) {
  const std::pair<const char*, int64_t> sizes[] = {
      {"512Mi", int64_t{512} << 20},
      {"2Gi", int64_t{2} << 30},
      {"1Ti", int64_t{1} << 40},
      {"500M", 500000000},
      {"2G", 2000000000},
      {"1073741824", int64_t{1} << 30},
      {"0", 0},
      {"65536Ki", int64_t{64} << 20}};
  for (const auto& [text, bytes] : sizes) {
    absl::StatusOr<GatewayConfig> config =
        Parse(absl::StrCat("protection: {max_memory: ", text, "}"));
    ASSERT_TRUE(config.ok()) << text << ": " << config.status();
    EXPECT_EQ(config->protection.max_memory, bytes) << text;
  }
}

TEST(ProtectionConfig, ThreadsAutoOrOneTo256) {
  EXPECT_EQ(Parse("threads: auto")->threads, std::min(UsableCpuCount(), 256));
  EXPECT_EQ(Parse("threads: 1")->threads, 1);
  EXPECT_EQ(Parse("threads: 256")->threads, 256);
  for (const char* bad : {"0", "257", "-1", "two", "1.5"}) {
    EXPECT_NE(ErrorOf(absl::StrCat("threads: ", bad)).find("threads: '"),
              std::string::npos)
        << bad;
  }
  EXPECT_EQ(ErrorOf("threads: 0"), "threads: '0' is not auto or 1 to 256");
  EXPECT_EQ(ErrorOf("threads: [1]"), "threads: expected a single value");
}

TEST(ProtectionConfig, ErrorsNameTheKey) {
  const std::pair<const char*, const char*> cases[] = {
      {"protection: {max_conections: 5}",
       "protection.max_conections: unknown key"},
      {"protection: [1]", "protection: expected a mapping"},
      {"protection: {max_connections: -1}",
       "protection.max_connections: '-1' is not a whole number >= 0 (0 = no "
       "cap)"},
      {"protection: {max_streams_per_ip: lots}",
       "protection.max_streams_per_ip: 'lots' is not a whole number"},
      {"protection: {requests_per_ip_per_second: -2}",
       "protection.requests_per_ip_per_second: '-2' is not a number of "
       "requests per second >= 0 (0 = off)"},
      {"protection: {requests_per_ip_per_second: nan}",
       "protection.requests_per_ip_per_second: 'nan' is not"},
      {"protection: {requests_per_ip_burst: 0}",
       "protection.requests_per_ip_burst: '0' is not a positive whole number"},
      {"protection: {head_timeout: 10}",
       "protection.head_timeout: '10' has no unit: write 10ms or 10s"},
      {"protection: {body_timeout: 0}",
       "protection.body_timeout: must be more than 0"},
      {"protection: {idle_timeout: soon}",
       "protection.idle_timeout: 'soon' is not a duration"},
      {"protection: {write_timeout: -1s}",
       "protection.write_timeout: '-1s' is not a duration"},
      {"protection: {trusted_proxies: 10.0.0.0/8}",
       "protection.trusted_proxies: expected a list"},
      {"protection: {trusted_proxies: [10.0.0.0/8, 10.0.0.1/8]}",
       "protection.trusted_proxies[1]: '10.0.0.1/8' has bits set after its "
       "/8 prefix; the range is 10.0.0.0/8"},
      {"protection: {trusted_proxies: [proxy.internal]}",
       "protection.trusted_proxies[0]: 'proxy.internal' is not an IP address"},
      {"protection: {trusted_proxies: ['10.0.0.0/40']}",
       "protection.trusted_proxies[0]: '10.0.0.0/40': the prefix length "
       "after / must be 0 to 32"},
      {"protection: {shed_fd_ratio: 1.5}",
       "protection.shed_fd_ratio: '1.5' is not a ratio from 0 to 1"},
      {"protection: {shed_memory_ratio: 90%}",
       "protection.shed_memory_ratio: '90%' is not a ratio"},
      {"protection: {max_memory: 512}",
       "protection.max_memory: '512' is only 512 bytes; write a unit"},
      {"protection: {max_memory: 1GB}",
       "protection.max_memory: '1GB' is not a size such as 512Mi"},
      {"protection: {max_memory: -1Gi}",
       "protection.max_memory: '-1Gi' is not a size"},
      {"protection: {max_memory: 99999999999Ti}",
       "protection.max_memory: '99999999999Ti' is not a size"},
  };
  for (const auto& [yaml, error] : cases) {
    std::string message = ErrorOf(yaml);
    EXPECT_NE(message.find(error), std::string::npos)
        << yaml << "\n  got: " << message;
  }
}

TEST(ProtectionConfig, EnvironmentVariablesExpand) {
  setenv("AIGW_TEST_TRUSTED", "10.1.0.0/16", 1);
  absl::StatusOr<GatewayConfig> config = Parse(
      "protection: {trusted_proxies: [\"${AIGW_TEST_TRUSTED}\"], "
      "max_connections: \"${AIGW_TEST_UNSET_MAX:-100}\"}");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_TRUE(config->protection.trusted_proxies.Contains(Ip("10.1.2.3")));
  EXPECT_EQ(config->protection.max_connections, 100);
}

}  // namespace
}  // namespace aigw
