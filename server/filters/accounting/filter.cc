#include "server/filters/accounting/filter.h"

#include "providers/common/api_error.h"

namespace aigw {
namespace {

class AccountingFilter : public RequestFilter {
 public:
  explicit AccountingFilter(Metrics& metrics) : metrics_(metrics) {}

  absl::Status OnRequest(RequestContext& ctx) override {
    if (ctx.stream) metrics_.StreamOpened();
    return absl::OkStatus();
  }

  void OnEnd(RequestContext& ctx, const absl::Status& status) override {
    const CallInfo& info = ctx.info;
    if (info.has_usage) metrics_.RecordUsage(info.provider, info.usage);
    metrics_.RecordDroppedParams(info.provider, info.dropped_params);
    if (ctx.stream) metrics_.StreamClosed();
    metrics_.RecordRequest(
        info.provider, ctx.stream,
        status.ok() ? 200 : GetErrorDetails(status).http_status,
        absl::Now() - ctx.start);
  }

 private:
  Metrics& metrics_;
};

}  // namespace

std::unique_ptr<RequestFilter> AccountingConfig::Create(
    const RequestContext& ctx) const {
  if (ctx.operation == Operation::kListModels) return nullptr;
  return std::make_unique<AccountingFilter>(*metrics_);
}

}  // namespace aigw
