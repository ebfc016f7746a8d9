#include "server/filters/rate_limit/config.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "server/filters/rate_limit/filter.h"

namespace aigw {
namespace {

constexpr int64_t kMinuteMs = 60 * 1000;
constexpr int64_t kDayMs = 24 * 60 * kMinuteMs;

// The windows `values` asks for, keyed under `key`.
std::vector<WindowSpec> WindowsOf(const std::string& key,
                                  const LimitValues& values) {
  const struct {
    int64_t limit;
    const char* suffix;
    int64_t window_ms;
    bool tokens;
    const char* label;
  } kinds[] = {
      {values.requests_per_minute, ":rpm", kMinuteMs, false,
       "requests per min (RPM)"},
      {values.tokens_per_minute, ":tpm", kMinuteMs, true,
       "tokens per min (TPM)"},
      {values.tokens_per_day, ":tpd", kDayMs, true, "tokens per day (TPD)"},
  };
  std::vector<WindowSpec> windows;
  for (const auto& kind : kinds) {
    if (kind.limit <= 0) continue;
    windows.push_back(WindowSpec{WindowLimit{absl::StrCat(key, kind.suffix),
                                             kind.limit, kind.window_ms, 0},
                                 kind.tokens, kind.label});
  }
  return windows;
}

absl::StatusOr<std::unique_ptr<CompiledLimits>> Compile(
    const std::string& consumer, const ConsumerLimits& limits,
    BudgetExhausted on_budget_exhausted, const std::string& where) {
  auto compiled = std::make_unique<CompiledLimits>();
  // A Redis Cluster hash tag: one consumer's keys share a slot.
  std::string key = absl::StrCat("{", consumer, "}");
  compiled->all = limits.all;
  compiled->windows = WindowsOf(key, limits.all);
  if (limits.all.max_concurrent > 0) {
    compiled->inflight_key = absl::StrCat(key, ":inflight");
  }
  compiled->on_budget_exhausted = on_budget_exhausted;
  ProviderConfig patterns;
  for (size_t i = 0; i < limits.models.size(); ++i) {
    const auto& [pattern, values] = limits.models[i];
    patterns.model_mapping.emplace_back(pattern, std::to_string(i));
    compiled->models.emplace_back(
        pattern, WindowsOf(absl::StrCat(key, ":model:", pattern), values));
  }
  absl::StatusOr<ModelMapper> matcher = ModelMapper::Create(patterns);
  if (!matcher.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ".models: ", matcher.status().message()));
  }
  compiled->model_matcher = std::move(*matcher);
  return compiled;
}

}  // namespace

const std::vector<WindowSpec>* CompiledLimits::ForModel(
    const std::string& model) const {
  if (models.empty()) return nullptr;
  std::optional<std::string> index = model_matcher.Map(model);
  size_t i = 0;
  if (!index.has_value() || !absl::SimpleAtoi(*index, &i) ||
      i >= models.size()) {
    return nullptr;
  }
  return &models[i].second;
}

absl::StatusOr<std::shared_ptr<RateLimitConfig>> RateLimitConfig::Create(
    const GatewayConfig& config, std::shared_ptr<LimitStore> store,
    Metrics* metrics) {
  auto limits = std::make_shared<RateLimitConfig>();
  limits->store_ = std::move(store);
  limits->metrics_ = metrics;
  limits->default_max_tokens_ = config.limits.default_max_tokens;
  limits->deny_on_store_error_ = config.limits.deny_on_store_error;
  limits->lease_ms_ = config.limits.store == LimitStoreKind::kRedis
                          ? 5 * kMinuteMs
                          : 24 * 60 * kMinuteMs;
  absl::StatusOr<std::unique_ptr<CompiledLimits>> defaults =
      Compile("anonymous", config.limits.default_limits,
              BudgetExhausted::kFinish, "limits.default");
  if (!defaults.ok()) return defaults.status();
  bool any = !(*defaults)->empty() || !(*defaults)->models.empty();
  limits->defaults_ = std::move(*defaults);
  for (size_t i = 0; i < config.consumers.size(); ++i) {
    const ConsumerConfig& consumer = config.consumers[i];
    const ConsumerLimits& own =
        consumer.has_limits ? consumer.limits : config.limits.default_limits;
    absl::StatusOr<std::unique_ptr<CompiledLimits>> compiled =
        Compile(consumer.name, own, consumer.on_budget_exhausted,
                absl::StrCat("consumers[", i, "].limits"));
    if (!compiled.ok()) return compiled.status();
    any = any || !(*compiled)->empty() || !(*compiled)->models.empty();
    limits->by_consumer_[consumer.name] = std::move(*compiled);
  }
  if (!any) return std::shared_ptr<RateLimitConfig>();
  return limits;
}

std::unique_ptr<RequestFilter> RateLimitConfig::Create(
    const RequestContext& ctx) const {
  if (ctx.operation == Operation::kListModels) return nullptr;
  const CompiledLimits* limits = defaults_.get();
  std::string name = "anonymous";
  if (ctx.consumer != nullptr) {
    name = ctx.consumer->config.name;
    auto found = by_consumer_.find(name);
    if (found != by_consumer_.end()) limits = found->second.get();
  }
  if (limits->empty() && limits->models.empty()) return nullptr;
  return std::make_unique<RateLimitFilter>(*this, *limits, std::move(name));
}

}  // namespace aigw
