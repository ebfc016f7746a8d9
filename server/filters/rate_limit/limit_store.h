// Where limiter counters live: in this process (LocalLimitStore) or in
// Redis, shared by every replica (RedisLimitStore). Both keep the same
// windows, so a config moves from one to the other without a change of
// meaning.
//
// A window is sliding, counted in kBucketsPerWindow sub-window buckets: a
// 1-minute window forgets its usage 5 s at a time, never all at once at a
// minute's edge. A request reserves its estimated cost in the current
// bucket of every window it draws on, all or nothing; when it ends it
// settles the difference to its real cost in the same bucket.
#ifndef AIGW_SERVER_FILTERS_RATE_LIMIT_LIMIT_STORE_H_
#define AIGW_SERVER_FILTERS_RATE_LIMIT_LIMIT_STORE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace aigw {

constexpr int64_t kBucketsPerWindow = 12;

// One sliding-window counter a reservation draws on.
struct WindowLimit {
  std::string key;        // e.g. "team-a:tokens:60000"; the store may prefix it
  int64_t limit = 0;      // > 0
  int64_t window_ms = 0;  // a multiple of kBucketsPerWindow
  int64_t amount = 0;     // what this request reserves (may be 0)
};

// Requests in flight, counted as leases that expire by themselves (a
// replica that dies does not hold its slots forever).
struct ConcurrencyLimit {
  std::string key;
  int64_t limit = 0;
  std::string lease_id;  // unique per request
  int64_t lease_ms = 0;
};

struct ReserveRequest {
  std::vector<WindowLimit> windows;
  std::optional<ConcurrencyLimit> concurrency;
};

// A window as the response headers show it, after the reservation (before
// it, when it was denied).
struct WindowState {
  int64_t limit = 0;
  int64_t remaining = 0;  // never below 0
  // Until the window holds no usage at all (OpenAI's x-ratelimit-reset-*).
  int64_t reset_ms = 0;
};

struct ReserveResult {
  bool allowed = false;
  // When denied: the index of the window that did not fit, or
  // windows.size() for the concurrency limit.
  int denied = -1;
  // When denied: until enough usage leaves the window for this request to
  // fit (for concurrency: 1 s, a guess). A request larger than the whole
  // limit can never fit: `too_large` is set and retry_after_ms is the
  // window.
  int64_t retry_after_ms = 0;
  bool too_large = false;
  std::vector<WindowState> windows;  // one per requested window, in order
  int64_t now_ms = 0;  // the store's clock at the reservation; Settle needs it
};

struct WindowAdjustment {
  std::string key;
  int64_t window_ms = 0;
  int64_t delta = 0;  // real cost minus reserved (negative frees budget)
};

struct SettleRequest {
  // Each delta goes to the bucket the reservation used (ReserveResult's
  // now_ms); if that bucket has left the window, a positive delta goes to
  // the current bucket and a negative one is dropped. No counter goes
  // below zero.
  std::vector<WindowAdjustment> adjustments;
  int64_t reserved_at_ms = 0;
  // The lease to release, if the reservation took one.
  std::optional<ConcurrencyLimit> release;
};

class LimitStore {
 public:
  virtual ~LimitStore() = default;
  // Atomic: either every window takes its amount (and the lease is taken)
  // or nothing changes. A running stream grows its reservation with a
  // Reserve that takes no lease.
  virtual absl::StatusOr<ReserveResult> Reserve(
      const ReserveRequest& request) = 0;
  virtual absl::Status Settle(const SettleRequest& request) = 0;
  // Pushes a lease's expiry `lease_ms` past now (long streams).
  virtual absl::Status RenewLease(const ConcurrencyLimit& lease) = 0;
};

}  // namespace aigw

#endif  // AIGW_SERVER_FILTERS_RATE_LIMIT_LIMIT_STORE_H_
