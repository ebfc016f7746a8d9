#include "server/observability/otlp_exporter.h"

#include <httplib.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "providers/common/log.h"

namespace aigw {
namespace {

std::string Nanos(absl::Time t) { return absl::StrCat(absl::ToUnixNanos(t)); }

nlohmann::json AttributeJson(const std::string& key,
                             const AttributeValue& value) {
  nlohmann::json any;
  if (const auto* text = std::get_if<std::string>(&value)) {
    any["stringValue"] = *text;
  } else if (const auto* number = std::get_if<int64_t>(&value)) {
    any["intValue"] = absl::StrCat(*number);
  } else if (const auto* real = std::get_if<double>(&value)) {
    any["doubleValue"] = *real;
  } else {
    any["boolValue"] = std::get<bool>(value);
  }
  return {{"key", key}, {"value", any}};
}

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

// scheme://host[:port] and the path spans go to.
void SplitEndpoint(const std::string& endpoint, std::string* origin,
                   std::string* path) {
  size_t scheme = endpoint.find("://");
  size_t slash =
      endpoint.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  *origin = endpoint.substr(0, slash);
  std::string rest = slash == std::string::npos ? "" : endpoint.substr(slash);
  if (rest.empty() || rest == "/") {
    *path = "/v1/traces";
  } else {
    *path = rest;
  }
}

}  // namespace

std::string SpansToOtlpJson(const std::vector<SpanRecord>& spans,
                            absl::string_view service_version) {
  nlohmann::json list = nlohmann::json::array();
  for (const SpanRecord& span : spans) {
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
    out["status"] =
        span.error
            ? nlohmann::json{{"code", 2}, {"message", span.status_message}}
            : nlohmann::json{{"code", 0}};
    list.push_back(std::move(out));
  }
  nlohmann::json resource = {
      {"attributes",
       {AttributeJson("service.name", std::string("aigw")),
        AttributeJson("service.version", std::string(service_version))}}};
  nlohmann::json request = {
      {"resourceSpans",
       {{{"resource", resource},
         {"scopeSpans",
          {{{"scope", {{"name", "aigw"}}}, {"spans", std::move(list)}}}}}}}};
  return request.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

OtlpExporter::OtlpExporter() : thread_([this] { Run(); }) {}

OtlpExporter::~OtlpExporter() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  thread_.join();
}

void OtlpExporter::Configure(const OtlpConfig& config) {
  absl::MutexLock lock(&mu_);
  config_ = config;
  if (config.endpoint.empty()) queue_.clear();
  sample_ratio_.store(config.sample_ratio);
  enabled_.store(!config.endpoint.empty());
}

void OtlpExporter::Export(SpanRecord span) {
  absl::MutexLock lock(&mu_);
  if (config_.endpoint.empty() || queue_.size() >= config_.max_queue) {
    dropped_.fetch_add(1);
    return;
  }
  queue_.push_back(std::move(span));
}

void OtlpExporter::Flush() {
  absl::MutexLock lock(&mu_);
  uint64_t target = flushes_done_ + 1;
  flush_requested_ = true;
  std::pair<uint64_t*, uint64_t> done(&flushes_done_, target);
  mu_.Await(absl::Condition(
      +[](std::pair<uint64_t*, uint64_t>* arg) {
        return *arg->first >= arg->second;
      },
      &done));
}

bool OtlpExporter::ReadyToSend() {
  return stop_ || flush_requested_ || queue_.size() >= config_.max_batch;
}

void OtlpExporter::Run() {
  for (;;) {
    std::vector<SpanRecord> batch;
    OtlpConfig config;
    bool flushing = false;
    bool stopping = false;
    {
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(this, &OtlpExporter::ReadyToSend),
                           config_.flush_interval);
      flushing = flush_requested_;
      stopping = stop_;
      config = config_;
      while (!queue_.empty() && batch.size() < config.max_batch) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    if (!batch.empty()) {
      if (Send(config, batch)) {
        exported_.fetch_add(batch.size());
      } else {
        failed_.fetch_add(batch.size());
      }
    }
    absl::MutexLock lock(&mu_);
    // A flush (or the end) waits until the queue is empty.
    if ((flushing || stopping) && queue_.empty()) {
      if (flushing) {
        flush_requested_ = false;
        flushes_done_++;
      }
      if (stopping) return;
    }
  }
}

bool OtlpExporter::Send(const OtlpConfig& config,
                        const std::vector<SpanRecord>& batch) {
  std::string origin, path;
  SplitEndpoint(config.endpoint, &origin, &path);
  httplib::Client client(origin);
  int64_t timeout_ms = absl::ToInt64Milliseconds(config.timeout);
  client.set_connection_timeout(timeout_ms / 1000, (timeout_ms % 1000) * 1000);
  client.set_read_timeout(timeout_ms / 1000, (timeout_ms % 1000) * 1000);
  client.set_write_timeout(timeout_ms / 1000, (timeout_ms % 1000) * 1000);
  httplib::Headers headers;
  for (const auto& [name, value] : config.headers) headers.emplace(name, value);
  httplib::Result result = client.Post(
      path, headers, SpansToOtlpJson(batch, "0.10.0"), "application/json");
  bool ok = result && result->status >= 200 && result->status < 300;
  if (!ok && absl::Now() - last_failure_log_ > absl::Minutes(1)) {
    last_failure_log_ = absl::Now();
    std::string why = result ? absl::StrCat("HTTP ", result->status)
                             : httplib::to_string(result.error());
    Log(LogLevel::kWarn,
        absl::StrCat("OTLP export to ", origin, path, " failed (", why, "); ",
                     batch.size(), " spans dropped"),
        {{"endpoint", origin}});
  }
  return ok;
}

}  // namespace aigw
