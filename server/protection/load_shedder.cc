#include "server/protection/load_shedder.h"

#include <malloc.h>

#include <cmath>
#include <utility>

#include "server/protection/system_resources.h"

namespace aigw {
namespace {

LoadShedder::Readers WithDefaults(LoadShedder::Readers readers) {
  if (!readers.open_files) readers.open_files = CountOpenFiles;
  if (!readers.open_file_limit) readers.open_file_limit = OpenFileLimit;
  if (!readers.resident_bytes) readers.resident_bytes = ResidentBytes;
  if (!readers.memory_limit) readers.memory_limit = CgroupMemoryLimit;
  if (!readers.release_memory) readers.release_memory = [] { malloc_trim(0); };
  return readers;
}

// The count at which `ratio` of `limit` is reached; 0 = never.
int64_t Threshold(double ratio, int64_t limit) {
  if (ratio <= 0 || limit <= 0) return 0;
  return std::max<int64_t>(1, static_cast<int64_t>(std::floor(ratio * limit)));
}

}  // namespace

LoadShedder::LoadShedder(const Options& options, Readers readers)
    : readers_(WithDefaults(std::move(readers))), options_(options) {
  Sample();
}

void LoadShedder::SetOptions(const Options& options) {
  absl::MutexLock lock(&mu_);
  options_ = options;
}

void LoadShedder::Sample() {
  absl::MutexLock lock(&mu_);
  Reading reading;
  // The socket count first: sockets opened while the directory is read are
  // then counted twice at worst, never missed.
  int64_t sockets = readers_.live_sockets ? readers_.live_sockets() : 0;
  reading.open_files = readers_.open_files().value_or(-1);
  reading.open_file_limit = readers_.open_file_limit().value_or(-1);
  int64_t fd_threshold =
      reading.open_files < 0
          ? 0
          : Threshold(options_.fd_ratio, reading.open_file_limit);
  sockets_at_sample_.store(sockets, std::memory_order_relaxed);
  sampled_fds_.store(reading.open_files, std::memory_order_relaxed);
  fd_threshold_.store(fd_threshold, std::memory_order_relaxed);

  reading.memory_limit = options_.memory_limit > 0
                             ? options_.memory_limit
                             : readers_.memory_limit().value_or(-1);
  int64_t memory_threshold =
      Threshold(options_.memory_ratio, reading.memory_limit);
  reading.resident_bytes = readers_.resident_bytes().value_or(-1);
  bool over =
      memory_threshold > 0 && reading.resident_bytes >= memory_threshold;
  if (over) {
    readers_.release_memory();
    reading.resident_bytes = readers_.resident_bytes().value_or(-1);
    over = reading.resident_bytes >= memory_threshold;
  }
  memory_over_.store(over, std::memory_order_relaxed);
  last_ = reading;
}

std::optional<LoadShedder::Pressure> LoadShedder::Overloaded() const {
  int64_t threshold = fd_threshold_.load(std::memory_order_relaxed);
  if (threshold > 0) {
    int64_t fds = sampled_fds_.load(std::memory_order_relaxed);
    if (readers_.live_sockets) {
      fds += readers_.live_sockets() -
             sockets_at_sample_.load(std::memory_order_relaxed);
    }
    if (fds >= threshold) return Pressure::kOpenFiles;
  }
  if (memory_over_.load(std::memory_order_relaxed)) return Pressure::kMemory;
  return std::nullopt;
}

LoadShedder::Reading LoadShedder::last() const {
  absl::MutexLock lock(&mu_);
  return last_;
}

absl::string_view PressureName(LoadShedder::Pressure pressure) {
  switch (pressure) {
    case LoadShedder::Pressure::kOpenFiles:
      return "open_files";
    case LoadShedder::Pressure::kMemory:
      return "memory";
  }
  return "unknown";
}

}  // namespace aigw
