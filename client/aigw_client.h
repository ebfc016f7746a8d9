// The C++ client of aigw's gRPC API (aigw.v1.ChatCompletions) for internal
// services: one channel per Client, the API key sent as metadata, a
// default deadline per call, keepalive, and retries only where they are
// safe: a call that failed with UNAVAILABLE, or RESOURCE_EXHAUSTED with a
// retry-after, before anything of its answer arrived.
//
//   auto client = aigw::client::Client::Connect({.target = "127.0.0.1:9090",
//                                                .api_key = key});
//   v1::ChatCompletionRequest request = ...;
//   absl::Status done = (*client)->Stream(request, [](const auto& chunk) {
//     std::cout << chunk.choices(0).delta().content() << std::flush;
//     return true;  // false cancels the stream
//   });
#ifndef AIGW_CLIENT_AIGW_CLIENT_H_
#define AIGW_CLIENT_AIGW_CLIENT_H_

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/status.h"
#include "client/stream_call.h"
#include "proto/aigw/v1/chat.grpc.pb.h"

namespace aigw::client {

struct ClientOptions {
  std::string target = "127.0.0.1:9090";  // host:port, or any gRPC target
  bool tls = false;
  std::string ca_file;  // PEM roots for TLS; "" = the system's
  std::string api_key;  // sent as `authorization: Bearer KEY`; "" = none
  absl::Duration deadline = absl::Minutes(5);    // per call, unless overridden
  absl::Duration keepalive = absl::Seconds(30);  // zero = no pings
  // How long one connection attempt may take; reconnects after a failure
  // back off from 1 s up to `max_reconnect_backoff`, so a server that comes
  // back is found again within that.
  absl::Duration connect_timeout = absl::Seconds(10);
  absl::Duration max_reconnect_backoff = absl::Seconds(5);
  // Asynchronous streams (StreamAsync callers): the longest silence between
  // chunks before the caller gives up (zero = none). Used by the gateway's
  // `aigw` provider as its read timeout.
  absl::Duration idle_timeout = absl::ZeroDuration();
  int max_attempts = 3;  // including the first; 1 = never retry
  absl::Duration initial_backoff = absl::Milliseconds(250);
  absl::Duration max_backoff = absl::Seconds(10);  // longer waits give up
};

struct CallOptions {
  // The call's deadline: the earlier of `deadline` and now + `timeout`;
  // both unset = now + ClientOptions::deadline.
  absl::Duration timeout = absl::ZeroDuration();
  absl::Time deadline = absl::InfiniteFuture();
  std::string api_key;  // "" = the client's
  Metadata metadata;    // extra request metadata (x-request-id, ...)
  bool retry = true;
};

// A channel for `options` (TLS or plaintext, keepalive). Errors: an
// unreadable CA file.
absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(
    const ClientOptions& options);

// The channel for `options`, one per distinct target/TLS/CA/keepalive,
// kept for the life of the process and shared by every caller: a config
// reload reuses its connections, and the last reference to a channel is
// never dropped on one of gRPC's own threads.
absl::StatusOr<std::shared_ptr<grpc::Channel>> SharedChannel(
    const ClientOptions& options);

// A stream read in a loop: Next() blocks for the next chunk.
class ChunkReader {
 public:
  virtual ~ChunkReader() = default;
  // The next chunk; false at the end of the stream (see status()).
  virtual bool Next(v1::ChatCompletionChunk* chunk) = 0;
  // After Next() returned false: OK, or why the stream failed.
  virtual absl::Status status() const = 0;
  // The server's initial metadata (x-request-id, x-aigw-provider, ...),
  // once the first chunk or the end arrived.
  virtual Metadata initial_metadata() const = 0;
  // Ends the stream early; Next() then returns false. Any thread.
  virtual void Cancel() = 0;
};

class Client {
 public:
  static absl::StatusOr<std::unique_ptr<Client>> Connect(
      const ClientOptions& options);
  Client(std::shared_ptr<grpc::Channel> channel, ClientOptions options);
  // Waits for asynchronous calls still finishing (their callbacks have
  // run; they are only letting go of the channel).
  ~Client();

  absl::StatusOr<v1::ChatCompletion> Create(
      const v1::ChatCompletionRequest& request,
      const CallOptions& options = {});
  // Streams `request` (its `stream` flag is not needed), calling
  // `on_chunk` as each chunk arrives; `on_chunk` returning false cancels
  // the stream and the result is CANCELLED.
  absl::Status Stream(
      const v1::ChatCompletionRequest& request,
      const std::function<bool(const v1::ChatCompletionChunk&)>& on_chunk,
      const CallOptions& options = {});
  std::unique_ptr<ChunkReader> StartStream(
      const v1::ChatCompletionRequest& request,
      const CallOptions& options = {});
  absl::StatusOr<v1::ListModelsResponse> ListModels(
      const CallOptions& options = {});
  absl::StatusOr<v1::EmbeddingsResponse> Embeddings(
      const v1::EmbeddingsRequest& request, const CallOptions& options = {});

  // Asynchronous forms (no retries: an event-driven caller has its own
  // policy). Callbacks run on gRPC's threads.
  std::shared_ptr<StreamCall> StreamAsync(
      const v1::ChatCompletionRequest& request, const CallOptions& options,
      std::shared_ptr<StreamCall::Handler> handler);
  std::shared_ptr<UnaryCall> CreateAsync(
      const v1::ChatCompletionRequest& request, const CallOptions& options,
      UnaryDone<v1::ChatCompletion> done);
  std::shared_ptr<UnaryCall> EmbeddingsAsync(
      const v1::EmbeddingsRequest& request, const CallOptions& options,
      UnaryDone<v1::EmbeddingsResponse> done);

  const ClientOptions& options() const { return options_; }
  v1::ChatCompletions::Stub& stub() { return *stub_; }
  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }
  const std::shared_ptr<CallTracker>& tracker() const { return tracker_; }

  // Implementation details shared with the stream reader.
  absl::Time DeadlineOf(const CallOptions& options) const;
  std::unique_ptr<grpc::ClientContext> NewContext(const CallOptions& options,
                                                  absl::Time deadline) const;
  // How long to wait before attempt `attempt + 1` after `status`, or a
  // negative duration when it must not be retried.
  absl::Duration RetryDelay(const absl::Status& status, int attempt,
                            absl::Time deadline,
                            const CallOptions& options) const;

 private:
  template <typename Response, typename Call>
  absl::StatusOr<Response> Unary(const CallOptions& options, Call call);

  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::ChatCompletions::Stub> stub_;
  ClientOptions options_;
  const std::shared_ptr<CallTracker> tracker_ = std::make_shared<CallTracker>();
};

}  // namespace aigw::client

#endif  // AIGW_CLIENT_AIGW_CLIENT_H_
