// The aigw.v1 gRPC front door on gRPC's callback API: the same Gateway
// calls as REST, run on the data plane's event loops, with errors as gRPC
// status codes (the Status codes already are gRPC's). A stream in flight
// holds no thread; a slow reader pauses the upstream read, and one that
// accepts nothing for `write_timeout` is cancelled.
#ifndef AIGW_SERVER_GRPC_SERVICE_H_
#define AIGW_SERVER_GRPC_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include "absl/time/time.h"
#include "proto/aigw/v1/chat.grpc.pb.h"
#include "server/drain.h"
#include "server/gateway.h"
#include "server/net/io_loops.h"
#include "server/observability/request_observer.h"

namespace aigw {

class ChatCompletionsService final
    : public v1::ChatCompletions::CallbackService {
 public:
  ChatCompletionsService(Gateway* gateway, IoLoops* loops, Drain* drain,
                         const RequestObserver* observer,
                         absl::Duration write_timeout = absl::Seconds(30))
      : gateway_(gateway),
        loops_(loops),
        drain_(drain),
        observer_(observer),
        write_timeout_(write_timeout) {}

  grpc::ServerUnaryReactor* Create(grpc::CallbackServerContext* context,
                                   const v1::ChatCompletionRequest* request,
                                   v1::ChatCompletion* response) override;
  grpc::ServerWriteReactor<v1::ChatCompletionChunk>* Stream(
      grpc::CallbackServerContext* context,
      const v1::ChatCompletionRequest* request) override;
  grpc::ServerUnaryReactor* Embeddings(
      grpc::CallbackServerContext* context,
      const v1::EmbeddingsRequest* request,
      v1::EmbeddingsResponse* response) override;
  grpc::ServerUnaryReactor* ListModels(
      grpc::CallbackServerContext* context,
      const v1::ListModelsRequest* request,
      v1::ListModelsResponse* response) override;

 private:
  Gateway* const gateway_;
  IoLoops* const loops_;
  Drain* const drain_;
  const RequestObserver* const observer_;
  const absl::Duration write_timeout_;
};

}  // namespace aigw

#endif  // AIGW_SERVER_GRPC_SERVICE_H_
