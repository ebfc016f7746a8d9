#include "server/grpc_service.h"

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "providers/common/api_error.h"

namespace aigw {
namespace {

// As REST's x-aigw-provider and x-aigw-attempts headers, in the response's
// initial metadata (it must be added before the first message).
void AddCallMetadata(grpc::ServerContext* context, const CallInfo& info) {
  if (!info.provider.empty()) {
    context->AddInitialMetadata("x-aigw-provider", info.provider);
  }
  if (info.attempts > 0) {
    context->AddInitialMetadata("x-aigw-attempts",
                                std::to_string(info.attempts));
  }
  if (!info.dropped_params.empty()) {
    context->AddInitialMetadata("x-aigw-dropped-params",
                                absl::StrJoin(info.dropped_params, ","));
  }
}

class WriterSink : public ChunkSink {
 public:
  WriterSink(grpc::ServerContext* context,
             grpc::ServerWriter<v1::ChatCompletionChunk>* writer,
             const CallInfo* info)
      : context_(context), writer_(writer), info_(info) {}
  bool Write(v1::ChatCompletionChunk chunk) override {
    if (first_) {
      first_ = false;
      AddCallMetadata(context_, *info_);
    }
    if (!broken_ && !writer_->Write(chunk)) broken_ = true;
    return !broken_;
  }
  bool broken() const { return broken_; }

 private:
  grpc::ServerContext* const context_;
  grpc::ServerWriter<v1::ChatCompletionChunk>* const writer_;
  const CallInfo* const info_;
  bool first_ = true;
  bool broken_ = false;
};

// limits.max_body_bytes of the current config, for gRPC requests too (the
// server's own message limit is only the fixed ceiling).
grpc::Status CheckSize(const Gateway& gateway,
                       const google::protobuf::Message& request) {
  size_t limit = gateway.snapshot()->config.limits.max_body_bytes;
  size_t size = request.ByteSizeLong();
  if (size <= limit) return grpc::Status::OK;
  return grpc::Status(
      grpc::StatusCode::RESOURCE_EXHAUSTED,
      absl::StrCat("Request of ", size, " bytes exceeds the limit of ", limit,
                   " bytes."));
}

// The status, with what REST puts in the error body and headers as
// trailing metadata: the gateway's error code, and `retry-after` (seconds)
// when the upstream or a cool-down says when to come back.
grpc::Status ToGrpc(grpc::ServerContext* context, const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  ErrorDetails details = GetErrorDetails(status);
  if (!details.code.empty()) {
    context->AddTrailingMetadata("x-aigw-error-code", details.code);
  }
  if (details.retry_after_ms >= 0) {
    context->AddTrailingMetadata("retry-after",
                                 std::to_string(RetryAfterSeconds(details)));
  }
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

}  // namespace

grpc::Status ChatCompletionsService::Create(
    grpc::ServerContext* context, const v1::ChatCompletionRequest* request,
    v1::ChatCompletion* response) {
  return Unary(context, *request, response,
               [&](CancelToken* cancel, CallInfo* info) {
                 return gateway_->Create(*request, cancel, info);
               });
}

grpc::Status ChatCompletionsService::Stream(
    grpc::ServerContext* context, const v1::ChatCompletionRequest* request,
    grpc::ServerWriter<v1::ChatCompletionChunk>* writer) {
  grpc::Status size = CheckSize(*gateway_, *request);
  if (!size.ok()) return size;
  auto cancel = std::make_shared<CancelToken>();
  std::unique_ptr<DisconnectWatch::Registration> watch =
      WatchCall(context, cancel);
  std::unique_ptr<Drain::Registration> drained = drain_->Track(cancel);
  CallInfo info;
  WriterSink sink(context, writer, &info);
  absl::Status status = gateway_->Stream(*request, sink, cancel.get(), &info);
  // Still running when the shutdown grace ran out: the client is told so.
  if (EndedByShutdown(*cancel) && !sink.broken()) {
    return ToGrpc(context, ServerShutdownError());
  }
  if (cancel->cancelled() || sink.broken()) return grpc::Status::CANCELLED;
  return ToGrpc(context, status);
}

grpc::Status ChatCompletionsService::Embeddings(
    grpc::ServerContext* context, const v1::EmbeddingsRequest* request,
    v1::EmbeddingsResponse* response) {
  return Unary(context, *request, response,
               [&](CancelToken* cancel, CallInfo* info) {
                 return gateway_->Embed(*request, cancel, info);
               });
}

template <typename Response, typename Call>
grpc::Status ChatCompletionsService::Unary(
    grpc::ServerContext* context, const google::protobuf::Message& request,
    Response* response, const Call& call) {
  grpc::Status size = CheckSize(*gateway_, request);
  if (!size.ok()) return size;
  auto cancel = std::make_shared<CancelToken>();
  std::unique_ptr<DisconnectWatch::Registration> watch =
      WatchCall(context, cancel);
  std::unique_ptr<Drain::Registration> drained = drain_->Track(cancel);
  CallInfo info;
  absl::StatusOr<Response> result = call(cancel.get(), &info);
  if (EndedByShutdown(*cancel)) return ToGrpc(context, ServerShutdownError());
  if (cancel->cancelled()) return grpc::Status::CANCELLED;
  AddCallMetadata(context, info);
  if (!result.ok()) return ToGrpc(context, result.status());
  *response = *std::move(result);
  return grpc::Status::OK;
}

std::unique_ptr<DisconnectWatch::Registration>
ChatCompletionsService::WatchCall(grpc::ServerContext* context,
                                  std::shared_ptr<CancelToken> cancel) {
  return disconnect_watch_->WatchProbe(
      [context] { return context->IsCancelled(); },
      [cancel = std::move(cancel)] { cancel->Cancel(); });
}

grpc::Status ChatCompletionsService::ListModels(
    grpc::ServerContext*, const v1::ListModelsRequest*,
    v1::ListModelsResponse* response) {
  *response = gateway_->ListModels();
  return grpc::Status::OK;
}

}  // namespace aigw
