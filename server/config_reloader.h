// Reloads the config on SIGHUP, on a change of the file on disk, or on
// POST /reload. A new config is parsed and built completely before anything
// changes; if it is invalid the old one keeps serving and the error is
// logged (and returned to /reload). Requests in flight keep the snapshot
// they started with.
#ifndef AIGW_SERVER_CONFIG_RELOADER_H_
#define AIGW_SERVER_CONFIG_RELOADER_H_

#include <sys/stat.h>

#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/gateway.h"
#include "server/listeners.h"

namespace aigw {

class ConfigReloader {
 public:
  // `path` "" means the built-in config (nothing to watch).
  // `state` and `metrics` are what every snapshot is built with.
  ConfigReloader(std::string path, Gateway* gateway, Listeners* listeners,
                 StateRegistry* state, Metrics* metrics);
  ~ConfigReloader();

  absl::Status Reload(absl::string_view trigger);
  // Polls the file every `interval` and reloads when it changed.
  void WatchFile(absl::Duration interval);

 private:
  struct FileStamp {
    int64_t mtime_ns = 0;
    int64_t size = -1;
    ino_t inode = 0;
    bool operator==(const FileStamp& other) const {
      return mtime_ns == other.mtime_ns && size == other.size &&
             inode == other.inode;
    }
  };
  FileStamp Stamp() const;

  const std::string path_;
  Gateway* const gateway_;
  StateRegistry* const state_;
  Metrics* const metrics_;
  Listeners* const listeners_;
  absl::Mutex reload_mu_;  // one reload at a time

  absl::Mutex watch_mu_;
  bool stop_ ABSL_GUARDED_BY(watch_mu_) = false;
  std::thread watcher_;
};

}  // namespace aigw

#endif  // AIGW_SERVER_CONFIG_RELOADER_H_
