// The access log: one line per request (REST and gRPC), JSON or text, to
// stdout, stderr or a file. A request's thread only formats its line and
// appends it to a buffer; one writer thread writes the buffer out (every
// 100 ms, or sooner past 64 KiB), so a slow disk or a stalled pipe never
// stalls a request. Past its cap (8 MiB) the buffer drops lines, counted:
// memory stays bounded whatever the reader does.
//
// JSON fields, in this order (a field in [] is omitted when empty or
// unknown): ts, request_id, [trace_id], [consumer], client, protocol,
// method, [path], [operation], model, upstream_model, provider, attempts,
// status, [grpc_status], [error_type], stream, [input_tokens],
// [output_tokens], [cached_tokens], [reasoning_tokens], [ttft_ms],
// duration_ms, overhead_us, [dropped_params], bytes_in, bytes_out.
// Text: "TS key=value ..." in the same order, values quoted when needed.
#ifndef AIGW_SERVER_OBSERVABILITY_ACCESS_LOG_H_
#define AIGW_SERVER_OBSERVABILITY_ACCESS_LOG_H_

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "providers/common/log.h"

namespace aigw {

struct AccessLogConfig {
  bool enabled = true;
  LogFormat format = LogFormat::kJson;
  // stdout | stderr | a file (appended to, created 0640).
  std::string path = "stdout";
};

struct AccessRecord {
  absl::Time time;  // when the request ended
  std::string request_id;
  std::string trace_id;   // 32 hex, or ""
  std::string consumer;   // "" anonymous
  std::string client;     // "ip:port" or "ip"
  std::string protocol;   // "http" | "grpc"
  std::string method;     // "POST", or "/aigw.v1.ChatCompletions/Stream"
  std::string path;       // "" for gRPC
  std::string operation;  // "chat" | "embeddings" | "models" | ""
  std::string model;      // as requested
  std::string upstream_model;
  std::string provider;  // "" when none answered
  int attempts = 0;
  int status = 0;           // HTTP status (gRPC: its HTTP equivalent)
  std::string grpc_status;  // gRPC only: "OK", "RESOURCE_EXHAUSTED", ...
  std::string error_type;   // "" on success
  bool stream = false;
  int64_t input_tokens = -1;  // -1: unknown, omitted
  int64_t output_tokens = -1;
  int64_t cached_tokens = -1;
  int64_t reasoning_tokens = -1;
  absl::Duration ttft = absl::InfiniteDuration();  // infinite: none
  absl::Duration duration;
  absl::Duration overhead;
  std::vector<std::string> dropped_params;
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
};

class AccessLog {
 public:
  struct Options {
    size_t flush_bytes = 64 << 10;      // wakes the writer early
    size_t max_buffer_bytes = 8 << 20;  // past it lines are dropped
    absl::Duration flush_interval = absl::Milliseconds(100);
  };

  // Writes nothing until configured.
  AccessLog() : AccessLog(Options{}) {}
  explicit AccessLog(const Options& options);
  ~AccessLog();  // writes what is buffered, stops the writer thread

  // On start and each reload. What was written before goes out under the
  // previous settings. A file is opened anew when the path changes or no
  // longer names the open file (logrotate moved it away); an error leaves
  // the previous settings in place.
  absl::Status Configure(const AccessLogConfig& config);
  bool enabled() const { return enabled_.load(std::memory_order_relaxed); }
  // Formats and buffers one line; never waits for I/O.
  void Write(const AccessRecord& record);
  // Blocks until every line written before the call is on the descriptor.
  void Flush();
  // Lines lost: the buffer was over its cap, or the descriptor failed.
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

  // One line each, without the newline.
  static std::string FormatJson(const AccessRecord& record);
  static std::string FormatText(const AccessRecord& record);

 private:
  void Run();
  // Takes the buffer and writes it to the descriptor.
  void WriteOut() ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_)
      ABSL_LOCKS_EXCLUDED(mu_);
  void CloseFile() ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);

  const Options options_;

  // Held from taking the buffer until it is written: lines keep their
  // order, and the descriptor is not swapped under a write.
  absl::Mutex write_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  int fd_ ABSL_GUARDED_BY(write_mu_) = -1;
  bool owns_fd_ ABSL_GUARDED_BY(write_mu_) = false;
  std::string path_ ABSL_GUARDED_BY(write_mu_);
  dev_t device_ ABSL_GUARDED_BY(write_mu_) = 0;
  ino_t inode_ ABSL_GUARDED_BY(write_mu_) = 0;
  std::string writing_ ABSL_GUARDED_BY(write_mu_);

  absl::Mutex mu_;
  absl::CondVar wake_;
  std::string buffer_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;

  std::atomic<bool> enabled_{false};
  std::atomic<int> format_{static_cast<int>(LogFormat::kJson)};
  std::atomic<uint64_t> dropped_{0};
  std::thread thread_;
};

}  // namespace aigw

#endif  // AIGW_SERVER_OBSERVABILITY_ACCESS_LOG_H_
