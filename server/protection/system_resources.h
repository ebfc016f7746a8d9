// What the kernel lets this process use and what it uses now: descriptors,
// memory and CPUs, including the limits of the cgroup (container) it runs
// in. Readings fail soft (nullopt) where /proc or /sys is not there.
#ifndef AIGW_SERVER_PROTECTION_SYSTEM_RESOURCES_H_
#define AIGW_SERVER_PROTECTION_SYSTEM_RESOURCES_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace aigw {

// The soft RLIMIT_NOFILE; nullopt when unlimited.
std::optional<int64_t> OpenFileLimit();
// Raises the soft RLIMIT_NOFILE to the hard one (many distributions start
// services at 1024 soft) and returns the soft limit in force afterwards.
std::optional<int64_t> RaiseOpenFileLimit();
// Descriptors open now: the entries of /proc/self/fd. Costs a directory
// read (about 1 us per 10 descriptors): for a periodic sampler, not per
// request.
std::optional<int64_t> CountOpenFiles();
// Resident set size from /proc/self/statm.
std::optional<int64_t> ResidentBytes();

// The memory limit of this process's cgroup and its ancestors (v2
// memory.max, v1 memory.limit_in_bytes); nullopt when there is none.
std::optional<int64_t> CgroupMemoryLimit();
// CPUs this process may use: its affinity mask, capped by a cgroup CPU
// quota (v2 cpu.max, v1 cpu.cfs_quota_us; a Kubernetes limits.cpu of 2.5
// is 3). At least 1.
int UsableCpuCount();

// The cgroup readers above, on a given /proc/self/cgroup text and cgroup
// mount (normally "/sys/fs/cgroup"): for tests.
std::optional<int64_t> CgroupMemoryLimitAt(absl::string_view proc_self_cgroup,
                                           const std::string& cgroup_root);
std::optional<int> CgroupCpuLimitAt(absl::string_view proc_self_cgroup,
                                    const std::string& cgroup_root);

}  // namespace aigw

#endif  // AIGW_SERVER_PROTECTION_SYSTEM_RESOURCES_H_
