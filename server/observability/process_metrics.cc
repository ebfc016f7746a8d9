#include "server/observability/process_metrics.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "server/observability/prometheus_text.h"

namespace aigw {
namespace {

// The whole of a small /proc file, or nullopt when it cannot be read.
std::optional<std::string> ReadProcFile(const char* path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string text;
  char buffer[4096];
  for (;;) {
    ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      close(fd);
      if (n < 0) return std::nullopt;
      return text;
    }
    text.append(buffer, static_cast<size_t>(n));
  }
}

// The boot time in seconds since the epoch (/proc/stat's btime).
std::optional<int64_t> ReadBootTime() {
  std::optional<std::string> text = ReadProcFile("/proc/stat");
  if (!text) return std::nullopt;
  for (absl::string_view line : absl::StrSplit(*text, '\n')) {
    int64_t seconds;
    if (absl::ConsumePrefix(&line, "btime ") &&
        absl::SimpleAtoi(line, &seconds)) {
      return seconds;
    }
  }
  return std::nullopt;
}

// Entries of /proc/self/fd, less the one the listing itself holds open.
std::optional<int64_t> CountOpenFds() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return std::nullopt;
  const std::string own = absl::StrCat(dirfd(dir));
  int64_t count = 0;
  while (const dirent* entry = readdir(dir)) {
    absl::string_view name = entry->d_name;
    if (name != "." && name != ".." && name != own) ++count;
  }
  closedir(dir);
  return count;
}

void AppendSingleSample(std::string* out, absl::string_view name,
                        absl::string_view type, absl::string_view help,
                        double value) {
  AppendFamilyHeader(out, name, type, help);
  absl::StrAppend(out, name, " ", FormatSampleValue(value), "\n");
}

}  // namespace

std::optional<ProcStat> ParseProcStat(absl::string_view text) {
  size_t close_paren = text.rfind(')');
  if (close_paren == absl::string_view::npos) return std::nullopt;
  // Field 3 (state) is the first after the name; rss, field 24, the last
  // one read.
  std::vector<absl::string_view> fields = absl::StrSplit(
      text.substr(close_paren + 1), absl::ByAnyChar(" \n"), absl::SkipEmpty());
  if (fields.size() < 24 - 2) return std::nullopt;
  auto field = [&fields](size_t number) { return fields[number - 3]; };
  ProcStat stat;
  if (!absl::SimpleAtoi(field(14), &stat.utime_ticks) ||
      !absl::SimpleAtoi(field(15), &stat.stime_ticks) ||
      !absl::SimpleAtoi(field(20), &stat.num_threads) ||
      !absl::SimpleAtoi(field(22), &stat.start_ticks) ||
      !absl::SimpleAtoi(field(23), &stat.vsize_bytes) ||
      !absl::SimpleAtoi(field(24), &stat.rss_pages)) {
    return std::nullopt;
  }
  return stat;
}

void AppendProcessMetrics(std::string* out) {
  // None of these change while the process runs.
  static const int64_t kTicksPerSecond = sysconf(_SC_CLK_TCK);
  static const int64_t kPageSize = sysconf(_SC_PAGESIZE);
  static const std::optional<int64_t> kBootTime = ReadBootTime();

  std::optional<std::string> stat_text = ReadProcFile("/proc/self/stat");
  std::optional<ProcStat> stat =
      stat_text ? ParseProcStat(*stat_text) : std::nullopt;
  if (stat && kTicksPerSecond > 0) {
    AppendSingleSample(
        out, "process_cpu_seconds_total", "counter",
        "Total user and system CPU time spent in seconds.",
        static_cast<double>(stat->utime_ticks + stat->stime_ticks) /
            kTicksPerSecond);
  }
  if (stat && kPageSize > 0) {
    AppendSingleSample(out, "process_resident_memory_bytes", "gauge",
                       "Resident memory size in bytes.",
                       static_cast<double>(stat->rss_pages) * kPageSize);
  }
  if (stat) {
    AppendSingleSample(out, "process_virtual_memory_bytes", "gauge",
                       "Virtual memory size in bytes.",
                       static_cast<double>(stat->vsize_bytes));
  }
  if (std::optional<int64_t> fds = CountOpenFds()) {
    AppendSingleSample(out, "process_open_fds", "gauge",
                       "Number of open file descriptors.", *fds);
  }
  rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 &&
      limit.rlim_cur != RLIM_INFINITY) {
    AppendSingleSample(out, "process_max_fds", "gauge",
                       "Maximum number of open file descriptors.",
                       static_cast<double>(limit.rlim_cur));
  }
  if (stat && kBootTime && kTicksPerSecond > 0) {
    AppendSingleSample(
        out, "process_start_time_seconds", "gauge",
        "Start time of the process since unix epoch in seconds.",
        *kBootTime + static_cast<double>(stat->start_ticks) / kTicksPerSecond);
  }
  if (stat) {
    AppendSingleSample(out, "process_threads", "gauge",
                       "Number of OS threads in the process.",
                       stat->num_threads);
  }
}

}  // namespace aigw
