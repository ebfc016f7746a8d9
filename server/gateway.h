// The core both front doors call: validation, the route plan, attempts
// with retries and fallback across keys and providers, timeouts, standing
// context, and mapping the model name back. REST and gRPC only translate.
#ifndef AIGW_SERVER_GATEWAY_H_
#define AIGW_SERVER_GATEWAY_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "proto/aigw/v1/chat.pb.h"
#include "providers/provider.h"
#include "server/deadline_timer.h"
#include "server/metrics.h"
#include "server/request_context.h"
#include "server/snapshot.h"

namespace aigw {

// The standing contexts to prepend for one candidate (the route's first).
using ContextTexts = std::vector<std::shared_ptr<const std::string>>;

class Gateway {
 public:
  // `clock` bounds the retry budget (tests pass a fake one).
  using Clock = std::function<absl::Time()>;
  Gateway(std::shared_ptr<const GatewaySnapshot> snapshot, Metrics* metrics,
          Clock clock = absl::Now);

  // Each request runs through the snapshot's filter chain (auth,
  // validation, limits, accounting) around the route plan. `cancel` (may
  // be null) is cancelled by the front door when its client leaves; `ctx`
  // (may be null) carries who is calling in and what was decided out.
  absl::StatusOr<v1::ChatCompletion> Create(v1::ChatCompletionRequest request,
                                            CancelToken* cancel,
                                            RequestContext* ctx = nullptr);
  // Streams chunks to `sink`. `ctx->info.provider` and the filters' headers
  // are set before the first chunk is written. Failures before the first
  // chunk are retried on other keys and providers; after it, the stream
  // ends with the error.
  absl::Status Stream(v1::ChatCompletionRequest request, ChunkSink& sink,
                      CancelToken* cancel, RequestContext* ctx = nullptr);
  absl::StatusOr<v1::EmbeddingsResponse> Embed(v1::EmbeddingsRequest request,
                                               CancelToken* cancel,
                                               RequestContext* ctx = nullptr);
  // The models the caller may use (all of them on an open gateway).
  absl::StatusOr<v1::ListModelsResponse> ListModels(
      RequestContext* ctx = nullptr) const;
  absl::StatusOr<v1::Model> FindModel(const std::string& id,
                                      RequestContext* ctx = nullptr) const;
  // Who is calling (the auth filter alone), for a front door that must
  // answer before a request reaches the chain (a body that does not parse).
  absl::Status Authenticate(const RequestContext& ctx) const;

  std::shared_ptr<const GatewaySnapshot> snapshot() const;
  void SetSnapshot(std::shared_ptr<const GatewaySnapshot> snapshot);
  // Requests being served now (shutdown waits for them, for a while).
  int in_flight() const { return in_flight_.load(); }

 private:
  // One upstream call to `candidate` under `token` (cancelled on client
  // exit or timeout). `*committed` becomes true once the client got bytes.
  using AttemptFn = std::function<absl::Status(
      const Candidate& candidate, const ContextTexts& contexts,
      CancelToken& token, bool* committed)>;

  // `plan` is PlanFor's answer for `model` (its error is returned).
  absl::Status RunAttempts(const GatewaySnapshot& snapshot,
                           const absl::StatusOr<std::vector<Candidate>>& plan,
                           const std::string& model, CancelToken* cancel,
                           CallInfo* info, const AttemptFn& attempt);

  // The filters a model listing passes (auth): ctx.consumer is who asks.
  absl::Status CheckListing(const GatewaySnapshot& snapshot,
                            RequestContext& ctx) const;

  mutable absl::Mutex mu_;
  std::shared_ptr<const GatewaySnapshot> snapshot_ ABSL_GUARDED_BY(mu_);
  Metrics* const metrics_;
  const Clock clock_;
  DeadlineTimer timer_;
  std::atomic<int> in_flight_{0};
};

}  // namespace aigw

#endif  // AIGW_SERVER_GATEWAY_H_
