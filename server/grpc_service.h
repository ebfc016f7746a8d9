// The aigw.v1 gRPC front door: the same Gateway calls as REST, with errors
// as gRPC status codes (the Status codes already are gRPC's).
#ifndef AIGW_SERVER_GRPC_SERVICE_H_
#define AIGW_SERVER_GRPC_SERVICE_H_

#include "proto/aigw/v1/chat.grpc.pb.h"
#include "server/disconnect_watch.h"
#include "server/drain.h"
#include "server/gateway.h"

namespace aigw {

class ChatCompletionsService final : public v1::ChatCompletions::Service {
 public:
  ChatCompletionsService(Gateway* gateway, DisconnectWatch* disconnect_watch,
                         Drain* drain)
      : gateway_(gateway), disconnect_watch_(disconnect_watch), drain_(drain) {}

  grpc::Status Create(grpc::ServerContext* context,
                      const v1::ChatCompletionRequest* request,
                      v1::ChatCompletion* response) override;
  grpc::Status Stream(
      grpc::ServerContext* context, const v1::ChatCompletionRequest* request,
      grpc::ServerWriter<v1::ChatCompletionChunk>* writer) override;
  grpc::Status Embeddings(grpc::ServerContext* context,
                          const v1::EmbeddingsRequest* request,
                          v1::EmbeddingsResponse* response) override;
  grpc::Status ListModels(grpc::ServerContext* context,
                          const v1::ListModelsRequest* request,
                          v1::ListModelsResponse* response) override;

 private:
  // A unary call: size check, cancellation on client exit, metadata, status.
  template <typename Response, typename Call>
  grpc::Status Unary(grpc::ServerContext* context,
                     const google::protobuf::Message& request,
                     Response* response, const Call& call);
  // Cancels the call's upstream request when its client cancels.
  std::unique_ptr<DisconnectWatch::Registration> WatchCall(
      grpc::ServerContext* context, std::shared_ptr<CancelToken> cancel);

  Gateway* const gateway_;
  DisconnectWatch* const disconnect_watch_;
  Drain* const drain_;
};

}  // namespace aigw

#endif  // AIGW_SERVER_GRPC_SERVICE_H_
