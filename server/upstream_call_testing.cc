#include "server/upstream_call_testing.h"

#include "server/upstream_call.h"

namespace aigw {

namespace asio = boost::asio;

namespace {

asio::awaitable<bool> NoFlush() { co_return true; }

}  // namespace

TestUpstream::TestUpstream(Provider& provider, UpstreamOptions options)
    : provider_(provider) {
  const UpstreamEndpoint* endpoint = provider.endpoint();
  if (endpoint == nullptr) return;
  absl::StatusOr<std::shared_ptr<UpstreamPool>> pool =
      UpstreamPool::Create(*endpoint, std::move(options));
  if (pool.ok()) {
    pool_ = *std::move(pool);
  } else {
    pool_status_ = pool.status();
  }
}

absl::Status TestUpstream::Stream(const v1::ChatCompletionRequest& request,
                                  CallContext& call, ChunkSink& sink,
                                  CancelToken* cancel) {
  absl::MutexLock lock(&mu_);
  if (!pool_status_.ok()) return pool_status_;
  UpstreamTarget target{&provider_, pool_, &loop_, cancel};
  FlushFn flush = NoFlush;
  return RunBlocking(loop_, CallStream(target, request, call, sink, flush));
}

absl::StatusOr<v1::ChatCompletion> TestUpstream::Complete(
    const v1::ChatCompletionRequest& request, CallContext& call,
    CancelToken* cancel) {
  absl::MutexLock lock(&mu_);
  if (!pool_status_.ok()) return pool_status_;
  UpstreamTarget target{&provider_, pool_, &loop_, cancel};
  return RunBlocking(loop_, CallComplete(target, request, call));
}

absl::StatusOr<v1::EmbeddingsResponse> TestUpstream::Embed(
    const v1::EmbeddingsRequest& request, CallContext& call,
    CancelToken* cancel) {
  absl::MutexLock lock(&mu_);
  if (!pool_status_.ok()) return pool_status_;
  UpstreamTarget target{&provider_, pool_, &loop_, cancel};
  return RunBlocking(loop_, CallEmbed(target, request, call));
}

absl::Status StreamBlocking(Provider& provider,
                            const v1::ChatCompletionRequest& request,
                            CallContext& call, ChunkSink& sink,
                            CancelToken* cancel) {
  return TestUpstream(provider).Stream(request, call, sink, cancel);
}

absl::StatusOr<v1::ChatCompletion> CompleteBlocking(
    Provider& provider, const v1::ChatCompletionRequest& request,
    CallContext& call, CancelToken* cancel) {
  return TestUpstream(provider).Complete(request, call, cancel);
}

absl::StatusOr<v1::EmbeddingsResponse> EmbedBlocking(
    Provider& provider, const v1::EmbeddingsRequest& request, CallContext& call,
    CancelToken* cancel) {
  return TestUpstream(provider).Embed(request, call, cancel);
}

}  // namespace aigw
