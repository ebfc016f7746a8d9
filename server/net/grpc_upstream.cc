#include "server/net/grpc_upstream.h"

#include <algorithm>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <memory>
#include <optional>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "providers/common/api_error.h"

namespace aigw {

namespace asio = boost::asio;

namespace {

constexpr auto kAwait = asio::as_tuple(asio::use_awaitable);

// Wakes a coroutine on its loop from any thread. A Notify() before Wait()
// makes Wait() return at once; spurious wake-ups are possible, so the
// waiter re-checks what it waits for.
class LoopSignal : public std::enable_shared_from_this<LoopSignal> {
 public:
  explicit LoopSignal(asio::io_context& loop) : loop_(loop), timer_(loop) {}

  void Notify() {
    notified_.store(true);
    asio::post(loop_, [self = shared_from_this()] { self->timer_.cancel(); });
  }

  asio::awaitable<void> Wait() { co_await WaitUntil(absl::InfiniteFuture()); }

  // As Wait(), giving up at `deadline`: false when it passed unnotified.
  asio::awaitable<bool> WaitUntil(absl::Time deadline) {
    if (notified_.exchange(false)) co_return true;
    if (deadline == absl::InfiniteFuture()) {
      timer_.expires_at(asio::steady_timer::time_point::max());
    } else {
      timer_.expires_after(absl::ToChronoNanoseconds(
          std::max(deadline - absl::Now(), absl::ZeroDuration())));
    }
    auto [error] = co_await timer_.async_wait(kAwait);
    notified_.store(false);
    // Cancelled by Notify, or woken early: something may have come in.
    co_return error == asio::error::operation_aborted || absl::Now() < deadline;
  }

 private:
  asio::io_context& loop_;
  asio::steady_timer timer_;
  std::atomic<bool> notified_{false};
};

// What a stream's callbacks have delivered and the coroutine not yet taken.
class StreamInbox : public client::StreamCall::Handler {
 public:
  explicit StreamInbox(std::shared_ptr<LoopSignal> signal)
      : signal_(std::move(signal)) {}

  void OnMetadata(const client::Metadata& initial) override {
    {
      absl::MutexLock lock(&mu_);
      initial_ = initial;
    }
    signal_->Notify();
  }
  void OnChunk(v1::ChatCompletionChunk chunk) override {
    {
      absl::MutexLock lock(&mu_);
      chunk_ = std::move(chunk);
    }
    signal_->Notify();
  }
  void OnDone(absl::Status status) override {
    {
      absl::MutexLock lock(&mu_);
      done_ = std::move(status);
    }
    signal_->Notify();
  }

  // Takes what arrived: metadata first, then a chunk, then the end.
  std::optional<client::Metadata> TakeMetadata() {
    absl::MutexLock lock(&mu_);
    return std::exchange(initial_, std::nullopt);
  }
  std::optional<v1::ChatCompletionChunk> TakeChunk() {
    absl::MutexLock lock(&mu_);
    return std::exchange(chunk_, std::nullopt);
  }
  std::optional<absl::Status> done() {
    absl::MutexLock lock(&mu_);
    return done_;
  }

 private:
  const std::shared_ptr<LoopSignal> signal_;
  absl::Mutex mu_;
  std::optional<client::Metadata> initial_ ABSL_GUARDED_BY(mu_);
  std::optional<v1::ChatCompletionChunk> chunk_ ABSL_GUARDED_BY(mu_);
  std::optional<absl::Status> done_ ABSL_GUARDED_BY(mu_);
};

// A unary answer, delivered from a gRPC thread.
template <typename Response>
struct UnaryInbox {
  absl::Mutex mu;
  std::optional<absl::StatusOr<Response>> answer ABSL_GUARDED_BY(mu);
  client::Metadata initial ABSL_GUARDED_BY(mu);
};

client::CallOptions OptionsFor(const GrpcTarget& target,
                               const CallContext& call) {
  client::CallOptions options;
  options.api_key = target.key;
  options.metadata = call.forward_headers;
  options.deadline = call.deadline;
  options.retry = false;
  return options;
}

// What the remote server said about the call, as the REST front door
// relays it: the params it dropped and its rate-limit headers.
void TakeCallMetadata(const client::Metadata& initial, CallContext& call) {
  for (const auto& [name, value] : initial) {
    if (name == "x-aigw-dropped-params") {
      for (absl::string_view param : absl::StrSplit(value, ',')) {
        if (!param.empty()) call.dropped_params.emplace_back(param);
      }
    } else if (absl::StartsWith(name, "x-ratelimit-")) {
      call.upstream_headers.emplace_back(name, value);
    }
  }
}

// Starts a unary call with `start` (given the callback that takes its
// answer) and waits for the answer; the attempt's cancel token cancels it.
template <typename Response, typename Start>
asio::awaitable<absl::StatusOr<Response>> AwaitUnary(const GrpcTarget& target,
                                                     CallContext& call,
                                                     Start start) {
  auto signal = std::make_shared<LoopSignal>(*target.loop);
  auto inbox = std::make_shared<UnaryInbox<Response>>();
  std::shared_ptr<client::UnaryCall> started =
      start([signal, inbox](absl::StatusOr<Response> answer,
                            client::Metadata initial) {
        {
          absl::MutexLock lock(&inbox->mu);
          inbox->answer = std::move(answer);
          inbox->initial = std::move(initial);
        }
        signal->Notify();
      });
  if (target.cancel != nullptr) {
    target.cancel->SetCanceller([started] { started->Cancel(); });
  }
  absl::Time waited_from = absl::Now();
  std::optional<absl::StatusOr<Response>> answer;
  while (true) {
    {
      absl::MutexLock lock(&inbox->mu);
      if (inbox->answer.has_value()) {
        answer = std::move(inbox->answer);
        TakeCallMetadata(inbox->initial, call);
        break;
      }
    }
    co_await signal->Wait();
  }
  call.upstream_wait += absl::Now() - waited_from;
  if (target.cancel != nullptr) target.cancel->ClearCanceller();
  if (!answer->ok()) {
    co_return GatewayErrorFromRemote(answer->status(),
                                     target.client->options().target);
  }
  co_return std::move(*answer);
}

}  // namespace

absl::Status GatewayErrorFromRemote(const absl::Status& status,
                                    const std::string& target) {
  if (status.ok()) return status;
  if (client::Unreachable(status)) {
    return UpstreamUnreachable(absl::StrCat(target, ": ", status.message()));
  }
  absl::Status converted;
  absl::Duration retry_after = client::RetryAfter(status);
  std::string code = client::GatewayErrorCode(status);
  if (status.code() == absl::StatusCode::kDeadlineExceeded) {
    converted = UpstreamTimeout(absl::StrCat(target, ": ", status.message()));
  } else if (status.code() == absl::StatusCode::kResourceExhausted &&
             retry_after < absl::ZeroDuration() &&
             (code.empty() || code == "request_too_large")) {
    // Not a busy remote: a request larger than it takes (gRPC's message
    // limit or its max_body_bytes).
    converted = MakeApiError(
        {absl::StatusCode::kInvalidArgument, std::string(status.message()), 413,
         "invalid_request_error", "", "request_too_large"});
  } else {
    ApiErrorSpec spec;
    spec.code = status.code();
    spec.message = std::string(status.message());
    spec.error_code = code;
    if (retry_after >= absl::ZeroDuration()) {
      spec.retry_after_ms = absl::ToInt64Milliseconds(retry_after);
    }
    converted = MakeApiError(spec);
  }
  if (client::FromRemoteUpstream(status)) {
    converted = client::MarkFromRemoteUpstream(std::move(converted));
  }
  return converted;
}

asio::awaitable<absl::Status> GrpcStream(
    const GrpcTarget& target, const v1::ChatCompletionRequest& request,
    CallContext& call, ChunkSink& sink, const GrpcFlushFn& flush) {
  v1::ChatCompletionRequest remote = request;
  remote.set_stream(true);
  remote.mutable_stream_options()->set_include_usage(true);
  auto signal = std::make_shared<LoopSignal>(*target.loop);
  auto inbox = std::make_shared<StreamInbox>(signal);
  std::shared_ptr<client::StreamCall> stream =
      target.client->StreamAsync(remote, OptionsFor(target, call), inbox);
  if (target.cancel != nullptr) {
    target.cancel->SetCanceller([stream] { stream->Cancel(); });
  }
  bool client_left = false;
  bool timed_out = false;
  const absl::Duration idle_timeout = target.client->options().idle_timeout;
  absl::Time waited_from = absl::Now();
  // Runs until the call is done, even after a cancel, so that no callback
  // outlives this frame's view of it.
  while (true) {
    if (std::optional<client::Metadata> initial = inbox->TakeMetadata()) {
      TakeCallMetadata(*initial, call);
    }
    if (std::optional<v1::ChatCompletionChunk> chunk = inbox->TakeChunk()) {
      call.upstream_wait += absl::Now() - waited_from;
      if (!client_left && !sink.Write(std::move(*chunk))) client_left = true;
      if (!client_left && !co_await flush()) client_left = true;
      if (client_left) {
        stream->Cancel();
      } else {
        stream->Read();
      }
      waited_from = absl::Now();
      continue;
    }
    if (inbox->done().has_value()) break;
    absl::Time until = idle_timeout > absl::ZeroDuration() && !timed_out
                           ? waited_from + idle_timeout
                           : absl::InfiniteFuture();
    bool woken = co_await signal->WaitUntil(until);
    if (!woken && !timed_out && !inbox->done().has_value()) {
      // Silent for longer than the read timeout: ended, then reported.
      timed_out = true;
      stream->Cancel();
    }
  }
  call.upstream_wait += absl::Now() - waited_from;
  if (target.cancel != nullptr) target.cancel->ClearCanceller();
  if (client_left) co_return absl::CancelledError("client left");
  if (timed_out) {
    co_return UpstreamTimeout(
        absl::StrCat(target.client->options().target,
                     ": no chunk within the read timeout of ",
                     absl::FormatDuration(idle_timeout)));
  }
  absl::Status status = *inbox->done();
  if (!status.ok()) {
    co_return GatewayErrorFromRemote(status, target.client->options().target);
  }
  if (!co_await flush()) co_return absl::CancelledError("client left");
  co_return absl::OkStatus();
}

asio::awaitable<absl::StatusOr<v1::ChatCompletion>> GrpcComplete(
    const GrpcTarget& target, const v1::ChatCompletionRequest& request,
    CallContext& call) {
  v1::ChatCompletionRequest remote = request;
  remote.set_stream(false);
  remote.clear_stream_options();
  client::CallOptions options = OptionsFor(target, call);
  // Named, not a temporary in the co_await: GCC 12 mishandles those.
  auto start = [&](client::UnaryDone<v1::ChatCompletion> done) {
    return target.client->CreateAsync(remote, options, std::move(done));
  };
  co_return co_await AwaitUnary<v1::ChatCompletion>(target, call, start);
}

asio::awaitable<absl::StatusOr<v1::EmbeddingsResponse>> GrpcEmbed(
    const GrpcTarget& target, const v1::EmbeddingsRequest& request,
    CallContext& call) {
  client::CallOptions options = OptionsFor(target, call);
  auto start = [&](client::UnaryDone<v1::EmbeddingsResponse> done) {
    return target.client->EmbeddingsAsync(request, options, std::move(done));
  };
  co_return co_await AwaitUnary<v1::EmbeddingsResponse>(target, call, start);
}

}  // namespace aigw
