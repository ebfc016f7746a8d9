#include "server/observability/access_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace aigw {
namespace {

// A buffer this large after a burst is given back rather than kept.
constexpr size_t kKeepCapacity = 1 << 20;

// `thousandths` / 1000 with up to 3 decimals, trailing zeros dropped:
// 1234567 -> "1234.567", 2000 -> "2", 12500 -> "12.5".
void AppendThousandths(std::string* out, int64_t thousandths) {
  uint64_t value = static_cast<uint64_t>(thousandths);
  if (thousandths < 0) {
    out->push_back('-');
    value = 0 - value;
  }
  absl::StrAppend(out, value / 1000);
  int fraction = static_cast<int>(value % 1000);
  if (fraction == 0) return;
  char digits[4] = {'.', static_cast<char>('0' + fraction / 100),
                    static_cast<char>('0' + fraction / 10 % 10),
                    static_cast<char>('0' + fraction % 10)};
  size_t length = fraction % 10 != 0 ? 4 : fraction % 100 != 0 ? 3 : 2;
  out->append(digits, length);
}

// Appends "key":value (JSON) or " key=value" (text). The JSON keys are
// written as is: they are the literals below.
template <bool kJson>
class FieldWriter {
 public:
  explicit FieldWriter(std::string* out) : out_(out) {}

  void String(absl::string_view key, absl::string_view value) {
    Key(key);
    if constexpr (kJson) {
      AppendJsonString(out_, value);
    } else {
      AppendTextValue(out_, value);
    }
  }
  void StringIfAny(absl::string_view key, absl::string_view value) {
    if (!value.empty()) String(key, value);
  }
  void Int(absl::string_view key, int64_t value) {
    Key(key);
    absl::StrAppend(out_, value);
  }
  void Uint(absl::string_view key, uint64_t value) {
    Key(key);
    absl::StrAppend(out_, value);
  }
  void IntIfKnown(absl::string_view key, int64_t value) {
    if (value >= 0) Int(key, value);
  }
  void Bool(absl::string_view key, bool value) {
    Key(key);
    out_->append(value ? "true" : "false");
  }
  void Thousandths(absl::string_view key, int64_t value) {
    Key(key);
    AppendThousandths(out_, value);
  }
  void List(absl::string_view key, const std::vector<std::string>& values) {
    if (values.empty()) return;
    Key(key);
    if constexpr (kJson) {
      out_->push_back('[');
      for (size_t i = 0; i < values.size(); ++i) {
        if (i > 0) out_->push_back(',');
        AppendJsonString(out_, values[i]);
      }
      out_->push_back(']');
    } else {
      AppendTextValue(out_, absl::StrJoin(values, ","));
    }
  }

 private:
  void Key(absl::string_view key) {
    if constexpr (kJson) {
      out_->append(",\"");
      out_->append(key.data(), key.size());
      out_->append("\":");
    } else {
      out_->push_back(' ');
      out_->append(key.data(), key.size());
      out_->push_back('=');
    }
  }

  std::string* const out_;
};

template <bool kJson>
void AppendRecord(const AccessRecord& r, std::string* out) {
  if constexpr (kJson) {
    out->append("{\"ts\":\"");
    AppendRfc3339Utc(out, r.time);
    out->push_back('"');
  } else {
    AppendRfc3339Utc(out, r.time);
  }
  FieldWriter<kJson> field(out);
  field.String("request_id", r.request_id);
  field.StringIfAny("trace_id", r.trace_id);
  field.StringIfAny("consumer", r.consumer);
  field.String("client", r.client);
  field.String("protocol", r.protocol);
  field.String("method", r.method);
  field.StringIfAny("path", r.path);
  field.StringIfAny("operation", r.operation);
  field.String("model", r.model);
  field.String("upstream_model", r.upstream_model);
  field.String("provider", r.provider);
  field.Int("attempts", r.attempts);
  field.Int("status", r.status);
  field.StringIfAny("grpc_status", r.grpc_status);
  field.StringIfAny("error_type", r.error_type);
  field.Bool("stream", r.stream);
  field.IntIfKnown("input_tokens", r.input_tokens);
  field.IntIfKnown("output_tokens", r.output_tokens);
  field.IntIfKnown("cached_tokens", r.cached_tokens);
  field.IntIfKnown("reasoning_tokens", r.reasoning_tokens);
  if (r.ttft != absl::InfiniteDuration()) {
    field.Thousandths("ttft_ms", absl::ToInt64Microseconds(r.ttft));
  }
  field.Thousandths("duration_ms", absl::ToInt64Microseconds(r.duration));
  field.Thousandths("overhead_us", absl::ToInt64Nanoseconds(r.overhead));
  field.List("dropped_params", r.dropped_params);
  field.Uint("bytes_in", r.bytes_in);
  field.Uint("bytes_out", r.bytes_out);
  if constexpr (kJson) out->push_back('}');
}

void AppendLine(const AccessRecord& record, LogFormat format,
                std::string* out) {
  if (format == LogFormat::kText) {
    AppendRecord<false>(record, out);
  } else {
    AppendRecord<true>(record, out);
  }
}

}  // namespace

std::string AccessLog::FormatJson(const AccessRecord& record) {
  std::string out;
  out.reserve(512);
  AppendRecord<true>(record, &out);
  return out;
}

std::string AccessLog::FormatText(const AccessRecord& record) {
  std::string out;
  out.reserve(512);
  AppendRecord<false>(record, &out);
  return out;
}

AccessLog::AccessLog(const Options& options) : options_(options) {
  thread_ = std::thread([this] { Run(); });
}

AccessLog::~AccessLog() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  wake_.Signal();
  thread_.join();
  absl::MutexLock write(&write_mu_);
  WriteOut();
  CloseFile();
}

absl::Status AccessLog::Configure(const AccessLogConfig& config) {
  absl::MutexLock write(&write_mu_);
  WriteOut();  // what was written so far goes where it was meant to
  if (!config.enabled) {
    enabled_.store(false, std::memory_order_relaxed);
    CloseFile();
    return absl::OkStatus();
  }
  if (config.path == "stdout" || config.path == "stderr") {
    CloseFile();
    fd_ = config.path == "stdout" ? STDOUT_FILENO : STDERR_FILENO;
    path_ = config.path;
  } else {
    struct stat now;
    bool same_file = owns_fd_ && config.path == path_ &&
                     stat(config.path.c_str(), &now) == 0 &&
                     now.st_dev == device_ && now.st_ino == inode_;
    if (!same_file) {
      int fd = open(config.path.c_str(),
                    O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
      struct stat opened;
      if (fd < 0 || fstat(fd, &opened) != 0) {
        std::string error = std::strerror(errno);
        if (fd >= 0) close(fd);
        return absl::InvalidArgumentError(
            absl::StrCat("cannot open ", config.path, ": ", error));
      }
      CloseFile();
      fd_ = fd;
      owns_fd_ = true;
      path_ = config.path;
      device_ = opened.st_dev;
      inode_ = opened.st_ino;
    }
  }
  format_.store(static_cast<int>(config.format), std::memory_order_relaxed);
  enabled_.store(true, std::memory_order_relaxed);
  return absl::OkStatus();
}

void AccessLog::Write(const AccessRecord& record) {
  if (!enabled()) return;
  // Formatted outside the lock: every event loop writes concurrently.
  thread_local std::string line;
  line.clear();
  AppendLine(record,
             static_cast<LogFormat>(format_.load(std::memory_order_relaxed)),
             &line);
  line.push_back('\n');
  bool wake = false;
  {
    absl::MutexLock lock(&mu_);
    if (buffer_.size() + line.size() > options_.max_buffer_bytes) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    size_t before = buffer_.size();
    buffer_.append(line);
    wake =
        before < options_.flush_bytes && buffer_.size() >= options_.flush_bytes;
  }
  if (wake) wake_.Signal();
  if (line.capacity() > kKeepCapacity) std::string().swap(line);
}

void AccessLog::Flush() {
  absl::MutexLock write(&write_mu_);
  WriteOut();
}

void AccessLog::Run() {
  for (;;) {
    bool stopping;
    {
      absl::MutexLock lock(&mu_);
      if (!stop_ && buffer_.size() < options_.flush_bytes) {
        wake_.WaitWithTimeout(&mu_, options_.flush_interval);
      }
      stopping = stop_;
    }
    {
      absl::MutexLock write(&write_mu_);
      WriteOut();
    }
    if (stopping) return;
  }
}

void AccessLog::WriteOut() {
  {
    absl::MutexLock lock(&mu_);
    if (buffer_.empty()) return;
    writing_.swap(buffer_);
  }
  if (fd_ < 0 || !WriteFully(fd_, writing_)) {
    dropped_.fetch_add(std::count(writing_.begin(), writing_.end(), '\n'),
                       std::memory_order_relaxed);
  }
  writing_.clear();
  if (writing_.capacity() > kKeepCapacity) std::string().swap(writing_);
}

void AccessLog::CloseFile() {
  if (owns_fd_) close(fd_);
  fd_ = -1;
  owns_fd_ = false;
  path_.clear();
}

}  // namespace aigw
