#include "server/metrics.h"

#include <functional>

#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "server/observability/gen_ai_names.h"
#include "server/observability/prometheus_text.h"

namespace aigw {
namespace {

// The labels a request is recorded under, in the order of its series key;
// each family exports a subset of them.
enum RequestLabel {
  kProtocol,
  kOperation,
  kStream,
  kProviderName,
  kRequestModel,
  kResponseModel,
  kProvider,
  kConsumer,
  kErrorType,
  kCode,
  kRequestLabelCount
};

constexpr absl::string_view kLabelNames[kRequestLabelCount] = {
    "protocol",
    "gen_ai_operation_name",
    "stream",
    "gen_ai_provider_name",
    "gen_ai_request_model",
    "gen_ai_response_model",
    "aigw_provider",
    "aigw_consumer",
    "error_type",
    "code"};

// The GenAI histograms' attributes (error_type added where it applies).
constexpr RequestLabel kGenAiLabels[] = {kOperation,    kProviderName,
                                         kRequestModel, kResponseModel,
                                         kProvider,     kConsumer};

// A series key: each label value after its length, so that no byte a
// configured name may hold (a separator) can make two label sets one key.
std::string SeriesKey(absl::Span<const absl::string_view> values) {
  std::string key;
  size_t size = 0;
  for (absl::string_view value : values) size += value.size() + 4;
  key.reserve(size);
  for (absl::string_view value : values) {
    absl::StrAppend(&key, value.size(), ":", value);
  }
  return key;
}

// The label for a dropped param: its top-level request field when that is
// one of OpenAI's, "other" for anything a client made up (label values must
// stay a small, fixed set).
std::string DroppedParamLabel(absl::string_view param) {
  static constexpr const char* kKnown[] = {"audio",
                                           "frequency_penalty",
                                           "function_call",
                                           "logit_bias",
                                           "logprobs",
                                           "messages",
                                           "modalities",
                                           "n",
                                           "parallel_tool_calls",
                                           "prediction",
                                           "presence_penalty",
                                           "reasoning_effort",
                                           "response_format",
                                           "seed",
                                           "temperature",
                                           "tool_choice",
                                           "tools",
                                           "top_k",
                                           "top_logprobs",
                                           "top_p",
                                           "verbosity",
                                           "web_search_options"};
  absl::string_view field = param.substr(0, param.find_first_of(".["));
  for (const char* known : kKnown) {
    if (field == known) return known;
  }
  return "other";
}

// A counter family with two labels, from its map.
void AppendCounter(
    std::string* out, absl::string_view name, absl::string_view help,
    std::pair<absl::string_view, absl::string_view> labels,
    const std::map<std::pair<std::string, std::string>, uint64_t>& counts) {
  AppendFamilyHeader(out, name, "counter", help);
  for (const auto& [key, n] : counts) {
    absl::StrAppend(
        out, name, "{",
        FormatLabels({{labels.first, key.first}, {labels.second, key.second}}),
        "} ", n, "\n");
  }
}

void AppendGauge(std::string* out, absl::string_view name,
                 absl::string_view help, double value) {
  AppendFamilyHeader(out, name, "gauge", help);
  absl::StrAppend(out, name, " ", FormatSampleValue(value), "\n");
}

// `series`' values of `labels`, formatted, with `extra` appended.
std::string LabelsOf(
    const std::vector<std::string>& values,
    std::initializer_list<RequestLabel> labels,
    std::vector<std::pair<absl::string_view, absl::string_view>> extra = {}) {
  std::vector<std::pair<absl::string_view, absl::string_view>> pairs;
  for (RequestLabel label : labels) {
    pairs.emplace_back(kLabelNames[label], values[label]);
  }
  for (const auto& pair : extra) pairs.push_back(pair);
  return FormatLabels(pairs);
}

std::string GenAiLabels(
    const std::vector<std::string>& values, bool with_error,
    std::vector<std::pair<absl::string_view, absl::string_view>> extra = {}) {
  std::vector<std::pair<absl::string_view, absl::string_view>> pairs;
  for (RequestLabel label : kGenAiLabels) {
    pairs.emplace_back(kLabelNames[label], values[label]);
  }
  if (with_error && !values[kErrorType].empty()) {
    pairs.emplace_back(kLabelNames[kErrorType], values[kErrorType]);
  }
  for (const auto& pair : extra) pairs.push_back(pair);
  return FormatLabels(pairs);
}

}  // namespace

Metrics::RequestSeries::RequestSeries()
    : duration(&OperationDurationBuckets()),
      input_tokens(&TokenUsageBuckets()),
      output_tokens(&TokenUsageBuckets()),
      time_to_first_token(&TimeToFirstTokenBuckets()),
      time_per_output_token(&TimePerOutputTokenBuckets()),
      overhead(&OverheadBuckets()) {}

Metrics::Metrics() = default;

void Metrics::RecordRequest(const RequestSample& sample) {
  std::string code = absl::StrCat(sample.code);
  absl::string_view values[kRequestLabelCount] = {
      sample.protocol,
      sample.operation,
      sample.stream ? "true" : "false",
      sample.provider_name,
      sample.request_model,
      sample.response_model,
      sample.provider,
      sample.consumer,
      sample.error_type,
      code};
  std::string key = SeriesKey(values);
  absl::MutexLock lock(&mu_);
  std::unique_ptr<RequestSeries>& slot = requests_[key];
  if (slot == nullptr) {
    slot = std::make_unique<RequestSeries>();
    slot->labels.reserve(kRequestLabelCount);
    for (absl::string_view value : values) {
      slot->labels.emplace_back(value);
    }
  }
  RequestSeries& series = *slot;
  series.requests++;
  series.duration.Observe(sample.duration);
  series.overhead.Observe(sample.overhead);
  if (sample.time_to_first_token >= 0) {
    series.time_to_first_token.Observe(sample.time_to_first_token);
  }
  if (sample.time_per_output_token >= 0) {
    series.time_per_output_token.Observe(sample.time_per_output_token);
  }
  if (sample.input_tokens >= 0) {
    series.input_tokens.Observe(static_cast<double>(sample.input_tokens));
    series.tokens[0] += sample.input_tokens;
  }
  if (sample.output_tokens >= 0) {
    series.output_tokens.Observe(static_cast<double>(sample.output_tokens));
    series.tokens[1] += sample.output_tokens;
  }
  if (sample.cached_tokens > 0) series.tokens[2] += sample.cached_tokens;
  if (sample.reasoning_tokens > 0) series.tokens[3] += sample.reasoning_tokens;
}

void Metrics::RecordAttempt(const std::string& provider,
                            const absl::Status& result) {
  std::string outcome = result.ok() ? "ok" : std::string(ErrorType(result));
  absl::MutexLock lock(&mu_);
  attempts_[{provider, outcome}]++;
}

void Metrics::RecordDroppedParams(const std::string& provider,
                                  const std::vector<std::string>& params) {
  if (params.empty()) return;
  absl::MutexLock lock(&mu_);
  for (const std::string& param : params) {
    dropped_params_[{provider, DroppedParamLabel(param)}]++;
  }
}

void Metrics::RecordRateLimited(const std::string& consumer,
                                const std::string& type) {
  absl::MutexLock lock(&mu_);
  rate_limited_[{consumer, type}]++;
}

bool Metrics::RecordLimitStoreError() {
  limit_store_errors_.fetch_add(1);
  return !limit_store_degraded_.exchange(true);
}

bool Metrics::RecordLimitStoreOk() {
  // Read first: the common healthy case stays a plain load.
  return limit_store_degraded_.load() && limit_store_degraded_.exchange(false);
}

void Metrics::RecordConfigLoaded(absl::Time at) {
  absl::MutexLock lock(&mu_);
  last_reload_success_ = absl::ToDoubleSeconds(at - absl::UnixEpoch());
}

void Metrics::RecordReload(bool ok, absl::Time at) {
  absl::MutexLock lock(&mu_);
  if (ok) {
    reloads_ok_++;
    last_reload_success_ = absl::ToDoubleSeconds(at - absl::UnixEpoch());
  } else {
    reloads_failed_++;
  }
}

void Metrics::AppendRequestFamilies(std::string* out) const {
  // Each family sums the series that share its labels.
  using Select = std::function<const Histogram&(const RequestSeries&)>;
  auto histogram_family =
      [&](absl::string_view name, absl::string_view help, const Select& select,
          const std::function<std::string(const RequestSeries&)>& labels_of) {
        AppendFamilyHeader(out, name, "histogram", help);
        std::map<std::string, Histogram> merged;
        for (const auto& [key, series] : requests_) {
          const Histogram& histogram = select(*series);
          if (histogram.count() == 0) continue;
          std::string labels = labels_of(*series);
          auto [it, added] = merged.try_emplace(labels, histogram);
          if (!added) it->second.Merge(histogram);
        }
        for (const auto& [labels, histogram] : merged) {
          histogram.AppendTo(out, name, labels);
        }
      };
  histogram_family(
      "gen_ai_client_operation_duration_seconds",
      "GenAI operation duration (OpenTelemetry "
      "gen_ai.client.operation.duration), failed requests included.",
      [](const RequestSeries& s) -> const Histogram& { return s.duration; },
      [](const RequestSeries& s) { return GenAiLabels(s.labels, true); });

  AppendFamilyHeader(out, "gen_ai_client_token_usage", "histogram",
                     "Tokens per request by gen_ai_token_type (OpenTelemetry "
                     "gen_ai.client.token.usage), as the upstream reported "
                     "them.");
  for (absl::string_view type : {"input", "output"}) {
    std::map<std::string, Histogram> merged;
    for (const auto& [key, series] : requests_) {
      const Histogram& histogram =
          type == "input" ? series->input_tokens : series->output_tokens;
      if (histogram.count() == 0) continue;
      std::string labels =
          GenAiLabels(series->labels, false, {{"gen_ai_token_type", type}});
      auto [it, added] = merged.try_emplace(labels, histogram);
      if (!added) it->second.Merge(histogram);
    }
    for (const auto& [labels, histogram] : merged) {
      histogram.AppendTo(out, "gen_ai_client_token_usage", labels);
    }
  }
  histogram_family(
      "gen_ai_server_time_to_first_token_seconds",
      "Time from the request to the first streamed chunk sent to the client "
      "(OpenTelemetry gen_ai.server.time_to_first_token), successful "
      "streams.",
      [](const RequestSeries& s) -> const Histogram& {
        return s.time_to_first_token;
      },
      [](const RequestSeries& s) { return GenAiLabels(s.labels, false); });
  histogram_family(
      "gen_ai_server_time_per_output_token_seconds",
      "Time per output token after the first (OpenTelemetry "
      "gen_ai.server.time_per_output_token), successful streams.",
      [](const RequestSeries& s) -> const Histogram& {
        return s.time_per_output_token;
      },
      [](const RequestSeries& s) { return GenAiLabels(s.labels, false); });
  histogram_family(
      "aigw_gateway_overhead_seconds",
      "Time spent in aigw itself per request: the whole request less the "
      "waits for the upstream and for the client.",
      [](const RequestSeries& s) -> const Histogram& { return s.overhead; },
      [](const RequestSeries& s) {
        return LabelsOf(s.labels, {kOperation, kStream});
      });

  AppendFamilyHeader(out, "aigw_requests_total", "counter",
                     "Chat and embeddings requests by protocol, operation, "
                     "provider, consumer, model and status code.");
  std::map<std::string, uint64_t> requests;
  for (const auto& [key, series] : requests_) {
    requests[LabelsOf(series->labels,
                      {kProtocol, kOperation, kStream, kProvider, kConsumer,
                       kRequestModel, kCode})] += series->requests;
  }
  for (const auto& [labels, n] : requests) {
    absl::StrAppend(out, "aigw_requests_total{", labels, "} ", n, "\n");
  }

  AppendFamilyHeader(out, "aigw_tokens_total", "counter",
                     "Tokens reported by upstreams, by provider, consumer, "
                     "model and kind (input, output, cached, reasoning).");
  constexpr absl::string_view kKinds[] = {"input", "output", "cached",
                                          "reasoning"};
  std::map<std::string, uint64_t> tokens;
  for (const auto& [key, series] : requests_) {
    if (series->input_tokens.count() == 0 &&
        series->output_tokens.count() == 0) {
      continue;
    }
    for (size_t kind = 0; kind < 4; ++kind) {
      tokens[LabelsOf(series->labels, {kProvider, kConsumer, kRequestModel},
                      {{"kind", kKinds[kind]}})] += series->tokens[kind];
    }
  }
  for (const auto& [labels, n] : tokens) {
    absl::StrAppend(out, "aigw_tokens_total{", labels, "} ", n, "\n");
  }
}

std::string Metrics::RenderPrometheus() const {
  std::string out;
  absl::MutexLock lock(&mu_);
  AppendRequestFamilies(&out);
  AppendCounter(&out, "aigw_upstream_attempts_total",
                "Upstream calls by provider and result (retries and "
                "fallbacks included).",
                {"provider", "result"}, attempts_);
  AppendCounter(&out, "aigw_dropped_params_total",
                "Request fields left out because the provider cannot "
                "express them (unsupported_params: drop).",
                {"provider", "param"}, dropped_params_);
  AppendCounter(&out, "aigw_rate_limited_total",
                "Requests refused by a consumer limit, by consumer and limit "
                "type.",
                {"consumer", "type"}, rate_limited_);
  AppendFamilyHeader(&out, "aigw_limit_store_errors_total", "counter",
                     "Failed calls to the limit store (limits.on_store_error "
                     "decided those requests).");
  absl::StrAppend(&out, "aigw_limit_store_errors_total ",
                  limit_store_errors_.load(), "\n");
  AppendGauge(&out, "aigw_limit_store_degraded",
              "1 while the limit store's last call failed.",
              limit_store_degraded_.load() ? 1 : 0);
  AppendGauge(&out, "aigw_streams_active", "Streaming responses in flight.",
              static_cast<double>(streams_active_.load()));
  AppendGauge(&out, "aigw_connections_active",
              "Client connections open on the REST and gRPC listeners.",
              static_cast<double>(connections_active_.load()));
  // Every reason from the start, so rate() sees the first refusal.
  AppendFamilyHeader(&out, "aigw_protection_rejected_total", "counter",
                     "Connections and requests refused or closed by "
                     "connection protection, by reason.");
  for (size_t i = 0; i < kRejectReasonCount; ++i) {
    absl::StrAppend(&out, "aigw_protection_rejected_total{reason=\"",
                    RejectReasonName(static_cast<RejectReason>(i)), "\"} ",
                    protection_rejected_[i].load(std::memory_order_relaxed),
                    "\n");
  }
  AppendFamilyHeader(&out, "aigw_config_reloads_total", "counter",
                     "Config reloads by result (ok, error).");
  absl::StrAppend(&out, "aigw_config_reloads_total{result=\"ok\"} ",
                  reloads_ok_, "\naigw_config_reloads_total{result=\"error\"} ",
                  reloads_failed_, "\n");
  AppendGauge(&out, "aigw_config_last_reload_success_timestamp_seconds",
              "When the config serving now was loaded (Unix time).",
              last_reload_success_);
  return out;
}

}  // namespace aigw
