// Test helpers: call a provider as the gateway core does (lease a key,
// translate, send through the data plane, decode), blocking the calling
// thread on a private event loop.
#ifndef AIGW_SERVER_UPSTREAM_CALL_TESTING_H_
#define AIGW_SERVER_UPSTREAM_CALL_TESTING_H_

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "proto/aigw/v1/chat.pb.h"
#include "providers/common/cancel_token.h"
#include "providers/provider.h"
#include "server/net/upstream_client.h"

namespace aigw {

// Runs `task` on `loop` from the calling thread until it is done and
// returns its result (an exception it threw is rethrown). Work the task
// left behind (a pooled connection's idle watchdog) stays queued for the
// next call instead of blocking this one.
template <typename T>
T RunBlocking(boost::asio::io_context& loop, boost::asio::awaitable<T> task) {
  std::optional<T> result;
  std::exception_ptr error;
  bool done = false;
  boost::asio::co_spawn(loop, std::move(task),
                        [&](std::exception_ptr e, T value) {
                          error = e;
                          if (!e) result.emplace(std::move(value));
                          done = true;
                        });
  loop.restart();
  while (!done && loop.run_one() > 0) {
  }
  if (!done) throw std::logic_error("the loop ran out of work mid-call");
  if (error) std::rethrow_exception(error);
  return std::move(*result);
}

// One provider's event loop and connection pool (none for a provider that
// answers locally), kept across calls so pooled connections are reused as
// in the gateway. Calls are serialized. Destroy it before the fake upstream
// it talks to: that closes the kept-alive connections (a server stopping
// would otherwise wait for them to idle out).
class TestUpstream {
 public:
  explicit TestUpstream(Provider& provider, UpstreamOptions options = {});
  TestUpstream(const TestUpstream&) = delete;
  TestUpstream& operator=(const TestUpstream&) = delete;

  absl::Status Stream(const v1::ChatCompletionRequest& request,
                      CallContext& call, ChunkSink& sink,
                      CancelToken* cancel = nullptr);
  absl::StatusOr<v1::ChatCompletion> Complete(
      const v1::ChatCompletionRequest& request, CallContext& call,
      CancelToken* cancel = nullptr);
  absl::StatusOr<v1::EmbeddingsResponse> Embed(
      const v1::EmbeddingsRequest& request, CallContext& call,
      CancelToken* cancel = nullptr);

  boost::asio::io_context& loop() { return loop_; }
  // Null for a local provider, or when the pool could not be made (then
  // every call answers pool_status()).
  const std::shared_ptr<UpstreamPool>& pool() const { return pool_; }
  const absl::Status& pool_status() const { return pool_status_; }

 private:
  Provider& provider_;
  absl::Mutex mu_;
  // Declared before the pool, so destroyed after it: the pool's sockets
  // live on this loop.
  boost::asio::io_context loop_{1};
  std::shared_ptr<UpstreamPool> pool_;
  absl::Status pool_status_;
};

// One call on a TestUpstream of its own: the connection does not outlive
// the call (a TestUpstream kept across calls exercises keep-alive).
absl::Status StreamBlocking(Provider& provider,
                            const v1::ChatCompletionRequest& request,
                            CallContext& call, ChunkSink& sink,
                            CancelToken* cancel = nullptr);
absl::StatusOr<v1::ChatCompletion> CompleteBlocking(
    Provider& provider, const v1::ChatCompletionRequest& request,
    CallContext& call, CancelToken* cancel = nullptr);
absl::StatusOr<v1::EmbeddingsResponse> EmbedBlocking(
    Provider& provider, const v1::EmbeddingsRequest& request, CallContext& call,
    CancelToken* cancel = nullptr);

}  // namespace aigw

#endif  // AIGW_SERVER_UPSTREAM_CALL_TESTING_H_
