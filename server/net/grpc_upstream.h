// Upstream calls to an aigw.v1 gRPC server (providers of type aigw), on the
// calling coroutine's event loop: the client library's asynchronous calls,
// whose callbacks run on gRPC's threads, wake the coroutine through the
// loop. One chunk is read at a time and the next only after the previous
// one was flushed to the client, so a slow client slows the remote server
// instead of filling memory. The attempt's cancel token cancels the call.
#ifndef AIGW_SERVER_NET_GRPC_UPSTREAM_H_
#define AIGW_SERVER_NET_GRPC_UPSTREAM_H_

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/aigw_client.h"
#include "proto/aigw/v1/chat.pb.h"
#include "providers/common/cancel_token.h"
#include "providers/provider.h"

namespace aigw {

struct GrpcTarget {
  client::Client* client = nullptr;
  boost::asio::io_context* loop = nullptr;
  CancelToken* cancel = nullptr;  // may be null
  std::string key;                // "" = none
};

using GrpcFlushFn = std::function<boost::asio::awaitable<bool>()>;

// Streams `request` (usage always asked for) into `sink`, `flush` after each
// chunk. Cancelled when the client left.
boost::asio::awaitable<absl::Status> GrpcStream(
    const GrpcTarget& target, const v1::ChatCompletionRequest& request,
    CallContext& call, ChunkSink& sink, const GrpcFlushFn& flush);

boost::asio::awaitable<absl::StatusOr<v1::ChatCompletion>> GrpcComplete(
    const GrpcTarget& target, const v1::ChatCompletionRequest& request,
    CallContext& call);

boost::asio::awaitable<absl::StatusOr<v1::EmbeddingsResponse>> GrpcEmbed(
    const GrpcTarget& target, const v1::EmbeddingsRequest& request,
    CallContext& call);

// A remote server's failure as a gateway error: its code, message, error
// code and retry-after kept; one that was never reached is a 502.
absl::Status GatewayErrorFromRemote(const absl::Status& status,
                                    const std::string& target);

}  // namespace aigw

#endif  // AIGW_SERVER_NET_GRPC_UPSTREAM_H_
