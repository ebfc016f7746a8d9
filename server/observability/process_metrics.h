// The standard process_* metric families of the Prometheus client
// guidelines (CPU, memory, descriptors, threads, start time), read from
// /proc at scrape time.
#ifndef AIGW_SERVER_OBSERVABILITY_PROCESS_METRICS_H_
#define AIGW_SERVER_OBSERVABILITY_PROCESS_METRICS_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace aigw {

// The fields of /proc/self/stat the process families need, raw units.
struct ProcStat {
  uint64_t utime_ticks = 0;
  uint64_t stime_ticks = 0;
  int64_t num_threads = 0;
  uint64_t start_ticks = 0;  // after boot
  uint64_t vsize_bytes = 0;
  int64_t rss_pages = 0;
};

// Parses the text of /proc/<pid>/stat; nullopt when it is malformed. The
// command name may hold spaces and parentheses: fields count from the
// last ')'.
std::optional<ProcStat> ParseProcStat(absl::string_view text);

// Appends HELP, TYPE and value of process_cpu_seconds_total,
// process_resident_memory_bytes, process_virtual_memory_bytes,
// process_open_fds, process_max_fds, process_start_time_seconds and
// process_threads; a family whose source is missing (no /proc) is left out.
void AppendProcessMetrics(std::string* out);

}  // namespace aigw

#endif  // AIGW_SERVER_OBSERVABILITY_PROCESS_METRICS_H_
