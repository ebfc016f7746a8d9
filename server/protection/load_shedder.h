// Refuses new work before the process runs out of descriptors or memory:
// a sampler the server ticks (about once a second) reads the open
// descriptors against RLIMIT_NOFILE and the resident memory against the
// memory limit, and Overloaded() (called per accept and per request) only
// reads atomics. Between samples the change in the server's own socket
// count is added to the sampled descriptors, so a burst of accepts is seen
// at once rather than a second later.
#ifndef AIGW_SERVER_PROTECTION_LOAD_SHEDDER_H_
#define AIGW_SERVER_PROTECTION_LOAD_SHEDDER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace aigw {

class LoadShedder {
 public:
  struct Options {
    double fd_ratio = 0.9;      // of RLIMIT_NOFILE; 0 = never shed for it
    double memory_ratio = 0.9;  // of the memory limit; 0 = never
    // Bytes; 0 = the cgroup's limit, and no shedding for memory when there
    // is none.
    int64_t memory_limit = 0;
  };
  // Each null reader is the real one from system_resources.h.
  struct Readers {
    std::function<std::optional<int64_t>()> open_files;       // CountOpenFiles
    std::function<std::optional<int64_t>()> open_file_limit;  // OpenFileLimit
    std::function<std::optional<int64_t>()> resident_bytes;   // ResidentBytes
    std::function<std::optional<int64_t>()> memory_limit;  // CgroupMemoryLimit
    // Called when a sample finds memory over the line, before it reads
    // again: freed heap the allocator kept would otherwise keep the
    // resident size (and the shedding) up for good. malloc_trim(0).
    std::function<void()> release_memory;
    // The sockets the server holds now (e.g. IpTable::connections); null:
    // descriptors change only when sampled. Called per Overloaded().
    std::function<int64_t()> live_sockets;
  };
  enum class Pressure { kOpenFiles, kMemory };
  // The last sample; -1 where a reading failed or there is no limit.
  struct Reading {
    int64_t open_files = -1;
    int64_t open_file_limit = -1;
    int64_t resident_bytes = -1;
    int64_t memory_limit = -1;
  };

  // Samples once, so Overloaded() is meaningful from the start.
  explicit LoadShedder(const Options& options, Readers readers = {});
  LoadShedder(const LoadShedder&) = delete;
  LoadShedder& operator=(const LoadShedder&) = delete;

  // A config reload; applies from the next Sample().
  void SetOptions(const Options& options);
  void Sample();

  // Why new work should be refused now, if it should.
  std::optional<Pressure> Overloaded() const;
  Reading last() const;

 private:
  const Readers readers_;
  mutable absl::Mutex mu_;
  Options options_ ABSL_GUARDED_BY(mu_);
  Reading last_ ABSL_GUARDED_BY(mu_);
  // Read lock-free by Overloaded().
  std::atomic<int64_t> fd_threshold_{0};  // 0 = off
  std::atomic<int64_t> sampled_fds_{0};
  std::atomic<int64_t> sockets_at_sample_{0};
  std::atomic<bool> memory_over_{false};
};

// "open_files" or "memory", for logs.
absl::string_view PressureName(LoadShedder::Pressure pressure);

}  // namespace aigw

#endif  // AIGW_SERVER_PROTECTION_LOAD_SHEDDER_H_
