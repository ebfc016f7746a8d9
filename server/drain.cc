#include "server/drain.h"

#include <utility>
#include <vector>

#include "providers/common/api_error.h"

namespace aigw {

absl::Status ServerShutdownError() {
  ApiErrorSpec spec;
  spec.code = absl::StatusCode::kUnavailable;
  spec.http_status = 503;
  spec.type = "server_error";
  spec.error_code = "server_shutdown";
  spec.message =
      "The gateway is shutting down and its grace period is over; retry the "
      "request.";
  return MakeApiError(spec);
}

bool EndedByShutdown(const CancelToken& cancel) {
  return cancel.cancelled() &&
         GetErrorDetails(cancel.reason()).code == "server_shutdown";
}

std::unique_ptr<Drain::Registration> Drain::Track(
    std::shared_ptr<CancelToken> cancel) {
  uint64_t id = 0;
  bool ended = false;
  {
    absl::MutexLock lock(&mu_);
    id = next_id_++;
    ended = ended_;
    tracked_.emplace(id, cancel);
  }
  // A request that arrives after the end is ended at once.
  if (ended) cancel->Cancel(ServerShutdownError());
  return std::make_unique<Registration>(this, id);
}

void Drain::EndAll() {
  std::vector<std::shared_ptr<CancelToken>> running;
  {
    absl::MutexLock lock(&mu_);
    ended_ = true;
    for (const auto& [id, cancel] : tracked_) running.push_back(cancel);
  }
  // Outside the lock: a canceller may close sockets or wait on its own lock.
  for (const auto& cancel : running) cancel->Cancel(ServerShutdownError());
}

int Drain::active() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(tracked_.size());
}

void Drain::Remove(uint64_t id) {
  absl::MutexLock lock(&mu_);
  tracked_.erase(id);
}

}  // namespace aigw
