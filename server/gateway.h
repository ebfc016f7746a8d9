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
#include "server/snapshot.h"

namespace aigw {

// The standing contexts to prepend for one candidate (the route's first).
using ContextTexts = std::vector<std::shared_ptr<const std::string>>;

// What a front door may tell its client about how a request was served.
struct CallInfo {
  std::string provider;  // the provider that answered ("" if none did)
  int attempts = 0;      // upstream calls made
  // Request fields the answering adapter left out (unsupported_params:
  // drop), and upstream headers to relay (x-ratelimit-*). Set with
  // `provider`, before a stream's first chunk.
  std::vector<std::string> dropped_params;
  std::vector<std::pair<std::string, std::string>> upstream_headers;
};

class Gateway {
 public:
  Gateway(std::shared_ptr<const GatewaySnapshot> snapshot, Metrics* metrics);

  // `cancel` (may be null) is cancelled by the front door when its client
  // leaves; `info` (may be null) is filled as the call proceeds.
  absl::StatusOr<v1::ChatCompletion> Create(v1::ChatCompletionRequest request,
                                            CancelToken* cancel,
                                            CallInfo* info = nullptr);
  // Streams chunks to `sink`. `info->provider` is set before the first
  // chunk is written. Failures before the first chunk are retried on other
  // keys and providers; after it, the stream ends with the error.
  absl::Status Stream(v1::ChatCompletionRequest request, ChunkSink& sink,
                      CancelToken* cancel, CallInfo* info = nullptr);
  absl::StatusOr<v1::EmbeddingsResponse> Embed(v1::EmbeddingsRequest request,
                                               CancelToken* cancel,
                                               CallInfo* info = nullptr);
  v1::ListModelsResponse ListModels() const;

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

  absl::Status RunAttempts(const GatewaySnapshot& snapshot,
                           const std::string& model, CancelToken* cancel,
                           CallInfo* info, const AttemptFn& attempt);

  mutable absl::Mutex mu_;
  std::shared_ptr<const GatewaySnapshot> snapshot_ ABSL_GUARDED_BY(mu_);
  Metrics* const metrics_;
  DeadlineTimer timer_;
  std::atomic<int> in_flight_{0};
};

}  // namespace aigw

#endif  // AIGW_SERVER_GATEWAY_H_
