#include "server/protection/system_resources.h"

#include <dirent.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace aigw {
namespace {

// v1 writes "no limit" as the largest page-aligned int64; anything this
// large is no limit.
constexpr int64_t kUnlimited = int64_t{1} << 62;

std::optional<std::string> ReadFile(const std::string& path) {
  std::ifstream file(path);
  if (!file) return std::nullopt;
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

// The cgroup directories that may hold a limit for this process: its own
// and every ancestor under `mount`, and `mount` itself (inside a container
// the process's path from /proc/self/cgroup may not exist in its view).
std::vector<std::string> CgroupDirs(const std::string& mount,
                                    absl::string_view path) {
  std::vector<std::string> dirs = {mount};
  std::string dir = mount;
  for (absl::string_view part : absl::StrSplit(path, '/', absl::SkipEmpty())) {
    absl::StrAppend(&dir, "/", part);
    dirs.push_back(dir);
  }
  return dirs;
}

// The path of the v2 hierarchy ("0::/path") or of the v1 hierarchy that
// has `controller` ("4:memory:/path", "3:cpu,cpuacct:/path").
struct CgroupPaths {
  std::optional<std::string> v2;
  std::optional<std::string> v1;
};
CgroupPaths FindCgroup(absl::string_view proc_self_cgroup,
                       absl::string_view controller) {
  CgroupPaths paths;
  for (absl::string_view line :
       absl::StrSplit(proc_self_cgroup, '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> fields = absl::StrSplit(line, ':');
    if (fields.size() < 3) continue;
    // A path may itself hold ':'.
    absl::string_view path =
        line.substr(fields[0].size() + fields[1].size() + 2);
    if (fields[0] == "0" && fields[1].empty()) {
      paths.v2 = std::string(path);
      continue;
    }
    for (absl::string_view name : absl::StrSplit(fields[1], ',')) {
      if (name == controller) paths.v1 = std::string(path);
    }
  }
  return paths;
}

std::optional<int64_t> ReadLimit(const std::string& path) {
  std::optional<std::string> text = ReadFile(path);
  if (!text.has_value()) return std::nullopt;
  int64_t value = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(*text), &value) ||
      value <= 0 || value >= kUnlimited) {
    return std::nullopt;  // "max", or no limit
  }
  return value;
}

void KeepSmaller(std::optional<int64_t>& best, std::optional<int64_t> value) {
  if (value.has_value() && (!best.has_value() || *value < *best)) best = value;
}

// v2 cpu.max: "QUOTA PERIOD" or "max PERIOD".
std::optional<double> ReadCpuMax(const std::string& path) {
  std::optional<std::string> text = ReadFile(path);
  if (!text.has_value()) return std::nullopt;
  std::vector<absl::string_view> fields =
      absl::StrSplit(absl::StripAsciiWhitespace(*text), ' ', absl::SkipEmpty());
  int64_t quota = 0;
  int64_t period = 0;
  if (fields.size() != 2 || !absl::SimpleAtoi(fields[0], &quota) ||
      !absl::SimpleAtoi(fields[1], &period) || quota <= 0 || period <= 0) {
    return std::nullopt;
  }
  return static_cast<double>(quota) / period;
}

std::optional<double> ReadCfsQuota(const std::string& dir) {
  std::optional<int64_t> quota = ReadLimit(dir + "/cpu.cfs_quota_us");
  std::optional<int64_t> period = ReadLimit(dir + "/cpu.cfs_period_us");
  if (!quota.has_value() || !period.has_value()) return std::nullopt;
  return static_cast<double>(*quota) / *period;
}

}  // namespace

std::optional<int64_t> OpenFileLimit() {
  rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 ||
      limit.rlim_cur == RLIM_INFINITY) {
    return std::nullopt;
  }
  return static_cast<int64_t>(limit.rlim_cur);
}

std::optional<int64_t> RaiseOpenFileLimit() {
  rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 &&
      limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
  return OpenFileLimit();
}

std::optional<int64_t> CountOpenFiles() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return std::nullopt;
  int64_t count = 0;
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.') count++;
  }
  closedir(dir);
  return count - 1;  // the directory's own descriptor
}

std::optional<int64_t> ResidentBytes() {
  std::optional<std::string> statm = ReadFile("/proc/self/statm");
  if (!statm.has_value()) return std::nullopt;
  std::vector<absl::string_view> fields =
      absl::StrSplit(*statm, ' ', absl::SkipEmpty());
  int64_t pages = 0;
  if (fields.size() < 2 || !absl::SimpleAtoi(fields[1], &pages)) {
    return std::nullopt;
  }
  return pages * sysconf(_SC_PAGESIZE);
}

std::optional<int64_t> CgroupMemoryLimitAt(absl::string_view proc_self_cgroup,
                                           const std::string& cgroup_root) {
  CgroupPaths paths = FindCgroup(proc_self_cgroup, "memory");
  std::optional<int64_t> limit;
  if (paths.v2.has_value()) {
    for (const std::string& dir : CgroupDirs(cgroup_root, *paths.v2)) {
      KeepSmaller(limit, ReadLimit(dir + "/memory.max"));
    }
  }
  if (paths.v1.has_value()) {
    for (const std::string& dir :
         CgroupDirs(cgroup_root + "/memory", *paths.v1)) {
      KeepSmaller(limit, ReadLimit(dir + "/memory.limit_in_bytes"));
    }
  }
  return limit;
}

std::optional<int> CgroupCpuLimitAt(absl::string_view proc_self_cgroup,
                                    const std::string& cgroup_root) {
  CgroupPaths paths = FindCgroup(proc_self_cgroup, "cpu");
  std::optional<double> cpus;
  auto keep = [&cpus](std::optional<double> value) {
    if (value.has_value() && (!cpus.has_value() || *value < *cpus)) {
      cpus = value;
    }
  };
  if (paths.v2.has_value()) {
    for (const std::string& dir : CgroupDirs(cgroup_root, *paths.v2)) {
      keep(ReadCpuMax(dir + "/cpu.max"));
    }
  }
  if (paths.v1.has_value()) {
    // Mounted as cpu, cpu,cpuacct or cpuacct,cpu depending on the system.
    for (const char* mount : {"/cpu", "/cpu,cpuacct", "/cpuacct,cpu"}) {
      for (const std::string& dir :
           CgroupDirs(cgroup_root + mount, *paths.v1)) {
        keep(ReadCfsQuota(dir));
      }
    }
  }
  if (!cpus.has_value()) return std::nullopt;
  return std::max(1, static_cast<int>(std::ceil(*cpus - 1e-9)));
}

std::optional<int64_t> CgroupMemoryLimit() {
  std::optional<std::string> cgroup = ReadFile("/proc/self/cgroup");
  if (!cgroup.has_value()) return std::nullopt;
  return CgroupMemoryLimitAt(*cgroup, "/sys/fs/cgroup");
}

int UsableCpuCount() {
  int cpus = static_cast<int>(std::thread::hardware_concurrency());
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) cpus = CPU_COUNT(&set);
  std::optional<std::string> cgroup = ReadFile("/proc/self/cgroup");
  if (cgroup.has_value()) {
    std::optional<int> quota = CgroupCpuLimitAt(*cgroup, "/sys/fs/cgroup");
    if (quota.has_value()) cpus = std::min(cpus, *quota);
  }
  return std::max(1, cpus);
}

}  // namespace aigw
