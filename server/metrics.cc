#include "server/metrics.h"

#include "absl/strings/str_cat.h"

namespace aigw {
namespace {

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
  absl::StrAppend(out, "# HELP ", name, " ", help, "\n# TYPE ", name,
                  " counter\n");
  for (const auto& [key, n] : counts) {
    absl::StrAppend(out, name, "{", labels.first, "=\"", key.first, "\",",
                    labels.second, "=\"", key.second, "\"} ", n, "\n");
  }
}

}  // namespace

void Metrics::RecordRequest(const std::string& provider, bool stream,
                            int http_status, absl::Duration elapsed) {
  absl::MutexLock lock(&mu_);
  RequestCounts& counts = requests_[{provider, stream, http_status}];
  counts.count++;
  counts.seconds_sum += absl::ToDoubleSeconds(elapsed);
}

void Metrics::RecordUsage(const std::string& provider, const v1::Usage& usage) {
  absl::MutexLock lock(&mu_);
  TokenCounts& tokens = tokens_[provider];
  tokens.prompt += usage.prompt_tokens();
  tokens.completion += usage.completion_tokens();
  tokens.cached += usage.prompt_tokens_details().cached_tokens();
  tokens.reasoning += usage.completion_tokens_details().reasoning_tokens();
}

void Metrics::RecordAttempt(const std::string& provider,
                            const absl::Status& result) {
  absl::MutexLock lock(&mu_);
  attempts_[{provider, absl::StatusCodeToString(result.code())}]++;
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

std::string Metrics::RenderPrometheus() const {
  std::string out;
  absl::MutexLock lock(&mu_);
  absl::StrAppend(&out,
                  "# HELP aigw_requests_total Chat and embeddings requests "
                  "by provider, streaming and HTTP status.\n"
                  "# TYPE aigw_requests_total counter\n");
  for (const auto& [key, counts] : requests_) {
    const auto& [provider, stream, status] = key;
    absl::StrAppend(&out, "aigw_requests_total{provider=\"", provider,
                    "\",stream=\"", stream ? "true" : "false", "\",code=\"",
                    status, "\"} ", counts.count, "\n");
  }
  absl::StrAppend(&out,
                  "# HELP aigw_request_seconds_sum Time spent serving chat "
                  "requests.\n# TYPE aigw_request_seconds_sum counter\n");
  for (const auto& [key, counts] : requests_) {
    const auto& [provider, stream, status] = key;
    absl::StrAppend(&out, "aigw_request_seconds_sum{provider=\"", provider,
                    "\",stream=\"", stream ? "true" : "false", "\",code=\"",
                    status, "\"} ", counts.seconds_sum, "\n");
  }
  absl::StrAppend(&out,
                  "# HELP aigw_tokens_total Tokens reported by upstreams.\n"
                  "# TYPE aigw_tokens_total counter\n");
  for (const auto& [provider, t] : tokens_) {
    for (const auto& [kind, n] :
         {std::pair<const char*, uint64_t>{"prompt", t.prompt},
          {"completion", t.completion},
          {"cached", t.cached},
          {"reasoning", t.reasoning}}) {
      absl::StrAppend(&out, "aigw_tokens_total{provider=\"", provider,
                      "\",kind=\"", kind, "\"} ", n, "\n");
    }
  }
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
  absl::StrAppend(
      &out,
      "# HELP aigw_limit_store_errors_total Failed calls to the limit store "
      "(limits.on_store_error decided those requests).\n"
      "# TYPE aigw_limit_store_errors_total counter\n"
      "aigw_limit_store_errors_total ",
      limit_store_errors_.load(),
      "\n# HELP aigw_limit_store_degraded 1 while the limit store's last "
      "call failed.\n# TYPE aigw_limit_store_degraded gauge\n"
      "aigw_limit_store_degraded ",
      limit_store_degraded_.load() ? 1 : 0, "\n");
  absl::StrAppend(&out,
                  "# HELP aigw_streams_active Streaming responses in flight.\n"
                  "# TYPE aigw_streams_active gauge\naigw_streams_active ",
                  streams_active_.load(), "\n");
  absl::StrAppend(&out,
                  "# HELP aigw_connections_active Client connections open on "
                  "the REST and gRPC listeners.\n"
                  "# TYPE aigw_connections_active gauge\n"
                  "aigw_connections_active ",
                  connections_active_.load(), "\n");
  // Every reason from the start, so rate() sees the first refusal.
  absl::StrAppend(&out,
                  "# HELP aigw_protection_rejected_total Connections and "
                  "requests refused or closed by connection protection, by "
                  "reason.\n"
                  "# TYPE aigw_protection_rejected_total counter\n");
  for (size_t i = 0; i < kRejectReasonCount; ++i) {
    absl::StrAppend(&out, "aigw_protection_rejected_total{reason=\"",
                    RejectReasonName(static_cast<RejectReason>(i)), "\"} ",
                    protection_rejected_[i].load(std::memory_order_relaxed),
                    "\n");
  }
  return out;
}

}  // namespace aigw
