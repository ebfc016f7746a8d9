#include "server/observability/process_metrics.h"

#include <fcntl.h>
#include <unistd.h>

#include <map>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace aigw {
namespace {

// Taken while the test binary initializes: just after the process started.
const absl::Time kProgramInitialized = absl::Now();

// The sample values of an exposition without labels, by metric name.
std::map<std::string, double> SampleValues(const std::string& text) {
  std::map<std::string, double> values;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    if (line[0] == '#') continue;
    std::vector<std::string> parts = absl::StrSplit(line, ' ');
    double value;
    EXPECT_EQ(parts.size(), 2u) << line;
    EXPECT_TRUE(absl::SimpleAtod(parts.back(), &value)) << line;
    values[parts.front()] = value;
  }
  return values;
}

std::map<std::string, double> Scrape() {
  std::string out;
  AppendProcessMetrics(&out);
  return SampleValues(out);
}

TEST(ParseProcStat, CommandNameWithSpacesAndParentheses) {
  // Fields 3..24 after the name: utime 14 = 150, stime 15 = 50, threads 20
  // = 7, starttime 22 = 4242, vsize 23 = 8192000, rss 24 = 300.
  const std::string text =
      "4321 (we) ird (name)) S 1 4321 4321 0 -1 4194304 100 0 0 0 150 50 0 0 "
      "20 0 7 0 4242 8192000 300 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 "
      "0 17 3 0 0 0 0 0\n";
  std::optional<ProcStat> stat = ParseProcStat(text);
  ASSERT_TRUE(stat.has_value());
  EXPECT_EQ(stat->utime_ticks, 150u);
  EXPECT_EQ(stat->stime_ticks, 50u);
  EXPECT_EQ(stat->num_threads, 7);
  EXPECT_EQ(stat->start_ticks, 4242u);
  EXPECT_EQ(stat->vsize_bytes, 8192000u);
  EXPECT_EQ(stat->rss_pages, 300);
}

TEST(ParseProcStat, TruncatedOrNamelessIsRejected) {
  EXPECT_FALSE(ParseProcStat("4321 (aigw) S 1 4321 4321 0 -1").has_value());
  EXPECT_FALSE(ParseProcStat("4321 aigw S 1 2 3").has_value());
  EXPECT_FALSE(ParseProcStat("").has_value());
}

TEST(AppendProcessMetrics, EveryFamilyHasHelpTypeAndOneSample) {
  std::string out;
  AppendProcessMetrics(&out);
  for (const char* family :
       {"process_resident_memory_bytes", "process_virtual_memory_bytes",
        "process_open_fds", "process_max_fds", "process_start_time_seconds",
        "process_threads"}) {
    EXPECT_NE(out.find(absl::StrCat("# HELP ", family, " ")), std::string::npos)
        << family;
    EXPECT_NE(out.find(absl::StrCat("# TYPE ", family, " gauge\n")),
              std::string::npos)
        << family;
  }
  EXPECT_NE(out.find("# TYPE process_cpu_seconds_total counter\n"),
            std::string::npos);
  EXPECT_EQ(SampleValues(out).size(), 7u) << out;
}

TEST(AppendProcessMetrics, ValuesDescribeThisProcess) {
  std::map<std::string, double> values = Scrape();
  EXPECT_GT(values["process_resident_memory_bytes"], 0);
  EXPECT_GE(values["process_virtual_memory_bytes"],
            values["process_resident_memory_bytes"]);
  EXPECT_GE(values["process_threads"], 1);
  EXPECT_GE(values["process_cpu_seconds_total"], 0);
  EXPECT_GE(values["process_open_fds"], 3);  // stdin, stdout, stderr
  EXPECT_GE(values["process_max_fds"], values["process_open_fds"]);
}

TEST(AppendProcessMetrics, StartTimeIsWhenThisProcessStarted) {
  double start = Scrape()["process_start_time_seconds"];
  double initialized =
      absl::ToDoubleSeconds(kProgramInitialized - absl::UnixEpoch());
  // btime is whole seconds and the clock may have been stepped since boot.
  EXPECT_GE(start, initialized - 5);
  EXPECT_LE(start, initialized + 1);
}

TEST(AppendProcessMetrics, OpenFdsCountsFilesOpenedSince) {
  double before = Scrape()["process_open_fds"];
  std::vector<int> fds;
  for (int i = 0; i < 5; ++i) {
    fds.push_back(open("/dev/null", O_RDONLY | O_CLOEXEC));
    ASSERT_GE(fds.back(), 0);
  }
  EXPECT_EQ(Scrape()["process_open_fds"], before + 5);
  for (int fd : fds) close(fd);
  EXPECT_EQ(Scrape()["process_open_fds"], before);
}

}  // namespace
}  // namespace aigw
