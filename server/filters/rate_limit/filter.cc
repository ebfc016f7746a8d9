#include "server/filters/rate_limit/filter.h"

#include <algorithm>
#include <atomic>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "providers/common/api_error.h"
#include "providers/common/log.h"
#include "providers/provider.h"

namespace aigw {
namespace {

constexpr int64_t kMinuteMs = 60 * 1000;
// The least a running stream's reservation grows by at a time.
constexpr int64_t kMinGrowth = 256;
// The least completion a request without max_tokens is admitted with.
constexpr int64_t kMinOutput = 16;

// OpenAI's reset format: "20ms", "1.5s", "6m0s", "1h2m3s".
std::string FormatReset(int64_t ms) {
  if (ms < 1000) return absl::StrCat(std::max<int64_t>(ms, 0), "ms");
  if (ms < kMinuteMs) {
    int64_t tenths = ms / 100 % 10;
    return tenths == 0 ? absl::StrCat(ms / 1000, "s")
                       : absl::StrCat(ms / 1000, ".", tenths, "s");
  }
  int64_t seconds = (ms + 999) / 1000;
  std::string out;
  if (seconds >= 3600) absl::StrAppend(&out, seconds / 3600, "h");
  absl::StrAppend(&out, seconds % 3600 / 60, "m", seconds % 60, "s");
  return out;
}

// Unique across replicas sharing a store: a random 64-bit process tag
// and a counter.
std::string LeaseId() {
  static const uint64_t process = [] {
    std::random_device random;
    return (static_cast<uint64_t>(random()) << 32) ^ random();
  }();
  static std::atomic<uint64_t> next{0};
  return absl::StrCat(absl::Hex(process), "-", next.fetch_add(1));
}

}  // namespace

RateLimitFilter::RateLimitFilter(const RateLimitConfig& config,
                                 const CompiledLimits& limits,
                                 std::string consumer)
    : config_(config), limits_(limits), consumer_(std::move(consumer)) {}

bool RateLimitFilter::ReserveWhatFits(const ReserveResult& denied) {
  // Embeddings reserve no output: nothing to shrink.
  if (bounded_output_ || output_reserved_ == 0) return false;
  if (denied.denied >= static_cast<int>(counted_.size())) return false;
  if (!counted_[denied.denied]->tokens) return false;  // requests, not tokens
  int64_t room = INT64_MAX;
  for (size_t i = 0; i < counted_.size(); ++i) {
    if (counted_[i]->tokens) room = std::min(room, denied.windows[i].remaining);
  }
  int64_t output = room - prompt_estimate_;
  if (output < kMinOutput || output >= output_reserved_) return false;
  output_reserved_ = output;
  reserved_tokens_ = prompt_estimate_ + output;
  for (size_t i = 0; i < counted_.size(); ++i) {
    if (counted_[i]->tokens) request_.windows[i].amount = reserved_tokens_;
  }
  return true;
}

int64_t RateLimitFilter::SmallestTokenLimit() const {
  int64_t smallest = INT64_MAX;
  for (const WindowSpec& spec : limits_.windows) {
    if (spec.tokens) smallest = std::min(smallest, spec.window.limit);
  }
  if (const std::vector<WindowSpec>* model = limits_.ForModel(model_)) {
    for (const WindowSpec& spec : *model) {
      if (spec.tokens) smallest = std::min(smallest, spec.window.limit);
    }
  }
  return smallest;
}

void RateLimitFilter::AddWindows(const std::vector<WindowSpec>& windows,
                                 int64_t tokens) {
  for (const WindowSpec& spec : windows) {
    // A token count spends no tokens: only its request windows apply.
    if (spec.tokens && counting_) continue;
    request_.windows.push_back(spec.window);
    request_.windows.back().amount = spec.tokens ? tokens : 1;
    counted_.push_back(&spec);
  }
}

absl::Status RateLimitFilter::OnRequest(RequestContext& ctx) {
  model_ = ctx.model;
  int64_t output = 0;
  counting_ = ctx.chat != nullptr &&
              ctx.chat->passthrough_protocol() == kAnthropicCountTokens;
  if (counting_) {
    // Counting tokens spends none: it counts as a request only.
  } else if (ctx.chat != nullptr) {
    const v1::ChatCompletionRequest& chat = *ctx.chat;
    prompt_estimate_ = EstimatePromptTokens(chat) + ctx.context_tokens;
    bounded_output_ = chat.has_max_completion_tokens() || chat.has_max_tokens();
    output = chat.has_max_completion_tokens() ? chat.max_completion_tokens()
             : chat.has_max_tokens()          ? chat.max_tokens()
                                              : config_.default_max_tokens();
    output *= std::max(1, chat.has_n() ? chat.n() : 1);
    // Without a max_tokens of its own a request reserves what fits, at
    // least kMinOutput tokens: the default must not make every request "too
    // large" for a consumer whose limit is below it (the reservation grows as
    // the answer streams when the consumer says `cut`).
    if (!bounded_output_) {
      int64_t room = SmallestTokenLimit() - prompt_estimate_;
      output = std::max(kMinOutput, std::min(output, room));
    }
  } else if (ctx.embeddings != nullptr) {
    prompt_estimate_ = EstimateInputTokens(*ctx.embeddings);
  }
  bounded_output_ =
      ctx.chat != nullptr &&
      (ctx.chat->has_max_tokens() || ctx.chat->has_max_completion_tokens());
  output_reserved_ = output;
  reserved_tokens_ = prompt_estimate_ + output;
  request_.windows.reserve(6);
  counted_.reserve(6);
  AddWindows(limits_.windows, reserved_tokens_);
  if (const std::vector<WindowSpec>* model = limits_.ForModel(ctx.model)) {
    AddWindows(*model, reserved_tokens_);
  }
  if (!limits_.inflight_key.empty()) {
    request_.concurrency =
        ConcurrencyLimit{limits_.inflight_key, limits_.all.max_concurrent,
                         LeaseId(), config_.lease_ms()};
  }
  absl::StatusOr<ReserveResult> result = config_.store().Reserve(request_);
  if (result.ok() && !result->allowed && ReserveWhatFits(*result)) {
    result = config_.store().Reserve(request_);
  }
  if (!result.ok()) return StoreFailed(result.status());
  if (config_.metrics().RecordLimitStoreOk()) {
    Log(LogLevel::kInfo, "limit store is back; limits apply again");
  }
  SetHeaders(ctx, *result);
  if (!result->allowed) return Refused(ctx, *result, reserved_tokens_);
  reserved_ = true;
  reserved_at_ms_ = result->now_ms;
  lease_renewed_ = absl::Now();
  return absl::OkStatus();
}

void RateLimitFilter::SetHeaders(RequestContext& ctx,
                                 const ReserveResult& result) const {
  // Per kind, the window closest to its limit: what the client must heed.
  const WindowState* tightest[2] = {nullptr, nullptr};
  for (size_t i = 0; i < result.windows.size(); ++i) {
    const WindowState& state = result.windows[i];
    const WindowState*& best = tightest[counted_[i]->tokens ? 1 : 0];
    if (best == nullptr || state.remaining < best->remaining) best = &state;
  }
  static const char* const kNames[2][3] = {
      {"x-ratelimit-limit-requests", "x-ratelimit-remaining-requests",
       "x-ratelimit-reset-requests"},
      {"x-ratelimit-limit-tokens", "x-ratelimit-remaining-tokens",
       "x-ratelimit-reset-tokens"}};
  ctx.response_headers.reserve(ctx.response_headers.size() + 6);
  for (int kind = 0; kind < 2; ++kind) {
    const WindowState* state = tightest[kind];
    if (state == nullptr) continue;
    ctx.response_headers.emplace_back(kNames[kind][0],
                                      absl::StrCat(state->limit));
    ctx.response_headers.emplace_back(kNames[kind][1],
                                      absl::StrCat(state->remaining));
    ctx.response_headers.emplace_back(kNames[kind][2],
                                      FormatReset(state->reset_ms));
  }
}

absl::Status RateLimitFilter::Refused(RequestContext& ctx,
                                      const ReserveResult& result,
                                      int64_t requested) {
  ApiErrorSpec spec;
  spec.code = absl::StatusCode::kResourceExhausted;
  spec.http_status = 429;
  spec.error_code = "rate_limit_exceeded";
  std::string retry = FormatReset(result.retry_after_ms);
  if (result.denied >= static_cast<int>(counted_.size())) {
    spec.type = "requests";
    spec.message = absl::StrCat(
        "Too many requests in flight for consumer '", consumer_, "': limit ",
        limits_.all.max_concurrent,
        " at once. Please try again when one of them has finished.");
  } else {
    const WindowSpec& counted = *counted_[result.denied];
    const WindowState& state = result.windows[result.denied];
    int64_t amount = counted.tokens ? requested : 1;
    spec.type = counted.tokens ? "tokens" : "requests";
    if (result.too_large) {
      spec.message = absl::StrCat(
          "Request too large for consumer '", consumer_, "' on ", counted.label,
          ": Limit ", state.limit, ", Requested ", amount,
          ". The input or output tokens must be reduced (set a lower "
          "max_tokens) in order to run successfully.");
    } else {
      spec.message =
          absl::StrCat("Rate limit reached for consumer '", consumer_, "' on ",
                       counted.label, ": Limit ", state.limit, ", Used ",
                       state.limit - state.remaining, ", Requested ", amount,
                       ". Please try again in ", retry, ".");
    }
  }
  // A request that can never fit gets no Retry-After, and OpenAI's SDKs
  // are told not to retry it: waiting won't help.
  if (result.too_large) {
    ctx.response_headers.emplace_back("x-should-retry", "false");
  } else {
    spec.retry_after_ms = result.retry_after_ms;
  }
  config_.metrics().RecordRateLimited(consumer_, spec.type);
  return MakeApiError(spec);
}

absl::Status RateLimitFilter::StoreFailed(const absl::Status& error) {
  if (config_.metrics().RecordLimitStoreError()) {
    bool deny = config_.deny_on_store_error();
    Log(LogLevel::kError,
        absl::StrCat("limit store unavailable (", error.message(),
                     "); on_store_error: ",
                     deny ? "deny, limited consumers get 503"
                          : "allow, requests pass unlimited"),
        {{"error", error.message()},
         {"on_store_error", deny ? "deny" : "allow"}});
  }
  if (!config_.deny_on_store_error()) return absl::OkStatus();
  ApiErrorSpec spec;
  spec.code = absl::StatusCode::kUnavailable;
  spec.http_status = 503;
  spec.type = "server_error";
  spec.error_code = "limit_store_unavailable";
  spec.message =
      "The rate limit store is unavailable and limits.on_store_error is "
      "deny. Please try again shortly.";
  spec.retry_after_ms = 1000;
  return MakeApiError(spec);
}

absl::StatusOr<bool> RateLimitFilter::Grow() {
  int64_t step = std::max(kMinGrowth, output_reserved_ / 2);
  ReserveRequest more;
  for (size_t i = 0; i < request_.windows.size(); ++i) {
    if (!counted_[i]->tokens) continue;
    WindowLimit window = request_.windows[i];
    window.amount = step;
    more.windows.push_back(std::move(window));
  }
  if (more.windows.empty()) {
    growing_stopped_ = true;  // no token budget to grow into
    return true;
  }
  absl::StatusOr<ReserveResult> result = config_.store().Reserve(more);
  if (!result.ok()) {
    // The store's trouble is not the stream's: on allow it runs on, on
    // deny it ends with the store's error.
    growing_stopped_ = true;
    absl::Status failed = StoreFailed(result.status());
    if (!failed.ok()) return failed;
    return true;
  }
  if (!result->allowed) return false;
  output_reserved_ += step;
  reserved_tokens_ += step;
  return true;
}

absl::Status RateLimitFilter::OnChunk(RequestContext&,
                                      const v1::ChatCompletionChunk& chunk) {
  if (!reserved_) return absl::OkStatus();
  streamed_.AddChunk(chunk);
  if (request_.concurrency.has_value() &&
      absl::Now() - lease_renewed_ >
          absl::Milliseconds(config_.lease_ms() / 2)) {
    lease_renewed_ = absl::Now();
    config_.store().RenewLease(*request_.concurrency).IgnoreError();
  }
  if (limits_.on_budget_exhausted != BudgetExhausted::kCut || bounded_output_ ||
      growing_stopped_ || streamed_.tokens() <= output_reserved_) {
    return absl::OkStatus();
  }
  while (streamed_.tokens() > output_reserved_) {
    absl::StatusOr<bool> grown = Grow();
    if (!grown.ok()) return grown.status();
    if (*grown) {
      if (growing_stopped_) break;
      continue;
    }
    ApiErrorSpec spec;
    spec.code = absl::StatusCode::kResourceExhausted;
    spec.http_status = 429;
    spec.type = "tokens";
    spec.error_code = "rate_limit_exceeded";
    spec.message = absl::StrCat("Token budget of consumer '", consumer_,
                                "' exhausted during the stream; it was ended "
                                "(on_budget_exhausted: cut).");
    config_.metrics().RecordRateLimited(consumer_, "tokens");
    return MakeApiError(spec);
  }
  return absl::OkStatus();
}

void RateLimitFilter::OnEnd(RequestContext& ctx, const absl::Status& status) {
  if (!reserved_) return;
  reserved_ = false;
  // The real cost: the upstream's count; else the estimate of the prompt
  // and what was answered; nothing for a call the upstream refused.
  int64_t used = 0;
  int64_t answered = streamed_.tokens() + ctx.info.answer_tokens_estimate;
  // A call the client left, or that timed out, was billed by the upstream
  // for its prompt (and any reasoning) all the same.
  bool abandoned = ctx.info.attempts > 0 &&
                   (status.code() == absl::StatusCode::kCancelled ||
                    status.code() == absl::StatusCode::kDeadlineExceeded ||
                    GetErrorDetails(status).code == "server_shutdown");
  if (ctx.info.has_usage) {
    used = ctx.info.usage.total_tokens() > 0
               ? ctx.info.usage.total_tokens()
               : ctx.info.usage.prompt_tokens() +
                     ctx.info.usage.completion_tokens();
  } else if (status.ok() || answered > 0 || abandoned) {
    used = prompt_estimate_ + answered;
  }
  SettleRequest settle;
  settle.reserved_at_ms = reserved_at_ms_;
  for (size_t i = 0; i < request_.windows.size(); ++i) {
    if (!counted_[i]->tokens) continue;
    settle.adjustments.push_back(WindowAdjustment{request_.windows[i].key,
                                                  request_.windows[i].window_ms,
                                                  used - reserved_tokens_});
  }
  settle.release = request_.concurrency;
  absl::Status settled = config_.store().Settle(settle);
  if (!settled.ok()) {
    StoreFailed(settled).IgnoreError();
  }
}

}  // namespace aigw
