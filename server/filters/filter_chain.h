// Runs one request through the ordered filters. REST and gRPC requests go
// through the same chain (the gateway core runs it), so their policies
// cannot drift apart.
#ifndef AIGW_SERVER_FILTERS_FILTER_CHAIN_H_
#define AIGW_SERVER_FILTERS_FILTER_CHAIN_H_

#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "server/filters/filter.h"

namespace aigw {

using FilterFactories = std::vector<std::shared_ptr<const FilterFactory>>;

class FilterChain {
 public:
  FilterChain(const FilterFactories& factories, RequestContext& ctx);
  // Ends the request with `Cancelled` if End() was never called.
  ~FilterChain();

  FilterChain(const FilterChain&) = delete;
  FilterChain& operator=(const FilterChain&) = delete;

  // Each filter is made and its OnRequest run in order, up to the first
  // error: a factory sees what the filters before it decided (the
  // consumer).
  absl::Status Begin();
  // OnChunk of each filter that began, up to the first error.
  absl::Status OnChunk(const v1::ChatCompletionChunk& chunk);
  // OnEnd of each filter that began, last first. Only the first call counts.
  void End(const absl::Status& status);

 private:
  const FilterFactories& factories_;
  RequestContext& ctx_;
  std::vector<std::unique_ptr<RequestFilter>> filters_;  // those that began
  bool ended_ = false;
};

}  // namespace aigw

#endif  // AIGW_SERVER_FILTERS_FILTER_CHAIN_H_
