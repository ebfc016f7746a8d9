#include "server/grpc_service.h"

#include <string>

#include "server/stream_session.h"

namespace aigw {
namespace {

constexpr absl::Duration kClientCheckInterval = absl::Milliseconds(200);

grpc::Status ToGrpc(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

}  // namespace

grpc::Status ChatCompletionsService::Create(
    grpc::ServerContext*, const v1::ChatCompletionRequest* request,
    v1::ChatCompletion* response) {
  absl::StatusOr<v1::ChatCompletion> completion =
      gateway_->Create(*request, nullptr);
  if (!completion.ok()) return ToGrpc(completion.status());
  *response = std::move(*completion);
  return grpc::Status::OK;
}

grpc::Status ChatCompletionsService::Stream(
    grpc::ServerContext* context, const v1::ChatCompletionRequest* request,
    grpc::ServerWriter<v1::ChatCompletionChunk>* writer) {
  std::unique_ptr<StreamSession> session =
      StreamSession::Start(*gateway_, *request, *stream_workers_);
  std::vector<v1::ChatCompletionChunk> chunks;
  for (;;) {
    switch (session->Next(&chunks, kClientCheckInterval)) {
      case StreamSession::Event::kIdle:
        if (context->IsCancelled()) {
          session->Cancel();
          return grpc::Status::CANCELLED;
        }
        break;
      case StreamSession::Event::kChunk:
        for (const v1::ChatCompletionChunk& chunk : chunks) {
          if (!writer->Write(chunk)) {
            session->Cancel();
            return grpc::Status::CANCELLED;
          }
        }
        break;
      case StreamSession::Event::kEnd:
        return ToGrpc(session->status());
    }
  }
}

grpc::Status ChatCompletionsService::ListModels(
    grpc::ServerContext*, const v1::ListModelsRequest*,
    v1::ListModelsResponse* response) {
  *response = gateway_->ListModels();
  return grpc::Status::OK;
}

}  // namespace aigw
