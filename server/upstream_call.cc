#include "server/upstream_call.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <utility>

#include "absl/strings/str_cat.h"
#include "providers/common/api_error.h"
#include "providers/common/chat_assembler.h"
#include "providers/common/key_ring.h"
#include "server/filters/rate_limit/estimator.h"
#include "server/net/grpc_upstream.h"

namespace aigw {

namespace asio = boost::asio;

namespace {

constexpr auto kAwait = asio::as_tuple(asio::use_awaitable);

// A provider without keys of its own (a local server) leases nothing.
absl::StatusOr<KeyRing::Lease> Lease(Provider& provider,
                                     absl::string_view model) {
  if (provider.keys() == nullptr) return KeyRing::Lease();
  return provider.keys()->Acquire(model);
}

absl::Status Report(Provider& provider,
                    const absl::StatusOr<KeyRing::Lease>& lease,
                    const absl::Status& status) {
  if (provider.keys() == nullptr || !lease.ok()) return status;
  return provider.keys()->ReportAndRedact(*lease, status);
}

// A remote gateway's answer: what it relayed from its own upstream says
// nothing of our key to it.
absl::Status ReportRemote(Provider& provider,
                          const absl::StatusOr<KeyRing::Lease>& lease,
                          const absl::Status& status) {
  if (client::FromRemoteUpstream(status)) return status;
  return Report(provider, lease, status);
}

absl::Status Redact(Provider& provider, const absl::Status& status) {
  if (provider.keys() == nullptr || status.ok()) return status;
  return RedactSecrets(status, provider.keys()->keys());
}

asio::awaitable<bool> NoFlush() { co_return true; }

// A request only its own protocol can carry reaches only an adapter that
// passes the client's body through.
absl::Status Translatable(const Provider& provider,
                          const v1::ChatCompletionRequest& request) {
  if (request.untranslatable().empty() || provider.Passthrough(request)) {
    return absl::OkStatus();
  }
  return InvalidRequest(
      absl::StrCat(request.untranslatable(),
                   " (only a provider speaking the client's own protocol, "
                   "which gets the body as sent, can serve this request)"),
      request.untranslatable_param(), kUntranslatableCode);
}

// An Anthropic count_tokens request a provider other than Claude serves:
// the gateway's own estimate, in Anthropic's answer shape.
v1::ChatCompletion LocalTokenCount(const v1::ChatCompletionRequest& request) {
  v1::ChatCompletion counted;
  counted.mutable_usage();  // counting spends no tokens
  counted.set_passthrough_body(
      absl::StrCat(R"({"input_tokens":)", EstimatePromptTokens(request), "}"));
  return counted;
}

GrpcTarget GrpcTargetOf(const UpstreamTarget& target,
                        const KeyRing::Lease& lease) {
  GrpcTarget remote;
  remote.client = target.provider->grpc_client();
  remote.loop = target.loop;
  remote.cancel = target.cancel;
  remote.key = lease.key;
  return remote;
}

// The gateway's own headers (x-request-id, traceparent) join the adapter's.
void AddForwardHeaders(const CallContext& call, UpstreamRequest& request) {
  for (const auto& [name, value] : call.forward_headers) {
    request.headers.erase(name);
    request.headers.emplace(name, value);
  }
}

// Sends `request` and feeds the 2xx body to `decoder`, flushing after each
// read. The decoder's own error wins (an error event inside a 2xx stream
// says more than the HTTP status); then the exchange's; then, unless the
// client left, what the decoder makes of the body's end.
asio::awaitable<absl::Status> RunStream(const UpstreamTarget& target,
                                        const UpstreamRequest& request,
                                        StreamDecoder& decoder,
                                        CallContext& call, const FlushFn& flush,
                                        bool* client_left) {
  UpstreamExchange exchange(target.pool, *target.loop, target.cancel);
  absl::Time waited_from = absl::Now();
  absl::Status status = co_await exchange.Start(request);
  call.upstream_wait += absl::Now() - waited_from;
  call.upstream_headers = exchange.rate_limit_headers();
  if (!status.ok()) co_return status;
  bool ended = false;
  while (true) {
    waited_from = absl::Now();
    absl::StatusOr<absl::string_view> piece = co_await exchange.Read();
    call.upstream_wait += absl::Now() - waited_from;
    if (!piece.ok()) {
      status = piece.status();
      break;
    }
    if (piece->empty()) {
      ended = true;
      break;
    }
    bool more = decoder.Feed(*piece);
    if (!co_await flush()) {
      *client_left = true;
      co_return absl::CancelledError("client left");
    }
    if (!more) break;
  }
  if (!decoder.error().ok()) co_return decoder.error();
  if (!status.ok() || decoder.client_gone() || !ended) co_return status;
  status = decoder.Finish();
  if (!co_await flush()) *client_left = true;
  co_return status;
}

// A local provider's answer, each chunk after its delay.
asio::awaitable<absl::Status> RunLocal(const UpstreamTarget& target,
                                       LocalAnswer answer, ChunkSink& sink,
                                       const FlushFn& flush,
                                       CallContext& call) {
  auto timer = std::make_shared<asio::steady_timer>(*target.loop);
  if (target.cancel != nullptr) {
    asio::io_context* loop = target.loop;
    std::weak_ptr<asio::steady_timer> weak = timer;
    target.cancel->SetCanceller([loop, weak] {
      asio::post(*loop, [weak] {
        if (auto timer = weak.lock()) timer->cancel();
      });
    });
  }
  absl::Status status = answer.status;
  for (size_t i = 0; i < answer.chunks.size(); ++i) {
    absl::Duration delay =
        i < answer.delays.size() ? answer.delays[i] : absl::ZeroDuration();
    if (delay > absl::ZeroDuration()) {
      // What was written so far goes out before the pause.
      if (!co_await flush()) {
        status = absl::CancelledError("client left");
        break;
      }
      timer->expires_after(absl::ToChronoNanoseconds(delay));
      absl::Time waited_from = absl::Now();
      co_await timer->async_wait(kAwait);
      call.upstream_wait += absl::Now() - waited_from;
    }
    if (target.cancel != nullptr && target.cancel->cancelled()) {
      status = target.cancel->reason();
      break;
    }
    if (!sink.Write(std::move(answer.chunks[i]))) {
      status = absl::CancelledError("client left");
      break;
    }
  }
  if (target.cancel != nullptr) target.cancel->ClearCanceller();
  if (!co_await flush() && status.ok()) {
    status = absl::CancelledError("client left");
  }
  co_return status;
}

// Sends `request` and reads its whole 2xx answer; the outcome is reported
// to the key ring.
asio::awaitable<absl::StatusOr<std::string>> FetchBody(
    const UpstreamTarget& target, const UpstreamRequest& request,
    const KeyRing::Lease& lease, CallContext& call) {
  UpstreamExchange exchange(target.pool, *target.loop, target.cancel);
  absl::Time waited_from = absl::Now();
  absl::Status status = co_await exchange.Start(request);
  call.upstream_headers = exchange.rate_limit_headers();
  absl::StatusOr<std::string> body = std::string();
  if (status.ok()) {
    body = co_await exchange.ReadAll();
    status = body.status();
  }
  call.upstream_wait += absl::Now() - waited_from;
  status = Report(*target.provider, lease, status);
  if (!status.ok()) co_return status;
  co_return body;
}

}  // namespace

asio::awaitable<absl::Status> CallStream(
    const UpstreamTarget& target, const v1::ChatCompletionRequest& request,
    CallContext& call, ChunkSink& sink, const FlushFn& flush) {
  Provider& provider = *target.provider;
  absl::Status translatable = Translatable(provider, request);
  if (!translatable.ok()) co_return translatable;
  if (provider.grpc_client() != nullptr) {
    absl::StatusOr<KeyRing::Lease> lease = Lease(provider, request.model());
    if (!lease.ok()) co_return lease.status();
    GrpcTarget remote = GrpcTargetOf(target, *lease);
    absl::Status status =
        co_await GrpcStream(remote, request, call, sink, flush);
    co_return ReportRemote(provider, lease, status);
  }
  if (provider.endpoint() == nullptr) {
    absl::StatusOr<LocalAnswer> answer = provider.LocalChat(request);
    if (!answer.ok()) co_return answer.status();
    co_return co_await RunLocal(target, std::move(*answer), sink, flush, call);
  }
  // A request the upstream cannot take is a 400 even when no key is free.
  absl::StatusOr<KeyRing::Lease> lease = Lease(provider, request.model());
  absl::StatusOr<UpstreamRequest> upstream = provider.ChatRequest(
      request, /*stream=*/true, lease.ok() ? lease->key : "", call);
  if (!upstream.ok()) co_return upstream.status();
  if (!lease.ok()) co_return lease.status();
  AddForwardHeaders(call, *upstream);
  std::unique_ptr<StreamDecoder> decoder = provider.ChatDecoder(request, sink);
  bool client_left = false;
  absl::Status status = co_await RunStream(target, *upstream, *decoder, call,
                                           flush, &client_left);
  // An error event inside the stream (a rate limit, a bad key) is what the
  // key ring is told about.
  status = Report(provider, lease, status);
  if (client_left || decoder->client_gone()) {
    co_return absl::CancelledError("client left");
  }
  co_return status;
}

asio::awaitable<absl::StatusOr<v1::ChatCompletion>> CallComplete(
    const UpstreamTarget& target, const v1::ChatCompletionRequest& request,
    CallContext& call) {
  Provider& provider = *target.provider;
  absl::Status translatable = Translatable(provider, request);
  if (!translatable.ok()) co_return translatable;
  const bool count = request.passthrough_protocol() == kAnthropicCountTokens;
  if (count && !provider.CountsTokens(request)) {
    call.answered_locally = true;
    co_return LocalTokenCount(request);
  }
  if (provider.grpc_client() != nullptr) {
    absl::StatusOr<KeyRing::Lease> lease = Lease(provider, request.model());
    if (!lease.ok()) co_return lease.status();
    GrpcTarget remote = GrpcTargetOf(target, *lease);
    absl::StatusOr<v1::ChatCompletion> answer =
        co_await GrpcComplete(remote, request, call);
    absl::Status status = ReportRemote(provider, lease, answer.status());
    if (!status.ok()) co_return status;
    co_return answer;
  }
  ChatAssembler assembler;
  if (provider.endpoint() == nullptr) {
    // Its delays hold a non-streamed answer too (as long as the stream).
    absl::StatusOr<LocalAnswer> answer = provider.LocalChat(request);
    if (!answer.ok()) co_return answer.status();
    FlushFn no_flush = NoFlush;
    absl::Status status = co_await RunLocal(target, std::move(*answer),
                                            assembler, no_flush, call);
    if (!status.ok()) co_return status;
    co_return assembler.Build();
  }
  // A count is one JSON answer, whatever the adapter's chat answers are.
  bool by_stream = provider.completes_by_streaming() && !count;
  absl::StatusOr<KeyRing::Lease> lease = Lease(provider, request.model());
  absl::StatusOr<UpstreamRequest> upstream = provider.ChatRequest(
      request, by_stream, lease.ok() ? lease->key : "", call);
  if (!upstream.ok()) co_return upstream.status();
  if (!lease.ok()) co_return lease.status();
  AddForwardHeaders(call, *upstream);
  if (by_stream) {
    std::unique_ptr<StreamDecoder> decoder =
        provider.ChatDecoder(request, assembler);
    bool client_left = false;
    FlushFn no_flush = NoFlush;
    absl::Status status = co_await RunStream(target, *upstream, *decoder, call,
                                             no_flush, &client_left);
    status = Report(provider, lease, status);
    if (!status.ok()) co_return status;
    co_return assembler.Build();
  }
  absl::StatusOr<std::string> body =
      co_await FetchBody(target, *upstream, *lease, call);
  if (!body.ok()) co_return body.status();
  absl::StatusOr<v1::ChatCompletion> answer =
      provider.ChatAnswer(request, *body);
  if (!answer.ok()) co_return Redact(provider, answer.status());
  co_return answer;
}

asio::awaitable<absl::StatusOr<v1::EmbeddingsResponse>> CallEmbed(
    const UpstreamTarget& target, const v1::EmbeddingsRequest& request,
    CallContext& call) {
  Provider& provider = *target.provider;
  absl::StatusOr<KeyRing::Lease> lease = Lease(provider, request.model());
  if (provider.grpc_client() != nullptr) {
    if (!lease.ok()) co_return lease.status();
    GrpcTarget remote = GrpcTargetOf(target, *lease);
    absl::StatusOr<v1::EmbeddingsResponse> answer =
        co_await GrpcEmbed(remote, request, call);
    absl::Status status = ReportRemote(provider, lease, answer.status());
    if (!status.ok()) co_return status;
    co_return answer;
  }
  absl::StatusOr<UpstreamRequest> upstream =
      provider.EmbeddingsRequest(request, lease.ok() ? lease->key : "");
  if (!upstream.ok()) co_return upstream.status();
  if (!lease.ok()) co_return lease.status();
  AddForwardHeaders(call, *upstream);
  if (provider.endpoint() == nullptr || target.pool == nullptr) {
    co_return absl::InternalError("embeddings need an upstream");
  }
  absl::StatusOr<std::string> body =
      co_await FetchBody(target, *upstream, *lease, call);
  if (!body.ok()) co_return body.status();
  absl::StatusOr<v1::EmbeddingsResponse> answer =
      provider.EmbeddingsAnswer(request, *body);
  if (!answer.ok()) co_return Redact(provider, answer.status());
  co_return answer;
}

}  // namespace aigw
