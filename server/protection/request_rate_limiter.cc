#include "server/protection/request_rate_limiter.h"

#include <algorithm>
#include <cmath>

#include "absl/hash/hash.h"

namespace aigw {
namespace {

constexpr int64_t kNanosPerSecond = 1000000000;
static_assert(sizeof(size_t) == 8, "shards are the hash's top 5 bits");

// How often a shard is swept at most: the time a bucket takes to refill
// (a bucket used since the last sweep cannot be full before that), and
// never more than once a second.
int64_t SweepGapNs(double rate, double burst) {
  double refill_ns = burst / rate * kNanosPerSecond;
  return std::max<int64_t>(kNanosPerSecond,
                           static_cast<int64_t>(std::min(refill_ns, 1e15)));
}

}  // namespace

double RequestRateLimiter::DefaultBurst(double rate) {
  return std::max(1.0, std::ceil(rate));
}

RequestRateLimiter::RequestRateLimiter(const Options& options) {
  SetOptions(options);
}

void RequestRateLimiter::SetOptions(const Options& options) {
  double rate = std::max(0.0, options.rate);
  double burst =
      options.burst > 0 ? std::max(1.0, options.burst) : DefaultBurst(rate);
  size_t max_clients = std::max<size_t>(options.max_clients, kShards);
  rate_.store(rate, std::memory_order_relaxed);
  burst_.store(burst, std::memory_order_relaxed);
  max_per_shard_.store((max_clients + kShards - 1) / kShards,
                       std::memory_order_relaxed);
  if (rate > 0) return;
  for (Shard& shard : shards_) {
    absl::MutexLock lock(&shard.mu);
    shard.buckets.clear();
  }
  absl::MutexLock lock(&overflow_mu_);
  overflow_used_ = false;
}

RequestRateLimiter::Decision RequestRateLimiter::Take(Bucket& bucket,
                                                      int64_t now_ns,
                                                      double rate,
                                                      double burst) {
  int64_t elapsed_ns = std::max<int64_t>(0, now_ns - bucket.updated_ns);
  bucket.tokens =
      std::min(burst, bucket.tokens + static_cast<double>(elapsed_ns) /
                                          kNanosPerSecond * rate);
  bucket.updated_ns = std::max(bucket.updated_ns, now_ns);
  if (bucket.tokens >= 1) {
    bucket.tokens -= 1;
    return {};
  }
  double wait_seconds = (1 - bucket.tokens) / rate;
  return {false, absl::Nanoseconds(std::ceil(wait_seconds * kNanosPerSecond))};
}

void RequestRateLimiter::Sweep(Shard& shard, int64_t now_ns, double rate,
                               double burst) {
  shard.swept_ns = now_ns;
  absl::erase_if(shard.buckets, [&](const auto& entry) {
    const Bucket& bucket = entry.second;
    double elapsed_s =
        static_cast<double>(now_ns - bucket.updated_ns) / kNanosPerSecond;
    return bucket.tokens + elapsed_s * rate >= burst;
  });
}

RequestRateLimiter::Decision RequestRateLimiter::Admit(const IpAddress& client,
                                                       absl::Time now) {
  double rate = rate_.load(std::memory_order_relaxed);
  if (rate <= 0) return {};
  double burst = burst_.load(std::memory_order_relaxed);
  int64_t now_ns = absl::ToUnixNanos(now);
  IpAddress key = client.ClientKey();
  Shard& shard = shards_[absl::HashOf(key) >> 59];
  {
    absl::MutexLock lock(&shard.mu);
    if (now_ns - shard.swept_ns >= SweepGapNs(rate, burst)) {
      Sweep(shard, now_ns, rate, burst);
    }
    auto it = shard.buckets.find(key);
    if (it != shard.buckets.end()) {
      return Take(it->second, now_ns, rate, burst);
    }
    if (shard.buckets.size() < max_per_shard_.load(std::memory_order_relaxed)) {
      Bucket& bucket = shard.buckets[key];
      bucket.tokens = burst;
      bucket.updated_ns = now_ns;
      return Take(bucket, now_ns, rate, burst);
    }
  }
  absl::MutexLock lock(&overflow_mu_);
  if (!overflow_used_) {
    overflow_used_ = true;
    overflow_ = {burst, now_ns};
  }
  return Take(overflow_, now_ns, rate, burst);
}

size_t RequestRateLimiter::tracked_clients() const {
  size_t total = 0;
  for (const Shard& shard : shards_) {
    absl::MutexLock lock(&shard.mu);
    total += shard.buckets.size();
  }
  return total;
}

}  // namespace aigw
