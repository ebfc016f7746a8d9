// Exports spans as OTLP/HTTP JSON (POST <endpoint>/v1/traces) from one
// background thread, in batches. Export() never does I/O on the caller;
// a full queue drops spans (counted) rather than growing or blocking.
#ifndef AIGW_SERVER_OBSERVABILITY_OTLP_EXPORTER_H_
#define AIGW_SERVER_OBSERVABILITY_OTLP_EXPORTER_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <string>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/observability/trace_context.h"

namespace aigw {

struct OtlpConfig {
  std::string endpoint;  // "" = off
  std::vector<std::pair<std::string, std::string>> headers;
  double sample_ratio = 1.0;
  absl::Duration flush_interval = absl::Seconds(1);
  size_t max_batch = 512;
  size_t max_queue = 4096;
  absl::Duration timeout = absl::Seconds(5);
};

using AttributeValue = std::variant<std::string, int64_t, double, bool>;

struct SpanRecord {
  enum class Kind { kInternal, kServer, kClient };
  TraceId trace_id{};
  SpanId span_id{};
  SpanId parent_span_id{};  // zero: a root span
  std::string name;
  Kind kind = Kind::kServer;
  absl::Time start;
  absl::Time end;
  bool error = false;  // status ERROR with status_message; else UNSET
  std::string status_message;
  std::vector<std::pair<std::string, AttributeValue>> attributes;
};

// One ExportTraceServiceRequest in OTLP's JSON encoding: ids as hex, 64-bit
// integers as decimal strings, enums as numbers.
std::string SpansToOtlpJson(const std::vector<SpanRecord>& spans,
                            absl::string_view service_version);

class OtlpExporter {
 public:
  OtlpExporter();
  ~OtlpExporter();  // sends what is queued (bounded by the timeout)

  void Configure(const OtlpConfig& config);
  bool enabled() const { return enabled_.load(std::memory_order_relaxed); }
  double sample_ratio() const {
    return sample_ratio_.load(std::memory_order_relaxed);
  }
  void Export(SpanRecord span);
  // Sends what is queued now and waits for it (tests, shutdown).
  void Flush();

  uint64_t exported() const { return exported_.load(); }
  uint64_t dropped() const { return dropped_.load(); }
  uint64_t failed() const { return failed_.load(); }

 private:
  void Run();
  bool ReadyToSend() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // POSTs one batch; false when the collector did not take it.
  bool Send(const OtlpConfig& config, const std::vector<SpanRecord>& batch);

  absl::Mutex mu_;
  OtlpConfig config_ ABSL_GUARDED_BY(mu_);
  std::deque<SpanRecord> queue_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool flush_requested_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t flushes_done_ ABSL_GUARDED_BY(mu_) = 0;
  std::atomic<bool> enabled_{false};
  std::atomic<double> sample_ratio_{1.0};
  std::atomic<uint64_t> exported_{0};
  std::atomic<uint64_t> dropped_{0};
  std::atomic<uint64_t> failed_{0};
  absl::Time last_failure_log_ = absl::InfinitePast();  // the thread's own
  std::thread thread_;
};

}  // namespace aigw

#endif  // AIGW_SERVER_OBSERVABILITY_OTLP_EXPORTER_H_
