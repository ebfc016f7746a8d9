// The core both front doors call: validation, model routing, the provider
// call, and mapping the model name back. REST and gRPC only translate.
#ifndef AIGW_SERVER_GATEWAY_H_
#define AIGW_SERVER_GATEWAY_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "proto/aigw/v1/chat.pb.h"
#include "providers/provider.h"
#include "server/config.h"
#include "server/metrics.h"
#include "server/model_mapper.h"

namespace aigw {

struct Backend {
  ProviderConfig config;
  ModelMapper mapper;
  std::unique_ptr<Provider> provider;
};

// Everything built from one config. Immutable; requests hold it by
// shared_ptr for their whole life, so a reload never changes a request
// mid-way.
struct GatewaySnapshot {
  GatewayConfig config;
  std::vector<Backend> backends;
};

absl::StatusOr<std::shared_ptr<const GatewaySnapshot>> BuildSnapshot(
    GatewayConfig config);

class Gateway {
 public:
  Gateway(std::shared_ptr<const GatewaySnapshot> snapshot, Metrics* metrics);

  absl::StatusOr<v1::ChatCompletion> Create(v1::ChatCompletionRequest request,
                                            CancelToken* cancel);
  // Streams chunks to `sink`. When it fails before any chunk was written the
  // caller may still answer with a plain error.
  absl::Status Stream(v1::ChatCompletionRequest request, ChunkSink& sink,
                      CancelToken* cancel);
  absl::StatusOr<v1::EmbeddingsResponse> Embed(v1::EmbeddingsRequest request,
                                               CancelToken* cancel);
  v1::ListModelsResponse ListModels() const;

  std::shared_ptr<const GatewaySnapshot> snapshot() const;
  void SetSnapshot(std::shared_ptr<const GatewaySnapshot> snapshot);

 private:
  mutable absl::Mutex mu_;
  std::shared_ptr<const GatewaySnapshot> snapshot_ ABSL_GUARDED_BY(mu_);
  Metrics* const metrics_;
};

}  // namespace aigw

#endif  // AIGW_SERVER_GATEWAY_H_
