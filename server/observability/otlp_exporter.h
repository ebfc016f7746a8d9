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
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/observability/trace_context.h"

namespace aigw {

struct OtlpConfig {
  std::string endpoint;  // http(s)://host[:port][/path]; "" = off
  // Sent with every POST (e.g. an auth header); values are never logged.
  std::vector<std::pair<std::string, std::string>> headers;
  double sample_ratio = 1.0;  // of traces without a parent's decision
  absl::Duration flush_interval = absl::Seconds(1);
  size_t max_batch = 512;
  size_t max_queue = 4096;
  // Bounds each POST as a whole (connect, send, answer), and shutdown.
  absl::Duration timeout = absl::Seconds(5);
};

using AttributeValue = std::variant<std::string, int64_t, double, bool>;

struct SpanRecord {
  enum class Kind { kServer, kClient, kInternal };
  TraceId trace_id{};
  SpanId span_id{};
  SpanId parent_span_id{};  // zero: a root span
  std::string name;
  Kind kind = Kind::kServer;
  absl::Time start;
  absl::Time end;
  bool error = false;  // status ERROR (2) with status_message; else UNSET (0)
  std::string status_message;
  std::vector<std::pair<std::string, AttributeValue>> attributes;
};

// One ExportTraceServiceRequest in OTLP's JSON encoding: ids as lowercase
// hex, 64-bit integers as decimal strings, enums as numbers. The resource
// is service.name "aigw" and `service_version`; one scope, "aigw".
std::string SpansToOtlpJson(const std::vector<SpanRecord>& spans,
                            absl::string_view service_version);

// Where spans are POSTed: `endpoint` + "/v1/traces", unless its path
// already ends with /v1/traces. Returns the origin (scheme://host[:port])
// and the path separately, as httplib takes them.
void OtlpTracesTarget(absl::string_view endpoint, std::string* origin,
                      std::string* path);

// Process-wide, kept across reloads (Configure on each).
class OtlpExporter {
 public:
  OtlpExporter();
  // Sends what is queued, giving up about one `timeout` after it is called
  // or at the first failed POST, then joins.
  ~OtlpExporter();
  OtlpExporter(const OtlpExporter&) = delete;
  OtlpExporter& operator=(const OtlpExporter&) = delete;

  // On start and each reload. An empty endpoint disables export and drops
  // (and counts) what is queued.
  void Configure(const OtlpConfig& config);
  // Cheap (atomics): called per request.
  bool enabled() const { return enabled_.load(std::memory_order_relaxed); }
  double sample_ratio() const {
    return sample_ratio_.load(std::memory_order_relaxed);
  }
  // Queues the span, or drops and counts it when the queue is full; ignored
  // while disabled.
  void Export(SpanRecord span);
  // Sends what is queued now and waits until it is sent or failed.
  void Flush();
  // As Flush, giving up at `deadline` (the sending goes on); true when
  // everything queued before the call was sent or failed.
  bool FlushUntil(absl::Time deadline);

  // Spans sent, dropped (queue full or export disabled with spans queued),
  // and lost in a failed POST.
  uint64_t exported() const { return exported_.load(); }
  uint64_t dropped() const { return dropped_.load(); }
  uint64_t failed() const { return failed_.load(); }

 private:
  class Sender;

  void Run();
  bool ShouldTake() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  OtlpConfig config_ ABSL_GUARDED_BY(mu_);
  std::deque<SpanRecord> queue_ ABSL_GUARDED_BY(mu_);
  // Spans ever queued, taken off the queue (sent or dropped), and done with
  // (their POST finished): Flush waits for `done_` to reach `pushed_`.
  uint64_t pushed_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t taken_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t done_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t take_until_ ABSL_GUARDED_BY(mu_) = 0;  // a flush or a timed send
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time stop_deadline_ ABSL_GUARDED_BY(mu_);  // the destructor's bound
  std::atomic<bool> enabled_{false};
  std::atomic<double> sample_ratio_{1.0};
  std::atomic<uint64_t> exported_{0};
  std::atomic<uint64_t> dropped_{0};
  std::atomic<uint64_t> failed_{0};
  std::thread thread_;  // last: starts once the fields above exist
};

}  // namespace aigw

#endif  // AIGW_SERVER_OBSERVABILITY_OTLP_EXPORTER_H_
