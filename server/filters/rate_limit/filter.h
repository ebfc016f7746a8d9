// Reserve, then settle. Before the upstream call the request reserves its
// estimated cost (prompt estimate + max_tokens, or limits.default_max_tokens)
// in every window it draws on, all or nothing, or gets 429; when it ends
// the reservation is settled to the upstream's real usage, so what a
// request did not use goes back at once. Concurrent requests therefore
// cannot overshoot a limit by more than their estimate errors.
//
// A stream that outgrows its reservation (no max_tokens) reserves more as
// it goes when its consumer says `on_budget_exhausted: cut`, and is ended
// with a rate_limit_exceeded error event when the budget has no more.
#ifndef AIGW_SERVER_FILTERS_RATE_LIMIT_FILTER_H_
#define AIGW_SERVER_FILTERS_RATE_LIMIT_FILTER_H_

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "server/filters/filter.h"
#include "server/filters/rate_limit/config.h"
#include "server/filters/rate_limit/estimator.h"

namespace aigw {

class RateLimitFilter : public RequestFilter {
 public:
  RateLimitFilter(const RateLimitConfig& config, const CompiledLimits& limits,
                  std::string consumer);

  absl::Status OnRequest(RequestContext& ctx) override;
  absl::Status OnChunk(RequestContext& ctx,
                       const v1::ChatCompletionChunk& chunk) override;
  void OnEnd(RequestContext& ctx, const absl::Status& status) override;

 private:
  void AddWindows(const std::vector<WindowSpec>& windows, int64_t tokens);
  // The x-ratelimit-* headers from a store answer.
  void SetHeaders(RequestContext& ctx, const ReserveResult& result) const;
  absl::Status Refused(RequestContext& ctx, const ReserveResult& result,
                       int64_t requested);
  // A store failure: allowed through, or refused, as the config says.
  absl::Status StoreFailed(const absl::Status& error);
  // Grows a running stream's reservation; false when the budget is spent,
  // an error when the store failed and on_store_error is deny.
  absl::StatusOr<bool> Grow();
  // A request without max_tokens that did not fit shrinks its completion
  // reservation to what the windows have left, when that is worth it: true
  // when it should reserve again.
  bool ReserveWhatFits(const ReserveResult& denied);
  // The lowest token limit this request draws on (INT64_MAX: none).
  int64_t SmallestTokenLimit() const;

  const RateLimitConfig& config_;
  const CompiledLimits& limits_;
  const std::string consumer_;

  std::string model_;
  bool bounded_output_ = false;  // the request named its max_tokens
  bool counting_ = false;        // a token count: request windows only
  ReserveRequest request_;
  std::vector<const WindowSpec*> counted_;  // beside request_.windows
  bool reserved_ = false;
  int64_t reserved_at_ms_ = 0;
  int64_t reserved_tokens_ = 0;  // in each token window
  int64_t prompt_estimate_ = 0;
  int64_t output_reserved_ = 0;
  bool growing_stopped_ = false;
  TokenTally streamed_;
  absl::Time lease_renewed_;
};

}  // namespace aigw

#endif  // AIGW_SERVER_FILTERS_RATE_LIMIT_FILTER_H_
