// Notices clients that leave while their request waits on an upstream, and
// runs a callback (cancelling the upstream call). One thread polls every
// watched request a few times a second, so a request blocked in an upstream
// read is still cancelled within a second of its client leaving.
//
// REST: cpp-httplib does not hand handlers their connection's socket, so the
// watcher finds it by its addresses, once, and only for requests still
// running after a grace period: the fast path pays one map insert and erase.
// gRPC: the ServerContext says whether the call was cancelled.
#ifndef AIGW_SERVER_DISCONNECT_WATCH_H_
#define AIGW_SERVER_DISCONNECT_WATCH_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "httplib.h"

namespace aigw {

class DisconnectWatch {
 public:
  DisconnectWatch();
  ~DisconnectWatch();

  // Watching stops when the registration is destroyed.
  class Registration {
   public:
    Registration(DisconnectWatch* watch, uint64_t id)
        : watch_(watch), id_(id) {}
    ~Registration() { watch_->Unwatch(id_); }

   private:
    DisconnectWatch* const watch_;
    const uint64_t id_;
  };

  // Calls `on_gone` once, from the watcher thread, if the client of `req`
  // closes its connection. Keep the registration shorter than the handler
  // that owns the connection.
  std::unique_ptr<Registration> WatchHttp(const httplib::Request& req,
                                          std::function<void()> on_gone);
  // Calls `on_gone` once when `is_gone` (polled under the watcher's lock,
  // so it must be quick) returns true.
  std::unique_ptr<Registration> WatchProbe(std::function<bool()> is_gone,
                                           std::function<void()> on_gone);

 private:
  struct Entry {
    absl::Time since;
    std::function<void()> on_gone;
    std::function<bool()> is_gone;  // probe entries
    // HTTP entries: the connection's addresses, and its socket once found.
    std::string remote_addr;
    int remote_port = -1;
    int local_port = -1;
    int fd = -1;
    bool searched = false;
  };

  std::unique_ptr<Registration> Add(Entry entry);
  void Unwatch(uint64_t id);
  void Loop();
  void FindSockets(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  std::map<uint64_t, Entry> entries_ ABSL_GUARDED_BY(mu_);
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace aigw

#endif  // AIGW_SERVER_DISCONNECT_WATCH_H_
