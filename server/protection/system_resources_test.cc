#include "server/protection/system_resources.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"

namespace aigw {
namespace {

class CgroupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    root_ = std::string(tmp != nullptr ? tmp : "/tmp") + "/cgroup_test";
    std::filesystem::remove_all(root_);
  }
  void Write(const std::string& path, const std::string& text) {
    std::filesystem::path full = root_ + path;
    std::filesystem::create_directories(full.parent_path());
    std::ofstream(full) << text;
  }
  std::string root_;
};

TEST_F(CgroupTest, V2MemoryMaxOfTheProcessOrAnAncestor) {
  Write("/kubepods/pod1/c1/memory.max", "max\n");
  Write("/kubepods/pod1/memory.max", "536870912\n");
  Write("/kubepods/memory.max", "max\n");
  EXPECT_EQ(CgroupMemoryLimitAt("0::/kubepods/pod1/c1\n", root_), 536870912);
}

TEST_F(CgroupTest, V2InsideAContainerNamespaceReadsTheMountRoot) {
  Write("/memory.max", "1073741824\n");
  EXPECT_EQ(CgroupMemoryLimitAt("0::/\n", root_), 1073741824);
  // A path from the host's view that the container cannot see.
  EXPECT_EQ(CgroupMemoryLimitAt("0::/system.slice/docker-1.scope\n", root_),
            1073741824);
}

TEST_F(CgroupTest, NoLimitIsNullopt) {
  Write("/user.slice/memory.max", "max\n");
  EXPECT_FALSE(CgroupMemoryLimitAt("0::/user.slice\n", root_).has_value());
  EXPECT_FALSE(CgroupMemoryLimitAt("", root_).has_value());
}

TEST_F(CgroupTest, V1MemoryLimitInBytes) {
  Write("/memory/docker/abc/memory.limit_in_bytes", "268435456\n");
  Write("/memory/memory.limit_in_bytes", "9223372036854771712\n");
  EXPECT_EQ(CgroupMemoryLimitAt("12:cpuset:/docker/abc\n"
                                "4:memory:/docker/abc\n"
                                "3:cpu,cpuacct:/docker/abc\n",
                                root_),
            268435456);
}

TEST_F(CgroupTest, CpuQuotaRoundsUp) {
  Write("/pod/cpu.max", "250000 100000\n");
  EXPECT_EQ(CgroupCpuLimitAt("0::/pod\n", root_), 3);
  Write("/small/cpu.max", "10000 100000\n");
  EXPECT_EQ(CgroupCpuLimitAt("0::/small\n", root_), 1);
  Write("/none/cpu.max", "max 100000\n");
  EXPECT_FALSE(CgroupCpuLimitAt("0::/none\n", root_).has_value());
}

TEST_F(CgroupTest, V1CfsQuota) {
  Write("/cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "200000\n");
  Write("/cpu,cpuacct/docker/abc/cpu.cfs_period_us", "100000\n");
  Write("/cpu,cpuacct/cpu.cfs_quota_us", "-1\n");
  Write("/cpu,cpuacct/cpu.cfs_period_us", "100000\n");
  EXPECT_EQ(CgroupCpuLimitAt("3:cpu,cpuacct:/docker/abc\n", root_), 2);
}

TEST(SystemResources, ReadsThisProcess) {
  std::optional<int64_t> before = CountOpenFiles();
  ASSERT_TRUE(before.has_value());
  int fd = open("/dev/null", O_RDONLY);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(CountOpenFiles(), *before + 1);
  close(fd);
  std::optional<int64_t> rss = ResidentBytes();
  ASSERT_TRUE(rss.has_value());
  EXPECT_GT(*rss, 0);
  EXPECT_GE(UsableCpuCount(), 1);
  std::optional<int64_t> limit = RaiseOpenFileLimit();
  if (limit.has_value()) EXPECT_GE(*limit, *before);
}

}  // namespace
}  // namespace aigw
