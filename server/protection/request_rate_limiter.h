// protection.requests_per_ip_per_second: a token bucket per client
// (IpAddress::ClientKey(), so an IPv6 client by its /64) refilled at `rate`
// per second up to `burst`. Memory is bounded: a bucket that has refilled
// completely is the same as no bucket and is swept away, and at most
// `max_clients` are tracked. When that many clients are all mid-burst
// (a flood from many addresses), clients not yet tracked share one
// overflow bucket of the same rate and burst: the flood is limited as a
// whole, and clients already tracked keep their own budget.
#ifndef AIGW_SERVER_PROTECTION_REQUEST_RATE_LIMITER_H_
#define AIGW_SERVER_PROTECTION_REQUEST_RATE_LIMITER_H_

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/protection/ip_address.h"

namespace aigw {

class RequestRateLimiter {
 public:
  struct Options {
    double rate = 0;   // requests per second per client; 0 = off
    double burst = 0;  // bucket size; 0 = DefaultBurst(rate)
    size_t max_clients = 100000;
  };
  struct Decision {
    bool ok = true;
    absl::Duration retry_after;  // when !ok: until one request is allowed
    explicit operator bool() const { return ok; }
  };

  // The rate rounded up, at least 1 (one request is always a burst).
  static double DefaultBurst(double rate);

  RequestRateLimiter() : RequestRateLimiter(Options{}) {}
  explicit RequestRateLimiter(const Options& options);
  RequestRateLimiter(const RequestRateLimiter&) = delete;
  RequestRateLimiter& operator=(const RequestRateLimiter&) = delete;

  // A config reload: buckets keep their tokens (capped at the new burst);
  // turning the limit off forgets every client.
  void SetOptions(const Options& options);
  bool enabled() const { return rate_.load(std::memory_order_relaxed) > 0; }

  // Takes one token from `client`'s bucket. Always ok while off.
  Decision Admit(const IpAddress& client, absl::Time now);

  size_t tracked_clients() const;

 private:
  struct Bucket {
    double tokens = 0;
    int64_t updated_ns = 0;
  };
  struct Shard {
    mutable absl::Mutex mu;
    absl::flat_hash_map<IpAddress, Bucket> buckets ABSL_GUARDED_BY(mu);
    int64_t swept_ns ABSL_GUARDED_BY(mu) = 0;
  };
  static constexpr size_t kShards = 32;

  // Takes a token from `bucket`, refilled up to `now_ns` first.
  static Decision Take(Bucket& bucket, int64_t now_ns, double rate,
                       double burst);
  // Drops the buckets that are full at `now_ns`.
  static void Sweep(Shard& shard, int64_t now_ns, double rate, double burst)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard.mu);

  std::atomic<double> rate_{0};
  std::atomic<double> burst_{1};
  std::atomic<size_t> max_per_shard_{1};
  std::array<Shard, kShards> shards_;
  absl::Mutex overflow_mu_;
  Bucket overflow_ ABSL_GUARDED_BY(overflow_mu_);
  bool overflow_used_ ABSL_GUARDED_BY(overflow_mu_) = false;
};

}  // namespace aigw

#endif  // AIGW_SERVER_PROTECTION_REQUEST_RATE_LIMITER_H_
