#include "server/observability/otlp_exporter.h"

#include <httplib.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "providers/common/log.h"
#include "server/observability/build_info.h"

namespace aigw {
namespace {

constexpr absl::string_view kTracesPath = "/v1/traces";

std::string Nanos(absl::Time t) { return absl::StrCat(absl::ToUnixNanos(t)); }

nlohmann::json DoubleJson(double value) {
  // proto3 JSON spells the non-finite doubles as strings.
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "Infinity" : "-Infinity";
  return value;
}

nlohmann::json AttributeJson(absl::string_view key,
                             const AttributeValue& value) {
  nlohmann::json any;
  if (const auto* text = std::get_if<std::string>(&value)) {
    any["stringValue"] = *text;
  } else if (const auto* number = std::get_if<int64_t>(&value)) {
    any["intValue"] = absl::StrCat(*number);
  } else if (const auto* real = std::get_if<double>(&value)) {
    any["doubleValue"] = DoubleJson(*real);
  } else {
    any["boolValue"] = std::get<bool>(value);
  }
  return {{"key", std::string(key)}, {"value", std::move(any)}};
}

// SpanKind in opentelemetry/proto/trace/v1/trace.proto.
int KindNumber(SpanRecord::Kind kind) {
  switch (kind) {
    case SpanRecord::Kind::kInternal:
      return 1;
    case SpanRecord::Kind::kServer:
      return 2;
    case SpanRecord::Kind::kClient:
      return 3;
  }
  return 0;
}

nlohmann::json SpanJson(const SpanRecord& span) {
  nlohmann::json out = {{"traceId", Hex(span.trace_id)},
                        {"spanId", Hex(span.span_id)},
                        {"name", span.name},
                        {"kind", KindNumber(span.kind)},
                        {"startTimeUnixNano", Nanos(span.start)},
                        {"endTimeUnixNano", Nanos(span.end)}};
  if (span.parent_span_id != SpanId{}) {
    out["parentSpanId"] = Hex(span.parent_span_id);
  }
  nlohmann::json attributes = nlohmann::json::array();
  for (const auto& [key, value] : span.attributes) {
    attributes.push_back(AttributeJson(key, value));
  }
  out["attributes"] = std::move(attributes);
  // STATUS_CODE_ERROR = 2; a span without an error stays UNSET (0).
  out["status"] =
      span.error ? nlohmann::json{{"code", 2}, {"message", span.status_message}}
                 : nlohmann::json{{"code", 0}};
  return out;
}

// scheme://host[:port] without any user:password@, for log lines.
std::string RedactedOrigin(absl::string_view origin) {
  size_t scheme = origin.find("://");
  size_t at = origin.rfind('@');
  if (scheme == absl::string_view::npos || at == absl::string_view::npos) {
    return std::string(origin);
  }
  return absl::StrCat(origin.substr(0, scheme + 3), origin.substr(at + 1));
}

// httplib takes timeouts as (seconds, microseconds).
template <typename Setter>
void SetTimeout(absl::Duration timeout, Setter setter) {
  int64_t us = std::max<int64_t>(absl::ToInt64Microseconds(timeout), 1000);
  setter(static_cast<time_t>(us / 1000000), static_cast<time_t>(us % 1000000));
}

}  // namespace

std::string SpansToOtlpJson(const std::vector<SpanRecord>& spans,
                            absl::string_view service_version) {
  nlohmann::json list = nlohmann::json::array();
  for (const SpanRecord& span : spans) list.push_back(SpanJson(span));
  nlohmann::json resource = {
      {"attributes",
       {AttributeJson("service.name", std::string("aigw")),
        AttributeJson("service.version", std::string(service_version))}}};
  nlohmann::json scope_spans = {{"scope", {{"name", "aigw"}}},
                                {"spans", std::move(list)}};
  nlohmann::json resource_spans = {
      {"resource", std::move(resource)},
      {"scopeSpans", nlohmann::json::array({std::move(scope_spans)})}};
  nlohmann::json request = {
      {"resourceSpans", nlohmann::json::array({std::move(resource_spans)})}};
  // Invalid UTF-8 (a model name, an error message) must not fail the batch.
  return request.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void OtlpTracesTarget(absl::string_view endpoint, std::string* origin,
                      std::string* path) {
  size_t scheme = endpoint.find("://");
  size_t slash =
      endpoint.find('/', scheme == absl::string_view::npos ? 0 : scheme + 3);
  *origin = std::string(endpoint.substr(0, slash));
  absl::string_view rest =
      slash == absl::string_view::npos ? "" : endpoint.substr(slash);
  if (absl::EndsWith(rest, kTracesPath)) {
    *path = std::string(rest);
    return;
  }
  while (absl::EndsWith(rest, "/")) rest.remove_suffix(1);
  *path = absl::StrCat(rest, kTracesPath);
}

// Bounds a whole POST (connect, write, read) by one deadline: httplib's
// timeouts bound each step, and a collector that dribbles its answer would
// hold the exporter longer. Past the deadline its own thread stops the
// client (httplib's one thread-safe way to abort a request), again every
// few milliseconds until the POST returns: a stop that lands before the
// request holds its socket does not end it.
class PostDeadline {
 public:
  PostDeadline() : thread_([this] { Run(); }) {}
  ~PostDeadline() {
    {
      absl::MutexLock lock(&mu_);
      quit_ = true;
    }
    thread_.join();
  }

  void Arm(httplib::Client* client, absl::Time deadline) {
    absl::MutexLock lock(&mu_);
    client_ = client;
    deadline_ = deadline;
    generation_++;
  }
  // After the POST returned; waits for a stop under way.
  void Disarm() {
    absl::MutexLock lock(&mu_);
    client_ = nullptr;
    generation_++;
  }

 private:
  void Run() {
    absl::MutexLock lock(&mu_);
    while (!quit_) {
      uint64_t seen = generation_;
      auto changed = [this, seen] { return quit_ || generation_ != seen; };
      if (client_ == nullptr) {
        mu_.Await(absl::Condition(&changed));
      } else if (absl::Now() < deadline_) {
        mu_.AwaitWithDeadline(absl::Condition(&changed), deadline_);
      } else {
        client_->stop();
        mu_.AwaitWithTimeout(absl::Condition(&changed), absl::Milliseconds(5));
      }
    }
  }

  absl::Mutex mu_;
  httplib::Client* client_ ABSL_GUARDED_BY(mu_) = nullptr;
  absl::Time deadline_ ABSL_GUARDED_BY(mu_);
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  bool quit_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;  // last: starts once the fields above exist
};

// The background thread's HTTP side: one kept-alive client per endpoint,
// each POST bounded by the timeout, and the failure log, at most one line
// a minute.
class OtlpExporter::Sender {
 public:
  // False when the collector did not take the batch (it is dropped).
  bool Send(const OtlpConfig& config, const std::vector<SpanRecord>& batch) {
    std::string error;
    bool ok = Post(config, SpansToOtlpJson(batch, BuildVersion()), &error);
    if (!ok) LogFailure(error, batch.size());
    return ok;
  }

 private:
  bool Post(const OtlpConfig& config, const std::string& body,
            std::string* error) {
    if (!absl::StartsWith(config.endpoint, "http://") &&
        !absl::StartsWith(config.endpoint, "https://")) {
      *error = "the endpoint is not an http:// or https:// URL";
      return false;
    }
    if (client_ == nullptr || config.endpoint != endpoint_ ||
        config.timeout != timeout_) {
      Connect(config);
    }
    if (client_ == nullptr || !client_->is_valid()) {
      *error = "the endpoint is not a valid URL";
      return false;
    }
    httplib::Headers headers(config.headers.begin(), config.headers.end());
    deadline_.Arm(client_.get(), absl::Now() + config.timeout);
    httplib::Result result =
        client_->Post(path_, headers, body, "application/json");
    deadline_.Disarm();
    if (!result) {
      *error = httplib::to_string(result.error()) + " error";
      return false;
    }
    if (result->status < 200 || result->status >= 300) {
      *error = absl::StrCat("HTTP ", result->status);
      return false;
    }
    return true;
  }

  void Connect(const OtlpConfig& config) {
    client_.reset();
    endpoint_ = config.endpoint;
    timeout_ = config.timeout;
    OtlpTracesTarget(config.endpoint, &origin_, &path_);
    try {  // httplib throws on a URL it cannot take
      client_ = std::make_unique<httplib::Client>(origin_);
    } catch (const std::exception&) {
      return;
    }
    if (absl::StartsWith(origin_, "https://")) {
      // The system's trust store; the client's TLS context owns the store.
      X509_STORE* store = X509_STORE_new();
      X509_STORE_set_default_paths(store);
      client_->set_ca_cert_store(store);
      client_->enable_server_certificate_verification(true);
    }
    client_->set_keep_alive(true);
    client_->set_follow_location(false);
    // Each step alone within the timeout; the POST as a whole is bounded
    // by `deadline_`.
    SetTimeout(config.timeout, [&](time_t s, time_t us) {
      client_->set_connection_timeout(s, us);
      client_->set_read_timeout(s, us);
      client_->set_write_timeout(s, us);
    });
  }

  void LogFailure(const std::string& error, size_t spans) {
    unlogged_failures_++;
    absl::Time now = absl::Now();
    if (now - last_log_ < absl::Minutes(1)) return;
    last_log_ = now;
    // Never the configured headers: they carry credentials.
    Log(LogLevel::kWarn, "OTLP trace export failed; the batch is dropped",
        {{"endpoint", RedactedOrigin(origin_) + path_},
         {"error", error},
         {"spans", spans},
         {"failed_batches", unlogged_failures_}});
    unlogged_failures_ = 0;
  }

  PostDeadline deadline_;  // before client_: outlives it
  std::unique_ptr<httplib::Client> client_;
  std::string endpoint_;
  absl::Duration timeout_;
  std::string origin_;
  std::string path_;
  absl::Time last_log_ = absl::InfinitePast();
  uint64_t unlogged_failures_ = 0;  // since the last log line
};

OtlpExporter::OtlpExporter() : thread_([this] { Run(); }) {}

OtlpExporter::~OtlpExporter() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
    stop_deadline_ = absl::Now() + config_.timeout;
  }
  thread_.join();
}

void OtlpExporter::Configure(const OtlpConfig& config) {
  absl::MutexLock lock(&mu_);
  config_ = config;
  // Guards against a busy loop or batches that never fill.
  config_.max_batch = std::max<size_t>(config_.max_batch, 1);
  config_.flush_interval =
      std::max(config_.flush_interval, absl::Milliseconds(1));
  config_.timeout = std::max(config_.timeout, absl::Milliseconds(1));
  if (config_.endpoint.empty()) {
    dropped_.fetch_add(queue_.size());
    taken_ += queue_.size();
    done_ += queue_.size();
    queue_.clear();
  }
  sample_ratio_.store(config.sample_ratio);
  enabled_.store(!config_.endpoint.empty());
}

void OtlpExporter::Export(SpanRecord span) {
  if (!enabled()) return;
  absl::MutexLock lock(&mu_);
  if (config_.endpoint.empty()) return;
  if (queue_.size() >= config_.max_queue) {
    dropped_.fetch_add(1);
    return;
  }
  queue_.push_back(std::move(span));
  pushed_++;
}

void OtlpExporter::Flush() { FlushUntil(absl::InfiniteFuture()); }

bool OtlpExporter::FlushUntil(absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  uint64_t target = pushed_;
  take_until_ = std::max(take_until_, target);
  auto sent = [this, target] { return done_ >= target; };
  return mu_.AwaitWithDeadline(absl::Condition(&sent), deadline);
}

bool OtlpExporter::ShouldTake() const {
  return stop_ || (!queue_.empty() && (queue_.size() >= config_.max_batch ||
                                       taken_ < take_until_));
}

void OtlpExporter::Run() {
  Sender sender;
  bool stop_failed = false;  // a POST failed while stopping: drop the rest
  for (;;) {
    std::vector<SpanRecord> batch;
    OtlpConfig config;
    bool stopping = false;
    {
      absl::MutexLock lock(&mu_);
      if (!mu_.AwaitWithTimeout(
              absl::Condition(this, &OtlpExporter::ShouldTake),
              config_.flush_interval)) {
        take_until_ = pushed_;  // the interval is up: send all that waits
      }
      stopping = stop_;
      if (stopping &&
          (queue_.empty() || stop_failed || absl::Now() >= stop_deadline_)) {
        dropped_.fetch_add(queue_.size());
        taken_ += queue_.size();
        done_ += queue_.size();
        queue_.clear();
        return;
      }
      size_t count = std::min(queue_.size(), config_.max_batch);
      if (count == 0) continue;
      config = config_;
      batch.reserve(count);
      for (size_t i = 0; i < count; ++i) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      taken_ += count;
    }
    bool ok = sender.Send(config, batch);
    (ok ? exported_ : failed_).fetch_add(batch.size());
    if (stopping && !ok) stop_failed = true;
    absl::MutexLock lock(&mu_);
    done_ += batch.size();
  }
}

}  // namespace aigw
