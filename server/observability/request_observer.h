// The first and last thing a front door does with each request: give it
// an id and a trace context from what the client sent, and when it is
// answered, record it once for everyone who watches: the metrics, the
// access log and (when sampled) its spans.
#ifndef AIGW_SERVER_OBSERVABILITY_REQUEST_OBSERVER_H_
#define AIGW_SERVER_OBSERVABILITY_REQUEST_OBSERVER_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "server/metrics.h"
#include "server/observability/access_log.h"
#include "server/observability/otlp_exporter.h"
#include "server/request_context.h"

namespace aigw {

class RequestObserver {
 public:
  // All three are the process's and outlive the observer.
  RequestObserver(Metrics* metrics, AccessLog* access_log,
                  OtlpExporter* exporter)
      : metrics_(metrics), access_log_(access_log), exporter_(exporter) {}

  // Sets ctx.request_id (the client's `x-request-id` when it is a sane
  // one, else a new one) and ctx.trace (the client's `traceparent` trace,
  // or a new one; aigw's span; whether to sample).
  void Begin(RequestContext& ctx, absl::string_view request_id,
             absl::string_view traceparent, absl::string_view tracestate) const;

  // `status` is the request's result; `sent_status` the HTTP status the
  // client got on the wire (0: none, the client left first).
  void Finish(const RequestContext& ctx, const absl::Status& status,
              int sent_status, absl::string_view grpc_status = "") const;

  Metrics* metrics() const { return metrics_; }

 private:
  void ExportSpans(const RequestContext& ctx, const absl::Status& status,
                   int code, absl::Time end) const;

  Metrics* const metrics_;
  AccessLog* const access_log_;
  OtlpExporter* const exporter_;
};

// The outcome as an HTTP status: the error's (499 for a client that
// left), else what was sent.
int OutcomeCode(const absl::Status& status, int sent_status);

}  // namespace aigw

#endif  // AIGW_SERVER_OBSERVABILITY_REQUEST_OBSERVER_H_
