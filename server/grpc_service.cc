#include "server/grpc_service.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstring>
#include <exception>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "providers/common/api_error.h"
#include "providers/common/log.h"

namespace aigw {
namespace {

constexpr char kService[] = "/aigw.v1.ChatCompletions/";

absl::string_view Metadata(const grpc::ServerContextBase* context,
                           const char* name) {
  const auto& metadata = context->client_metadata();
  auto found = metadata.find(name);
  if (found == metadata.end()) return "";
  return absl::string_view(found->second.data(), found->second.size());
}

// The gRPC code's name as the access log shows it ("RESOURCE_EXHAUSTED").
const char* CodeName(grpc::StatusCode code) {
  static constexpr const char* kNames[] = {"OK",
                                           "CANCELLED",
                                           "UNKNOWN",
                                           "INVALID_ARGUMENT",
                                           "DEADLINE_EXCEEDED",
                                           "NOT_FOUND",
                                           "ALREADY_EXISTS",
                                           "PERMISSION_DENIED",
                                           "RESOURCE_EXHAUSTED",
                                           "FAILED_PRECONDITION",
                                           "ABORTED",
                                           "OUT_OF_RANGE",
                                           "UNIMPLEMENTED",
                                           "INTERNAL",
                                           "UNAVAILABLE",
                                           "DATA_LOSS",
                                           "UNAUTHENTICATED"};
  int index = static_cast<int>(code);
  return index >= 0 && index < 17 ? kNames[index] : "UNKNOWN";
}

// A gRPC status as the observer's result (the codes are the same).
absl::Status AsStatus(const grpc::Status& status) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      status.error_message());
}

// Who is calling: `authorization: Bearer KEY` metadata (also `x-api-key`
// and `api-key`, as the REST front door takes them), and from where; its
// request id (sent back in the initial metadata) and trace context.
RequestContext ContextOf(grpc::ServerContextBase* context,
                         const RequestObserver& observer,
                         absl::string_view method,
                         const google::protobuf::Message& request) {
  RequestContext ctx;
  ctx.protocol = "grpc";
  ctx.method = absl::StrCat(kService, method);
  ctx.bytes_in = request.ByteSizeLong();
  observer.Begin(ctx, Metadata(context, "x-request-id"),
                 Metadata(context, "traceparent"),
                 Metadata(context, "tracestate"));
  context->AddInitialMetadata("x-request-id", ctx.request_id);
  ctx.peer = context->peer();
  if (context->deadline() != std::chrono::system_clock::time_point::max()) {
    ctx.deadline = absl::FromChrono(context->deadline());
  }
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
void AddCallMetadata(grpc::ServerContextBase* context,
                     const RequestContext& ctx) {
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

// limits.max_body_bytes of the current config, for gRPC requests too (the
// server's own message limit is only the fixed ceiling).
grpc::Status CheckSize(grpc::ServerContextBase* context, const Gateway& gateway,
                       const google::protobuf::Message& request) {
  size_t limit = gateway.snapshot()->config.limits.max_body_bytes;
  size_t size = request.ByteSizeLong();
  if (size <= limit) return grpc::Status::OK;
  context->AddTrailingMetadata("x-aigw-error-code", "request_too_large");
  return grpc::Status(
      grpc::StatusCode::RESOURCE_EXHAUSTED,
      absl::StrCat("Request of ", size, " bytes exceeds the limit of ", limit,
                   " bytes."));
}

// The status, with what REST puts in the error body and headers as
// trailing metadata: the gateway's error code, `retry-after` (seconds)
// when the upstream, a cool-down or a limit says when to come back, and a
// limited consumer's x-ratelimit-* values.
grpc::Status ToGrpc(grpc::ServerContextBase* context,
                    const absl::Status& status,
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
  // An error an upstream gave (this gateway tried one): a gateway in front
  // must not hold it against its own key to this one.
  if (ctx != nullptr && !ctx->info.attempt_records.empty()) {
    context->AddTrailingMetadata("x-aigw-error-source", "upstream");
  }
  if (details.retry_after_ms >= 0) {
    context->AddTrailingMetadata("retry-after",
                                 std::to_string(RetryAfterSeconds(details)));
  }
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

// A unary call run on an event loop. It lives until gRPC says it is done;
// the coroutine finishes it, and a client that cancels cancels the
// upstream request.
class UnaryCall : public grpc::ServerUnaryReactor {
 public:
  UnaryCall() = default;
  void OnCancel() override { cancel->Cancel(); }
  void OnDone() override { delete this; }

  const std::shared_ptr<CancelToken> cancel = std::make_shared<CancelToken>();
  // The call's, here so that a coroutine that throws leaves it to the
  // handler that answers INTERNAL; `observed` once Observe recorded it.
  RequestContext ctx;
  bool observed = false;
};

// What a call whose coroutine threw answers (the REST front door's 500).
absl::Status InternalFailure() {
  ApiErrorSpec spec;
  spec.code = absl::StatusCode::kInternal;
  spec.http_status = 500;
  spec.type = "server_error";
  spec.message = "Internal error.";
  spec.error_code = "internal_error";
  return MakeApiError(spec);
}

// Logs what a call's coroutine threw.
void LogFailure(const RequestContext& ctx, std::exception_ptr error) {
  std::string what = "unknown exception";
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    what = e.what();
  } catch (...) {
  }
  Log(LogLevel::kError,
      absl::StrCat("internal error serving ", ctx.method, ": ", what),
      {{"method", ctx.method},
       {"request_id", ctx.request_id},
       {"error", what}});
}

// The observer's record of a call answered with `reply`: `result` is the
// gateway's (a client that left: Cancelled).
void Observe(const RequestObserver& observer, RequestContext& ctx,
             const absl::Status& result, const grpc::Status& reply) {
  // The gateway's own error keeps its details (HTTP status, code); a
  // status the front door made (shutdown, cancel, size) is taken as sent.
  bool gateways = !result.ok() && static_cast<int>(result.code()) ==
                                      static_cast<int>(reply.error_code());
  observer.Finish(ctx, reply.ok() || gateways ? result : AsStatus(reply),
                  reply.ok() ? 200 : 0, CodeName(reply.error_code()));
}

// A call refused before it reached the gateway (too large).
void ObserveRefused(const RequestObserver& observer,
                    grpc::ServerContextBase* context, absl::string_view method,
                    Operation operation,
                    const google::protobuf::Message& request,
                    const grpc::Status& reply) {
  RequestContext ctx = ContextOf(context, observer, method, request);
  ctx.operation = operation;
  Observe(observer, ctx, AsStatus(reply), reply);
}

// Runs `call` (a coroutine answering StatusOr<Response>) for a unary RPC.
template <typename Response, typename Call>
grpc::ServerUnaryReactor* RunUnary(
    Gateway* gateway, IoLoops* loops, Drain* drain,
    const RequestObserver* observer, absl::string_view method,
    Operation operation, grpc::CallbackServerContext* context,
    const google::protobuf::Message& request, Response* response, Call call) {
  auto* reactor = new UnaryCall();
  grpc::Status size = CheckSize(context, *gateway, request);
  if (!size.ok()) {
    ObserveRefused(*observer, context, method, operation, request, size);
    reactor->Finish(size);
    return reactor;
  }
  boost::asio::io_context& loop = loops->Next();
  std::shared_ptr<CancelToken> cancel = reactor->cancel;
  reactor->ctx = ContextOf(context, *observer, method, request);
  reactor->ctx.operation = operation;
  boost::asio::co_spawn(
      loop,
      [reactor, context, response, cancel, drain, observer, &loop,
       call = std::move(call)]() -> boost::asio::awaitable<void> {
        std::unique_ptr<Drain::Registration> drained = drain->Track(cancel);
        RequestContext& ctx = reactor->ctx;
        absl::StatusOr<Response> result =
            co_await call(loop, cancel.get(), &ctx);
        drained.reset();
        grpc::Status reply;
        if (EndedByShutdown(*cancel)) {
          reply = ToGrpc(context, ServerShutdownError());
        } else if (cancel->cancelled()) {
          reply = grpc::Status::CANCELLED;
        } else {
          AddCallMetadata(context, ctx);
          if (!result.ok()) {
            reply = ToGrpc(context, result.status(), &ctx);
          } else {
            *response = *std::move(result);
            ctx.bytes_out = response->ByteSizeLong();
          }
        }
        Observe(*observer, ctx, result.status(), reply);
        reactor->observed = true;
        reactor->Finish(reply);
      },
      // Every path above finishes the call; an exception ends it too, and
      // is recorded as the call's answer.
      [reactor, context, observer](std::exception_ptr error) {
        if (!error) return;
        LogFailure(reactor->ctx, error);
        absl::Status failure = InternalFailure();
        grpc::Status reply = ToGrpc(context, failure);
        if (!reactor->observed) {
          Observe(*observer, reactor->ctx, failure, reply);
        }
        reactor->Finish(reply);
      });
  return reactor;
}

// A server stream: each batch of chunks is written one message at a time,
// the next only after gRPC took the last (its flow control is the
// backpressure that pauses the upstream read).
class StreamCall : public grpc::ServerWriteReactor<v1::ChatCompletionChunk>,
                   public StreamWriter {
 public:
  StreamCall(grpc::CallbackServerContext* context,
             boost::asio::io_context& loop, absl::Duration write_timeout)
      : context_(context),
        loop_(loop),
        write_timeout_(write_timeout),
        event_(std::make_shared<boost::asio::steady_timer>(loop)) {}

  void OnWriteDone(bool ok) override {
    boost::asio::post(loop_, [this, ok] {
      write_ok_ = ok;
      write_pending_ = false;
      event_->cancel();
    });
  }
  void OnCancel() override { cancel->Cancel(); }
  // Its timer belongs to the loop: deleted there.
  void OnDone() override {
    boost::asio::post(loop_, [this] { delete this; });
  }

  boost::asio::awaitable<bool> Write(
      std::vector<v1::ChatCompletionChunk>& chunks) override {
    for (v1::ChatCompletionChunk& chunk : chunks) {
      if (broken_) co_return false;
      if (first_) {
        first_ = false;
        AddCallMetadata(context_, ctx);
      }
      message_ = std::move(chunk);
      ctx.bytes_out += message_.ByteSizeLong();
      absl::Time from = absl::Now();
      write_pending_ = true;
      StartWrite(&message_);
      event_->expires_after(absl::ToChronoNanoseconds(write_timeout_));
      auto [ec] = co_await event_->async_wait(
          boost::asio::as_tuple(boost::asio::use_awaitable));
      if (write_pending_) {
        // The client accepted nothing for write_timeout: the call ends
        // (its pending write completes, not ok, before OnDone).
        timed_out_ = true;
        context_->TryCancel();
        cancel->Cancel();
        while (write_pending_) {
          event_->expires_after(std::chrono::seconds(60));
          co_await event_->async_wait(
              boost::asio::as_tuple(boost::asio::use_awaitable));
        }
      }
      ctx.client_wait += absl::Now() - from;
      if (!write_ok_ || timed_out_) broken_ = true;
    }
    co_return !broken_;
  }

  bool broken() const { return broken_; }
  bool timed_out() const { return timed_out_; }

  const std::shared_ptr<CancelToken> cancel = std::make_shared<CancelToken>();
  // The call's, here so that a coroutine that throws leaves it to the
  // handler that answers INTERNAL; `observed` once Observe recorded it.
  RequestContext ctx;
  bool observed = false;

 private:
  grpc::CallbackServerContext* const context_;
  boost::asio::io_context& loop_;
  const absl::Duration write_timeout_;
  std::shared_ptr<boost::asio::steady_timer> event_;
  v1::ChatCompletionChunk message_;
  bool write_pending_ = false;
  bool write_ok_ = true;
  bool first_ = true;
  bool broken_ = false;
  bool timed_out_ = false;
};

// A gRPC caller's request without the passthrough fields: only a front
// door that decoded the same body may set them, or a client could send one
// small request to the limits and another to the upstream.
v1::ChatCompletionRequest WithoutPassthrough(
    const v1::ChatCompletionRequest& request) {
  v1::ChatCompletionRequest copy = request;
  copy.clear_passthrough_protocol();
  copy.clear_passthrough_body();
  copy.clear_passthrough_headers();
  copy.clear_untranslatable();
  copy.clear_untranslatable_param();
  return copy;
}

}  // namespace

grpc::ServerUnaryReactor* ChatCompletionsService::Create(
    grpc::CallbackServerContext* context,
    const v1::ChatCompletionRequest* request, v1::ChatCompletion* response) {
  Gateway* gateway = gateway_;
  return RunUnary(gateway_, loops_, drain_, observer_, "Create",
                  Operation::kChat, context, *request, response,
                  [gateway, request](boost::asio::io_context& loop,
                                     CancelToken* cancel, RequestContext* ctx) {
                    return gateway->Create(WithoutPassthrough(*request), loop,
                                           cancel, ctx);
                  });
}

grpc::ServerUnaryReactor* ChatCompletionsService::Embeddings(
    grpc::CallbackServerContext* context, const v1::EmbeddingsRequest* request,
    v1::EmbeddingsResponse* response) {
  Gateway* gateway = gateway_;
  return RunUnary(gateway_, loops_, drain_, observer_, "Embeddings",
                  Operation::kEmbeddings, context, *request, response,
                  [gateway, request](boost::asio::io_context& loop,
                                     CancelToken* cancel, RequestContext* ctx) {
                    return gateway->Embed(*request, loop, cancel, ctx);
                  });
}

grpc::ServerWriteReactor<v1::ChatCompletionChunk>*
ChatCompletionsService::Stream(grpc::CallbackServerContext* context,
                               const v1::ChatCompletionRequest* request) {
  boost::asio::io_context& loop = loops_->Next();
  auto* call = new StreamCall(context, loop, write_timeout_);
  grpc::Status size = CheckSize(context, *gateway_, *request);
  if (!size.ok()) {
    ObserveRefused(*observer_, context, "Stream", Operation::kChat, *request,
                   size);
    call->Finish(size);
    return call;
  }
  Gateway* gateway = gateway_;
  Drain* drain = drain_;
  const RequestObserver* observer = observer_;
  call->ctx = ContextOf(context, *observer, "Stream", *request);
  call->ctx.stream = true;
  boost::asio::co_spawn(
      loop,
      [call, context, request, gateway, drain, observer,
       &loop]() -> boost::asio::awaitable<void> {
        std::shared_ptr<CancelToken> cancel = call->cancel;
        std::unique_ptr<Drain::Registration> drained = drain->Track(cancel);
        RequestContext& ctx = call->ctx;
        v1::ChatCompletionRequest chat = WithoutPassthrough(*request);
        absl::Status status = co_await gateway->Stream(
            std::move(chat), *call, loop, cancel.get(), &ctx);
        drained.reset();
        grpc::Status reply;
        // Still running when the shutdown grace ran out: the client is
        // told so.
        if (EndedByShutdown(*cancel) && !call->broken()) {
          reply = ToGrpc(context, ServerShutdownError());
        } else if (call->timed_out()) {
          reply = grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                               "the client read nothing for too long");
        } else if (cancel->cancelled() || call->broken()) {
          reply = grpc::Status::CANCELLED;
        } else if (!status.ok()) {
          reply = ToGrpc(context, status, &ctx);
        }
        Observe(*observer, ctx, status, reply);
        call->observed = true;
        call->Finish(reply);
      },
      // Every path above finishes the call; an exception ends it too, and
      // is recorded as the call's answer.
      [call, context, observer](std::exception_ptr error) {
        if (!error) return;
        LogFailure(call->ctx, error);
        absl::Status failure = InternalFailure();
        grpc::Status reply = ToGrpc(context, failure);
        if (!call->observed) Observe(*observer, call->ctx, failure, reply);
        call->Finish(reply);
      });
  return call;
}

grpc::ServerUnaryReactor* ChatCompletionsService::ListModels(
    grpc::CallbackServerContext* context, const v1::ListModelsRequest*,
    v1::ListModelsResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  v1::ListModelsRequest empty;
  RequestContext ctx = ContextOf(context, *observer_, "ListModels", empty);
  ctx.operation = Operation::kListModels;
  absl::StatusOr<v1::ListModelsResponse> models = gateway_->ListModels(&ctx);
  grpc::Status reply;
  if (!models.ok()) {
    reply = ToGrpc(context, models.status(), &ctx);
  } else {
    *response = *std::move(models);
    ctx.bytes_out = response->ByteSizeLong();
  }
  Observe(*observer_, ctx, models.status(), reply);
  reactor->Finish(reply);
  return reactor;
}

}  // namespace aigw
