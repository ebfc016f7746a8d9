#include "server/filters/filter_chain.h"

namespace aigw {

FilterChain::FilterChain(const FilterFactories& factories, RequestContext& ctx)
    : factories_(factories), ctx_(ctx) {}

FilterChain::~FilterChain() {
  End(absl::CancelledError("the request ended before its filters did"));
}

absl::Status FilterChain::Begin() {
  for (const auto& factory : factories_) {
    std::unique_ptr<RequestFilter> filter = factory->Create(ctx_);
    if (filter == nullptr) continue;
    filters_.push_back(std::move(filter));
    // A filter that refused still settles what it started.
    absl::Status status = filters_.back()->OnRequest(ctx_);
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::Status FilterChain::OnChunk(const v1::ChatCompletionChunk& chunk) {
  for (const auto& filter : filters_) {
    absl::Status status = filter->OnChunk(ctx_, chunk);
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

void FilterChain::End(const absl::Status& status) {
  if (ended_) return;
  ended_ = true;
  for (auto it = filters_.rbegin(); it != filters_.rend(); ++it) {
    (*it)->OnEnd(ctx_, status);
  }
}

}  // namespace aigw
