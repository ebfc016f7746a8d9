// Counts every chat and embeddings request in the process metrics when it
// ends, refused ones included: status, provider, usage, dropped params and
// open streams. It runs first in the chain, so it sees what every later
// filter decided.
#ifndef AIGW_SERVER_FILTERS_ACCOUNTING_FILTER_H_
#define AIGW_SERVER_FILTERS_ACCOUNTING_FILTER_H_

#include "server/filters/filter.h"
#include "server/metrics.h"

namespace aigw {

class AccountingConfig : public FilterFactory {
 public:
  explicit AccountingConfig(Metrics* metrics) : metrics_(metrics) {}
  std::unique_ptr<RequestFilter> Create(
      const RequestContext& ctx) const override;

 private:
  Metrics* const metrics_;
};

}  // namespace aigw

#endif  // AIGW_SERVER_FILTERS_ACCOUNTING_FILTER_H_
