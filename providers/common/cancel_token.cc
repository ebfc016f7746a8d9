#include "providers/common/cancel_token.h"

#include <utility>

namespace aigw {

void CancelToken::Cancel() {
  Cancel(absl::CancelledError("the client went away"));
}

void CancelToken::Cancel(absl::Status reason) {
  std::function<void()> canceller;
  {
    absl::MutexLock lock(&mu_);
    if (cancelled_) return;
    cancelled_ = true;
    reason_ = std::move(reason);
    canceller = std::move(canceller_);
    canceller_ = nullptr;
    canceller_running_ = canceller != nullptr;
  }
  if (!canceller) return;
  canceller();
  absl::MutexLock lock(&mu_);
  canceller_running_ = false;
}

bool CancelToken::cancelled() const {
  absl::MutexLock lock(&mu_);
  return cancelled_;
}

absl::Status CancelToken::reason() const {
  absl::MutexLock lock(&mu_);
  return reason_;
}

void CancelToken::SetCanceller(std::function<void()> canceller) {
  {
    absl::MutexLock lock(&mu_);
    if (!cancelled_) {
      canceller_ = std::move(canceller);
      return;
    }
  }
  if (canceller) canceller();
}

void CancelToken::ClearCanceller() {
  absl::MutexLock lock(&mu_);
  canceller_ = nullptr;
  // What the canceller touches may be freed once we return.
  auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !canceller_running_;
  };
  mu_.Await(absl::Condition(&idle));
}

bool CancelToken::SleepFor(absl::Duration d) {
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(&cancelled_), d);
  return !cancelled_;
}

}  // namespace aigw
