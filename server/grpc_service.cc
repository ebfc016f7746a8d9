#include "server/grpc_service.h"

#include <cstring>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "providers/common/api_error.h"

namespace aigw {
namespace {

// Who is calling: `authorization: Bearer KEY` metadata (also `x-api-key`
// and `api-key`, as the REST front door takes them), and from where.
RequestContext ContextOf(const grpc::ServerContext* context) {
  RequestContext ctx;
  ctx.peer = context->peer();
  const auto& metadata = context->client_metadata();
  for (const char* name : {"authorization", "x-api-key", "api-key"}) {
    auto found = metadata.find(name);
    if (found == metadata.end()) continue;
    absl::string_view value(found->second.data(), found->second.size());
    if (std::string(name) == "authorization") {
      if (!absl::StartsWithIgnoreCase(value, "bearer ")) continue;
      value = absl::StripAsciiWhitespace(value.substr(strlen("bearer ")));
    }
    ctx.api_key = std::string(value);
    if (!ctx.api_key.empty()) break;
  }
  return ctx;
}

// As REST's x-aigw-provider and x-aigw-attempts headers, in the response's
// initial metadata (it must be added before the first message).
void AddCallMetadata(grpc::ServerContext* context, const RequestContext& ctx) {
  const CallInfo& info = ctx.info;
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
  for (const auto& [name, value] : ctx.response_headers) {
    context->AddInitialMetadata(name, value);
  }
}

class WriterSink : public ChunkSink {
 public:
  WriterSink(grpc::ServerContext* context,
             grpc::ServerWriter<v1::ChatCompletionChunk>* writer,
             const RequestContext* ctx)
      : context_(context), writer_(writer), ctx_(ctx) {}
  bool Write(v1::ChatCompletionChunk chunk) override {
    if (first_) {
      first_ = false;
      AddCallMetadata(context_, *ctx_);
    }
    if (!broken_ && !writer_->Write(chunk)) broken_ = true;
    return !broken_;
  }
  bool broken() const { return broken_; }

 private:
  grpc::ServerContext* const context_;
  grpc::ServerWriter<v1::ChatCompletionChunk>* const writer_;
  const RequestContext* const ctx_;
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
// trailing metadata: the gateway's error code, `retry-after` (seconds)
// when the upstream, a cool-down or a limit says when to come back, and a
// limited consumer's x-ratelimit-* values.
grpc::Status ToGrpc(grpc::ServerContext* context, const absl::Status& status,
                    const RequestContext* ctx = nullptr) {
  if (status.ok()) return grpc::Status::OK;
  if (ctx != nullptr) {
    for (const auto& [name, value] : ctx->response_headers) {
      context->AddTrailingMetadata(name, value);
    }
  }
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
               [&](CancelToken* cancel, RequestContext* ctx) {
                 return gateway_->Create(*request, cancel, ctx);
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
  RequestContext ctx = ContextOf(context);
  WriterSink sink(context, writer, &ctx);
  absl::Status status = gateway_->Stream(*request, sink, cancel.get(), &ctx);
  // Still running when the shutdown grace ran out: the client is told so.
  if (EndedByShutdown(*cancel) && !sink.broken()) {
    return ToGrpc(context, ServerShutdownError());
  }
  if (cancel->cancelled() || sink.broken()) return grpc::Status::CANCELLED;
  return ToGrpc(context, status, &ctx);
}

grpc::Status ChatCompletionsService::Embeddings(
    grpc::ServerContext* context, const v1::EmbeddingsRequest* request,
    v1::EmbeddingsResponse* response) {
  return Unary(context, *request, response,
               [&](CancelToken* cancel, RequestContext* ctx) {
                 return gateway_->Embed(*request, cancel, ctx);
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
  RequestContext ctx = ContextOf(context);
  absl::StatusOr<Response> result = call(cancel.get(), &ctx);
  if (EndedByShutdown(*cancel)) return ToGrpc(context, ServerShutdownError());
  if (cancel->cancelled()) return grpc::Status::CANCELLED;
  AddCallMetadata(context, ctx);
  if (!result.ok()) return ToGrpc(context, result.status(), &ctx);
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
    grpc::ServerContext* context, const v1::ListModelsRequest*,
    v1::ListModelsResponse* response) {
  RequestContext ctx = ContextOf(context);
  absl::StatusOr<v1::ListModelsResponse> models = gateway_->ListModels(&ctx);
  if (!models.ok()) return ToGrpc(context, models.status(), &ctx);
  *response = *std::move(models);
  return grpc::Status::OK;
}

}  // namespace aigw
