#include "server/filters/rate_limit/local_store.h"

#include <algorithm>

#include "absl/container/inlined_vector.h"
#include "absl/time/clock.h"

namespace aigw {
namespace {

int64_t SystemMillis() { return absl::ToUnixMillis(absl::Now()); }

}  // namespace

LocalLimitStore::LocalLimitStore() : LocalLimitStore(SystemMillis) {}

LocalLimitStore::LocalLimitStore(Clock clock) : clock_(std::move(clock)) {}

LocalLimitStore::Window& LocalLimitStore::WindowFor(const std::string& key,
                                                    int64_t window_ms) {
  Window& window = windows_[key];
  // A window whose length changed (a reload) starts afresh: its buckets
  // mean other spans of time.
  if (window.window_ms != window_ms) {
    window = Window();
    window.window_ms = window_ms;
  }
  return window;
}

int64_t LocalLimitStore::LiveLeases(const std::string& key, int64_t now_ms) {
  auto found = leases_.find(key);
  if (found == leases_.end()) return 0;
  auto& leases = found->second;
  absl::erase_if(
      leases, [now_ms](const auto& lease) { return lease.second <= now_ms; });
  return static_cast<int64_t>(leases.size());
}

absl::StatusOr<ReserveResult> LocalLimitStore::Reserve(
    const ReserveRequest& request) {
  ReserveResult result;
  absl::MutexLock lock(&mu_);
  const int64_t now = clock_();
  result.now_ms = now;
  result.allowed = true;
  const size_t count = request.windows.size();
  absl::InlinedVector<int64_t, 6> used(count, 0);
  absl::InlinedVector<Window*, 6> windows(count, nullptr);
  result.windows.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    const WindowLimit& limit = request.windows[i];
    Window& window = WindowFor(limit.key, limit.window_ms);
    windows[i] = &window;
    const int64_t width = limit.window_ms / kBucketsPerWindow;
    const int64_t current = now / width;
    const int64_t oldest = current - kBucketsPerWindow + 1;
    int64_t newest_used = -1;
    // Live buckets from the oldest, so the retry walk frees usage in the
    // order it leaves the window.
    for (int64_t index = oldest; index <= current; ++index) {
      const Bucket& bucket = window.buckets[index % kBucketsPerWindow];
      if (bucket.index != index || bucket.amount == 0) continue;
      used[i] += bucket.amount;
      newest_used = index;
    }
    WindowState state;
    state.limit = limit.limit;
    state.remaining = std::max<int64_t>(0, limit.limit - used[i]);
    state.reset_ms =
        newest_used < 0 ? 0 : (newest_used + kBucketsPerWindow) * width - now;
    result.windows.push_back(state);
    if (used[i] + limit.amount <= limit.limit) continue;
    int64_t retry_after = limit.window_ms;
    bool too_large = limit.amount > limit.limit;
    if (!too_large) {
      int64_t need = used[i] + limit.amount - limit.limit;
      for (int64_t index = oldest; index <= current; ++index) {
        const Bucket& bucket = window.buckets[index % kBucketsPerWindow];
        if (bucket.index != index) continue;
        need -= bucket.amount;
        if (need <= 0) {
          retry_after = (index + kBucketsPerWindow) * width - now;
          break;
        }
      }
    }
    // A window the request can never fit decides: waiting for the others
    // would not help.
    if (result.allowed || (too_large && !result.too_large) ||
        (too_large == result.too_large &&
         retry_after > result.retry_after_ms)) {
      result.denied = static_cast<int>(i);
      result.retry_after_ms = retry_after;
      result.too_large = too_large;
    }
    result.allowed = false;
  }
  if (result.allowed && request.concurrency.has_value()) {
    const ConcurrencyLimit& concurrency = *request.concurrency;
    if (LiveLeases(concurrency.key, now) >= concurrency.limit) {
      result.allowed = false;
      result.denied = static_cast<int>(request.windows.size());
      result.retry_after_ms = 1000;
    }
  }
  if (!result.allowed) return result;
  for (size_t i = 0; i < count; ++i) {
    const WindowLimit& limit = request.windows[i];
    Window& window = *windows[i];
    const int64_t width = limit.window_ms / kBucketsPerWindow;
    const int64_t current = now / width;
    Bucket& bucket = window.buckets[current % kBucketsPerWindow];
    if (bucket.index != current) bucket = Bucket{current, 0};
    bucket.amount += limit.amount;
    WindowState& state = result.windows[i];
    state.remaining =
        std::max<int64_t>(0, limit.limit - used[i] - limit.amount);
    if (limit.amount > 0) {
      state.reset_ms = (current + kBucketsPerWindow) * width - now;
    }
  }
  if (request.concurrency.has_value()) {
    const ConcurrencyLimit& concurrency = *request.concurrency;
    leases_[concurrency.key][concurrency.lease_id] = now + concurrency.lease_ms;
  }
  return result;
}

absl::Status LocalLimitStore::Settle(const SettleRequest& request) {
  absl::MutexLock lock(&mu_);
  const int64_t now = clock_();
  for (const WindowAdjustment& adjustment : request.adjustments) {
    if (adjustment.delta == 0) continue;
    Window& window = WindowFor(adjustment.key, adjustment.window_ms);
    const int64_t width = adjustment.window_ms / kBucketsPerWindow;
    const int64_t current = now / width;
    const int64_t reserved = request.reserved_at_ms / width;
    Bucket& at_reservation = window.buckets[reserved % kBucketsPerWindow];
    if (adjustment.delta > 0) {
      // Spent now: counted now, so it stays in the window a whole window.
      Bucket& bucket = window.buckets[current % kBucketsPerWindow];
      if (bucket.index != current) bucket = Bucket{current, 0};
      bucket.amount += adjustment.delta;
    } else if (reserved > current - kBucketsPerWindow &&
               at_reservation.index == reserved) {
      at_reservation.amount =
          std::max<int64_t>(0, at_reservation.amount + adjustment.delta);
    }
  }
  if (request.release.has_value()) {
    auto found = leases_.find(request.release->key);
    if (found != leases_.end()) found->second.erase(request.release->lease_id);
  }
  return absl::OkStatus();
}

absl::Status LocalLimitStore::RenewLease(const ConcurrencyLimit& lease) {
  absl::MutexLock lock(&mu_);
  auto found = leases_.find(lease.key);
  if (found == leases_.end()) return absl::OkStatus();
  auto held = found->second.find(lease.lease_id);
  if (held != found->second.end()) held->second = clock_() + lease.lease_ms;
  return absl::OkStatus();
}

}  // namespace aigw
