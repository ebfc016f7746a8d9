// Notices REST clients that hang up while their request waits on a slow
// upstream, and runs a callback (cancelling the upstream call). cpp-httplib
// does not hand the connection's socket to handlers, so the watcher finds
// it by its addresses, and only for requests still waiting after a grace
// period: the fast path pays one map insert and erase.
#ifndef AIGW_SERVER_CLIENT_WATCH_H_
#define AIGW_SERVER_CLIENT_WATCH_H_

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

class ClientWatch {
 public:
  ClientWatch();
  ~ClientWatch();

  class Registration {
   public:
    Registration(ClientWatch* watch, uint64_t id) : watch_(watch), id_(id) {}
    ~Registration() { watch_->Unwatch(id_); }

   private:
    ClientWatch* const watch_;
    const uint64_t id_;
  };

  // Calls `on_gone` (once, from the watcher thread) if the client of `req`
  // closes its connection while the registration lives.
  std::unique_ptr<Registration> Watch(const httplib::Request& req,
                                      std::function<void()> on_gone);

 private:
  struct Entry {
    std::string remote_addr;
    int remote_port = -1;
    int local_port = -1;
    absl::Time since;
    int fd = -1;  // found lazily
    bool searched = false;
    std::function<void()> on_gone;
  };

  void Unwatch(uint64_t id);
  void Loop();

  absl::Mutex mu_;
  std::map<uint64_t, Entry> entries_ ABSL_GUARDED_BY(mu_);
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace aigw

#endif  // AIGW_SERVER_CLIENT_WATCH_H_
