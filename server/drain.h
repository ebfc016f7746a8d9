// What a SIGTERM waits for: every request and stream the front doors are
// serving registers here with its cancel token. When the shutdown grace
// runs out, EndAll() cancels the ones still running with a server_shutdown
// reason, so each front door can end them with an error its client sees
// (an SSE error event, a gRPC UNAVAILABLE status) instead of a cut.
#ifndef AIGW_SERVER_DRAIN_H_
#define AIGW_SERVER_DRAIN_H_

#include <cstdint>
#include <map>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "providers/common/cancel_token.h"

namespace aigw {

class Drain {
 public:
  // Unregisters when destroyed: keep it until the response is written.
  class Registration {
   public:
    Registration(Drain* drain, uint64_t id) : drain_(drain), id_(id) {}
    ~Registration() { drain_->Remove(id_); }

   private:
    Drain* const drain_;
    const uint64_t id_;
  };

  std::unique_ptr<Registration> Track(std::shared_ptr<CancelToken> cancel);
  // Cancels every tracked request with ServerShutdownError(), and every one
  // tracked from now on.
  void EndAll();
  int active() const;

 private:
  void Remove(uint64_t id);

  mutable absl::Mutex mu_;
  std::map<uint64_t, std::shared_ptr<CancelToken>> tracked_
      ABSL_GUARDED_BY(mu_);
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
};

// 503 `server_shutdown` (gRPC UNAVAILABLE): the grace period ran out.
absl::Status ServerShutdownError();
// True when `cancel` was cancelled by Drain::EndAll() (and not first by the
// client leaving): the client is still there and should get the error.
bool EndedByShutdown(const CancelToken& cancel);

}  // namespace aigw

#endif  // AIGW_SERVER_DRAIN_H_
