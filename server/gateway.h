// The core both front doors call: validation, the route plan, attempts
// with retries and fallback across keys and providers, timeouts, standing
// context, and mapping the model name back. REST and gRPC only translate.
#ifndef AIGW_SERVER_GATEWAY_H_
#define AIGW_SERVER_GATEWAY_H_

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
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

// A front door's side of a stream.
class StreamWriter {
 public:
  virtual ~StreamWriter() = default;
  // Sends `chunks` (what one upstream read decoded) to the client and
  // returns once they are handed to its socket; false: the client is gone.
  // The first call comes after ctx->info says who answered.
  virtual boost::asio::awaitable<bool> Write(
      std::vector<v1::ChatCompletionChunk>& chunks) = 0;
};

class Gateway {
 public:
  // `clock` bounds the retry budget (tests pass a fake one).
  using Clock = std::function<absl::Time()>;
  Gateway(std::shared_ptr<const GatewaySnapshot> snapshot, Metrics* metrics,
          Clock clock = absl::Now);

  // Each request runs through the snapshot's filter chain (auth,
  // validation, limits) around the route plan, on `loop` (the
  // caller's event loop: every upstream exchange of the request runs
  // there). `cancel` (may be null) is cancelled when the client leaves;
  // `ctx` (may be null) carries who is calling in and what was decided out.
  boost::asio::awaitable<absl::StatusOr<v1::ChatCompletion>> Create(
      v1::ChatCompletionRequest request, boost::asio::io_context& loop,
      CancelToken* cancel, RequestContext* ctx = nullptr);
  // Streams chunks to `writer`. `ctx->info.provider` and the filters'
  // headers are set before the first write. Failures before the first
  // chunk are retried on other keys and providers; after it, the stream
  // ends with the error.
  boost::asio::awaitable<absl::Status> Stream(v1::ChatCompletionRequest request,
                                              StreamWriter& writer,
                                              boost::asio::io_context& loop,
                                              CancelToken* cancel,
                                              RequestContext* ctx = nullptr);
  boost::asio::awaitable<absl::StatusOr<v1::EmbeddingsResponse>> Embed(
      v1::EmbeddingsRequest request, boost::asio::io_context& loop,
      CancelToken* cancel, RequestContext* ctx = nullptr);
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
  // `call` carries the headers to forward (x-request-id, traceparent) in
  // and the upstream's out.
  using AttemptFn = std::function<boost::asio::awaitable<absl::Status>(
      const Candidate& candidate, const ContextTexts& contexts,
      CancelToken& token, CallContext& call, bool* committed)>;

  // `plan` is PlanFor's answer for ctx->model (its error is returned).
  // Every attempt is recorded in ctx->info (its span) and its upstream wait
  // added to ctx->upstream_wait.
  boost::asio::awaitable<absl::Status> RunAttempts(
      const GatewaySnapshot& snapshot,
      const absl::StatusOr<std::vector<Candidate>>& plan, CancelToken* cancel,
      RequestContext* ctx, const AttemptFn& attempt);

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
