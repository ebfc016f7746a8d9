// The in-process limit store (limits.store: local): one replica's budget,
// kept across config reloads by the state registry.
#ifndef AIGW_SERVER_FILTERS_RATE_LIMIT_LOCAL_STORE_H_
#define AIGW_SERVER_FILTERS_RATE_LIMIT_LOCAL_STORE_H_

#include <array>
#include <cstdint>
#include <functional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "server/filters/rate_limit/limit_store.h"

namespace aigw {

class LocalLimitStore : public LimitStore {
 public:
  using Clock = std::function<int64_t()>;  // Unix milliseconds
  LocalLimitStore();
  explicit LocalLimitStore(Clock clock);

  absl::StatusOr<ReserveResult> Reserve(const ReserveRequest& request) override;
  absl::Status Settle(const SettleRequest& request) override;
  absl::Status RenewLease(const ConcurrencyLimit& lease) override;

 private:
  struct Bucket {
    int64_t index = -1;  // now_ms / bucket width; -1: never used
    int64_t amount = 0;
  };
  // A ring of buckets: slot index % kBucketsPerWindow.
  struct Window {
    int64_t window_ms = 0;
    std::array<Bucket, kBucketsPerWindow> buckets;
  };

  Window& WindowFor(const std::string& key, int64_t window_ms)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  int64_t LiveLeases(const std::string& key, int64_t now_ms)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Clock clock_;
  absl::Mutex mu_;
  // Nodes: a reservation holds pointers to several windows while it
  // inserts others.
  absl::node_hash_map<std::string, Window> windows_ ABSL_GUARDED_BY(mu_);
  // key -> lease id -> expiry (Unix ms)
  absl::flat_hash_map<std::string, absl::flat_hash_map<std::string, int64_t>>
      leases_ ABSL_GUARDED_BY(mu_);
};

}  // namespace aigw

#endif  // AIGW_SERVER_FILTERS_RATE_LIMIT_LOCAL_STORE_H_
