// The limits policy's config: every consumer's limits compiled once per
// config load, the defaults, and the store the counters live in (held by
// the state registry, so a reload keeps what consumers have spent).
#ifndef AIGW_SERVER_FILTERS_RATE_LIMIT_CONFIG_H_
#define AIGW_SERVER_FILTERS_RATE_LIMIT_CONFIG_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "server/config.h"
#include "server/filters/filter.h"
#include "server/filters/rate_limit/limit_store.h"
#include "server/metrics.h"
#include "server/model_mapper.h"

namespace aigw {

// A window a request draws on, with its store key made once per config.
struct WindowSpec {
  WindowLimit window;  // amount 0: the request sets it
  bool tokens = false;
  const char* label = "";  // "tokens per min (TPM)", for messages
};

// One consumer's limits, ready for requests.
struct CompiledLimits {
  LimitValues all;
  std::vector<WindowSpec> windows;  // of `all`
  std::string inflight_key;         // "" without max_concurrent
  // Per-model budgets: pattern -> its windows.
  std::vector<std::pair<std::string, std::vector<WindowSpec>>> models;
  ModelMapper model_matcher;  // pattern -> its index in `models`, as text
  BudgetExhausted on_budget_exhausted = BudgetExhausted::kFinish;

  bool empty() const { return windows.empty() && inflight_key.empty(); }
  // The windows of the per-model budget `model` draws on, or null.
  const std::vector<WindowSpec>* ForModel(const std::string& model) const;
};

class RateLimitConfig : public FilterFactory {
 public:
  // Null when nothing is limited. `store` must outlive the config.
  static absl::StatusOr<std::shared_ptr<RateLimitConfig>> Create(
      const GatewayConfig& config, std::shared_ptr<LimitStore> store,
      Metrics* metrics);

  std::unique_ptr<RequestFilter> Create(
      const RequestContext& ctx) const override;

  LimitStore& store() const { return *store_; }
  Metrics& metrics() const { return *metrics_; }
  int64_t default_max_tokens() const { return default_max_tokens_; }
  bool deny_on_store_error() const { return deny_on_store_error_; }
  // How long a max_concurrent slot outlives its holder: in Redis, 5 minutes
  // (a replica that died frees its slots; running streams renew theirs);
  // in this process's own store, a day (its holders die with it).
  int64_t lease_ms() const { return lease_ms_; }

 private:
  std::shared_ptr<LimitStore> store_;
  Metrics* metrics_ = nullptr;
  int64_t default_max_tokens_ = 0;
  bool deny_on_store_error_ = false;
  int64_t lease_ms_ = 0;
  // The callers with no limits of their own (every caller of an open
  // gateway, as one budget named "anonymous").
  std::unique_ptr<CompiledLimits> defaults_;
  absl::flat_hash_map<std::string, std::unique_ptr<CompiledLimits>>
      by_consumer_;
};

}  // namespace aigw

#endif  // AIGW_SERVER_FILTERS_RATE_LIMIT_CONFIG_H_
