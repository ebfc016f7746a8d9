// One upstream attempt at one provider, on the calling coroutine's event
// loop: lease a key, let the adapter translate, send through the data
// plane, decode, and tell the key ring how it went. The glue every adapter
// used to copy, written once.
#ifndef AIGW_SERVER_UPSTREAM_CALL_H_
#define AIGW_SERVER_UPSTREAM_CALL_H_

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>

#include "absl/status/statusor.h"
#include "proto/aigw/v1/chat.pb.h"
#include "providers/common/cancel_token.h"
#include "providers/provider.h"
#include "server/net/upstream_client.h"

namespace aigw {

// Where one attempt runs: the provider, its connection pool (null for a
// local provider), the loop, and the attempt's cancel token.
struct UpstreamTarget {
  Provider* provider = nullptr;
  std::shared_ptr<UpstreamPool> pool;
  boost::asio::io_context* loop = nullptr;
  CancelToken* cancel = nullptr;
};

// The error code of a 400 for a request only a passthrough provider can
// serve (a field only the client's protocol has): the core tries the next
// candidate, which may pass the body through.
inline constexpr char kUntranslatableCode[] = "untranslatable";

// Sends what the decoder wrote to `sink` so far on to the client; false:
// the client is gone. Called between upstream reads, so a client that does
// not read stops the upstream reads too.
using FlushFn = std::function<boost::asio::awaitable<bool>()>;

// A streamed chat call: chunks go to `sink`, `flush` after each upstream
// read. OK once the stream ended well; Cancelled when the client left.
boost::asio::awaitable<absl::Status> CallStream(
    const UpstreamTarget& target, const v1::ChatCompletionRequest& request,
    CallContext& call, ChunkSink& sink, const FlushFn& flush);

boost::asio::awaitable<absl::StatusOr<v1::ChatCompletion>> CallComplete(
    const UpstreamTarget& target, const v1::ChatCompletionRequest& request,
    CallContext& call);

boost::asio::awaitable<absl::StatusOr<v1::EmbeddingsResponse>> CallEmbed(
    const UpstreamTarget& target, const v1::EmbeddingsRequest& request,
    CallContext& call);

}  // namespace aigw

#endif  // AIGW_SERVER_UPSTREAM_CALL_H_
