// The process's metrics, exported on the admin port in Prometheus text
// format: the OpenTelemetry GenAI client/server histograms, aigw's own
// counters and gauges. Names and labels are a public contract
// (../shared/DESIGN.md "Observability"); label values are bounded by the
// callers (configured names, or "other").
#ifndef AIGW_SERVER_METRICS_H_
#define AIGW_SERVER_METRICS_H_

#include <array>
#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/observability/histogram.h"
#include "server/protection/reject_reason.h"

namespace aigw {

// One finished chat or embeddings request as the metrics see it.
struct RequestSample {
  absl::string_view protocol = "http";   // "http" | "grpc"
  absl::string_view operation = "chat";  // "chat" | "embeddings"
  bool stream = false;
  absl::string_view provider_name = "none";   // gen_ai.provider.name
  absl::string_view request_model = "other";  // configured, or "other"
  absl::string_view response_model = "none";  // the upstream's, as mapped
  absl::string_view provider = "none";        // the config name
  absl::string_view consumer = "anonymous";
  absl::string_view error_type;       // "" on success
  int code = 200;                     // HTTP status (gRPC: its HTTP equivalent)
  double duration = 0;                // seconds, all of it
  double overhead = 0;                // seconds in aigw itself
  double time_to_first_token = -1;    // < 0: none (not a stream, failed)
  double time_per_output_token = -1;  // < 0: none
  int64_t input_tokens = -1;          // < 0: unknown
  int64_t output_tokens = -1;
  int64_t cached_tokens = -1;
  int64_t reasoning_tokens = -1;
};

class Metrics {
 public:
  Metrics();

  void RecordRequest(const RequestSample& sample);
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
  // The config loaded at start (`at`), or a reload's outcome.
  void RecordConfigLoaded(absl::Time at);
  void RecordReload(bool ok, absl::Time at);
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
  // Everything recorded for one combination of a request's labels.
  struct RequestSeries {
    RequestSeries();
    std::vector<std::string> labels;  // in kRequestLabels order
    uint64_t requests = 0;
    Histogram duration;
    Histogram input_tokens;
    Histogram output_tokens;
    Histogram time_to_first_token;
    Histogram time_per_output_token;
    Histogram overhead;
    std::array<uint64_t, 4> tokens{};  // input, output, cached, reasoning
  };

  void AppendRequestFamilies(std::string* out) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<RequestSeries>> requests_
      ABSL_GUARDED_BY(mu_);
  std::map<std::pair<std::string, std::string>, uint64_t> attempts_
      ABSL_GUARDED_BY(mu_);
  std::map<std::pair<std::string, std::string>, uint64_t> dropped_params_
      ABSL_GUARDED_BY(mu_);
  std::map<std::pair<std::string, std::string>, uint64_t> rate_limited_
      ABSL_GUARDED_BY(mu_);
  uint64_t reloads_ok_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t reloads_failed_ ABSL_GUARDED_BY(mu_) = 0;
  double last_reload_success_ ABSL_GUARDED_BY(mu_) = 0;
  std::atomic<uint64_t> limit_store_errors_{0};
  std::atomic<bool> limit_store_degraded_{false};
  std::atomic<int64_t> streams_active_{0};
  std::atomic<int64_t> connections_active_{0};
  std::array<std::atomic<uint64_t>, kRejectReasonCount> protection_rejected_{};
};

}  // namespace aigw

#endif  // AIGW_SERVER_METRICS_H_
