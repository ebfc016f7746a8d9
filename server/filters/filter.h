// The request pipeline's two halves, as in Envoy's HTTP filters: a
// FilterFactory is a policy's immutable config, built once at config load
// and shared by every request; a RequestFilter is its per-request object,
// made by the factory for each request and owning that request's state.
#ifndef AIGW_SERVER_FILTERS_FILTER_H_
#define AIGW_SERVER_FILTERS_FILTER_H_

#include <memory>

#include "absl/status/status.h"
#include "proto/aigw/v1/chat.pb.h"
#include "server/request_context.h"

namespace aigw {

class RequestFilter {
 public:
  virtual ~RequestFilter() = default;
  // Before the router, in chain order: an error answers the request with
  // it, and no upstream is called.
  virtual absl::Status OnRequest(RequestContext& ctx) {
    (void)ctx;
    return absl::OkStatus();
  }
  // Every streamed chunk, before the client gets it: an error ends the
  // stream with it (a final error event).
  virtual absl::Status OnChunk(RequestContext& ctx,
                               const v1::ChatCompletionChunk& chunk) {
    (void)ctx;
    (void)chunk;
    return absl::OkStatus();
  }
  // Once at the end, in reverse chain order, for every filter whose
  // OnRequest ran: `status` is the request's result and ctx.info holds the
  // usage when the upstream reported it.
  virtual void OnEnd(RequestContext& ctx, const absl::Status& status) {
    (void)ctx;
    (void)status;
  }
};

class FilterFactory {
 public:
  virtual ~FilterFactory() = default;
  // Null when the policy has nothing to do for this request.
  virtual std::unique_ptr<RequestFilter> Create(
      const RequestContext& ctx) const = 0;
};

}  // namespace aigw

#endif  // AIGW_SERVER_FILTERS_FILTER_H_
