#include "server/protection/load_shedder.h"

#include "gtest/gtest.h"

namespace aigw {
namespace {

class LoadShedderTest : public ::testing::Test {
 protected:
  LoadShedder::Readers Readers() {
    LoadShedder::Readers readers;
    readers.open_files = [this] { return open_files_; };
    readers.open_file_limit = [this] { return fd_limit_; };
    readers.resident_bytes = [this] { return rss_; };
    readers.memory_limit = [this] { return memory_limit_; };
    readers.release_memory = [this] {
      released_++;
      if (rss_.has_value()) *rss_ -= reclaimable_;
    };
    readers.live_sockets = [this] { return sockets_; };
    return readers;
  }

  std::optional<int64_t> open_files_ = 100;
  std::optional<int64_t> fd_limit_ = 1000;
  std::optional<int64_t> rss_ = 100 << 20;
  std::optional<int64_t> memory_limit_ = 1000 << 20;
  int64_t reclaimable_ = 0;
  int released_ = 0;
  int64_t sockets_ = 0;
};

TEST_F(LoadShedderTest, BelowTheLinesNothingIsShed) {
  LoadShedder shedder({}, Readers());
  EXPECT_FALSE(shedder.Overloaded().has_value());
  EXPECT_EQ(shedder.last().open_files, 100);
  EXPECT_EQ(shedder.last().memory_limit, 1000 << 20);
}

TEST_F(LoadShedderTest, DescriptorsAtTheRatioShed) {
  LoadShedder shedder({/*fd_ratio=*/0.9}, Readers());
  open_files_ = 899;
  shedder.Sample();
  EXPECT_FALSE(shedder.Overloaded().has_value());
  open_files_ = 900;
  shedder.Sample();
  EXPECT_EQ(shedder.Overloaded(), LoadShedder::Pressure::kOpenFiles);
  open_files_ = 850;
  shedder.Sample();
  EXPECT_FALSE(shedder.Overloaded().has_value());
}

TEST_F(LoadShedderTest, SocketsOpenedSinceTheSampleCountAtOnce) {
  sockets_ = 50;
  LoadShedder shedder({0.9}, Readers());
  sockets_ = 849;  // +799 since the sample of 100
  EXPECT_FALSE(shedder.Overloaded().has_value());
  sockets_ = 850;
  EXPECT_EQ(shedder.Overloaded(), LoadShedder::Pressure::kOpenFiles);
  sockets_ = 10;  // they closed
  EXPECT_FALSE(shedder.Overloaded().has_value());
}

TEST_F(LoadShedderTest, UnreadableOrUnlimitedDescriptorsNeverShed) {
  fd_limit_ = std::nullopt;
  LoadShedder shedder({0.9}, Readers());
  EXPECT_FALSE(shedder.Overloaded().has_value());
  fd_limit_ = 100;
  open_files_ = std::nullopt;
  shedder.Sample();
  EXPECT_FALSE(shedder.Overloaded().has_value());
  EXPECT_EQ(shedder.last().open_files, -1);
}

TEST_F(LoadShedderTest, MemoryOverTheRatioOfTheCgroupLimitSheds) {
  rss_ = 950 << 20;
  LoadShedder shedder({}, Readers());
  EXPECT_EQ(shedder.Overloaded(), LoadShedder::Pressure::kMemory);
  EXPECT_EQ(released_, 1);  // tried to give memory back first
  rss_ = 800 << 20;
  shedder.Sample();
  EXPECT_FALSE(shedder.Overloaded().has_value());
}

TEST_F(LoadShedderTest, MemoryTheAllocatorGivesBackEndsTheShedding) {
  rss_ = 950 << 20;
  reclaimable_ = 200 << 20;
  LoadShedder shedder({}, Readers());
  EXPECT_FALSE(shedder.Overloaded().has_value());
  EXPECT_EQ(released_, 1);
  EXPECT_EQ(shedder.last().resident_bytes, 750 << 20);
}

TEST_F(LoadShedderTest, ConfiguredMemoryLimitWinsOverTheCgroup) {
  rss_ = 500 << 20;
  LoadShedder shedder(
      {/*fd_ratio=*/0.9, /*memory_ratio=*/0.9, /*memory_limit=*/512 << 20},
      Readers());
  EXPECT_EQ(shedder.Overloaded(), LoadShedder::Pressure::kMemory);
  EXPECT_EQ(shedder.last().memory_limit, 512 << 20);
}

TEST_F(LoadShedderTest, NoMemoryLimitMeansNoMemoryShedding) {
  memory_limit_ = std::nullopt;
  rss_ = int64_t{64} << 30;
  LoadShedder shedder({}, Readers());
  EXPECT_FALSE(shedder.Overloaded().has_value());
  EXPECT_EQ(released_, 0);
}

TEST_F(LoadShedderTest, ZeroRatiosTurnSheddingOff) {
  open_files_ = 1000;
  rss_ = 1000 << 20;
  LoadShedder shedder({0, 0}, Readers());
  EXPECT_FALSE(shedder.Overloaded().has_value());
}

TEST_F(LoadShedderTest, NewOptionsApplyFromTheNextSample) {
  open_files_ = 600;
  LoadShedder shedder({0.9}, Readers());
  EXPECT_FALSE(shedder.Overloaded().has_value());
  shedder.SetOptions({0.5});
  EXPECT_FALSE(shedder.Overloaded().has_value());
  shedder.Sample();
  EXPECT_EQ(shedder.Overloaded(), LoadShedder::Pressure::kOpenFiles);
  EXPECT_EQ(PressureName(*shedder.Overloaded()), "open_files");
}

TEST(LoadShedder, RealReadersWork) {
  LoadShedder shedder({});
  LoadShedder::Reading reading = shedder.last();
  EXPECT_GT(reading.open_files, 0);
  EXPECT_GT(reading.resident_bytes, 0);
}

}  // namespace
}  // namespace aigw
