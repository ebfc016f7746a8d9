// Process-wide counters exported on the admin port in Prometheus text format.
#ifndef AIGW_SERVER_METRICS_H_
#define AIGW_SERVER_METRICS_H_

#include <array>
#include <atomic>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "proto/aigw/v1/chat.pb.h"
#include "server/protection/reject_reason.h"

namespace aigw {

class Metrics {
 public:
  // One finished chat request. `provider` is "" when none was chosen.
  void RecordRequest(const std::string& provider, bool stream, int http_status,
                     absl::Duration elapsed);
  void RecordUsage(const std::string& provider, const v1::Usage& usage);
  // One upstream call of a request (retries and fallbacks make several).
  void RecordAttempt(const std::string& provider, const absl::Status& result);
  // Request fields an adapter left out under `unsupported_params: drop`.
  void RecordDroppedParams(const std::string& provider,
                           const std::vector<std::string>& params);
  // A request refused by a limit; `type` is "requests" or "tokens".
  void RecordRateLimited(const std::string& consumer, const std::string& type);
  // A limit store call failed; returns whether the store was healthy
  // before (so the caller logs the change once).
  bool RecordLimitStoreError();
  // A limit store call succeeded; returns whether it was degraded before.
  bool RecordLimitStoreOk();
  void StreamOpened() { streams_active_.fetch_add(1); }
  void StreamClosed() { streams_active_.fetch_sub(1); }
  // Client connections open on the REST and gRPC listeners.
  void ConnectionOpened() { connections_active_.fetch_add(1); }
  void ConnectionClosed() { connections_active_.fetch_sub(1); }
  // A connection or request refused or ended by connection protection.
  // Lock-free: it is counted per refused accept under a flood.
  void RecordProtectionRejected(RejectReason reason) {
    protection_rejected_[static_cast<size_t>(reason)].fetch_add(
        1, std::memory_order_relaxed);
  }

  std::string RenderPrometheus() const;

 private:
  struct RequestCounts {
    uint64_t count = 0;
    double seconds_sum = 0;
  };
  struct TokenCounts {
    uint64_t prompt = 0;
    uint64_t completion = 0;
    uint64_t cached = 0;
    uint64_t reasoning = 0;
  };

  mutable absl::Mutex mu_;
  std::map<std::tuple<std::string, bool, int>, RequestCounts> requests_
      ABSL_GUARDED_BY(mu_);
  std::map<std::string, TokenCounts> tokens_ ABSL_GUARDED_BY(mu_);
  std::map<std::pair<std::string, std::string>, uint64_t> attempts_
      ABSL_GUARDED_BY(mu_);
  std::map<std::pair<std::string, std::string>, uint64_t> dropped_params_
      ABSL_GUARDED_BY(mu_);
  std::map<std::pair<std::string, std::string>, uint64_t> rate_limited_
      ABSL_GUARDED_BY(mu_);
  std::atomic<uint64_t> limit_store_errors_{0};
  std::atomic<bool> limit_store_degraded_{false};
  std::atomic<int64_t> streams_active_{0};
  std::atomic<int64_t> connections_active_{0};
  std::array<std::atomic<uint64_t>, kRejectReasonCount> protection_rejected_{};
};

}  // namespace aigw

#endif  // AIGW_SERVER_METRICS_H_
