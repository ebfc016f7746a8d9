// Asynchronous aigw.v1 calls for event-driven callers (the gateway's `aigw`
// provider): callbacks run on gRPC's threads and must not block. A stream
// reads one chunk at a time: the next is asked for only when the handler
// calls Read(), so a slow consumer slows the server instead of queueing.
#ifndef AIGW_CLIENT_STREAM_CALL_H_
#define AIGW_CLIENT_STREAM_CALL_H_

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "client/status.h"
#include "proto/aigw/v1/chat.grpc.pb.h"

namespace aigw::client {

// Counts a client's asynchronous calls until each has let go of its
// ClientContext (which holds a channel reference): the client waits for
// that before it lets its channel go, so the last channel reference is
// never dropped on one of gRPC's callback threads (gRPC 1.51 cannot shut
// its callback queue down from its own thread).
class CallTracker {
 public:
  void Begin();
  void End();
  void WaitIdle();

 private:
  absl::Mutex mu_;
  int active_ ABSL_GUARDED_BY(mu_) = 0;
};

class StreamCall {
 public:
  class Handler {
   public:
    virtual ~Handler() = default;
    // The server's initial metadata, before the first chunk; not called
    // when the call fails without any.
    virtual void OnMetadata(const Metadata& initial) {}
    // One chunk. The next one is read after Read() is called.
    virtual void OnChunk(v1::ChatCompletionChunk chunk) = 0;
    // The last callback: OK when the stream ended well.
    virtual void OnDone(absl::Status status) = 0;
  };

  // Starts `request` on `stub` with `context` (deadline and metadata set);
  // the first chunk is read at once. `channel` (the stub's) tells a server
  // that failed the call from one never reached.
  static std::shared_ptr<StreamCall> Start(
      v1::ChatCompletions::Stub& stub, grpc::Channel* channel,
      std::shared_ptr<CallTracker> tracker,
      std::unique_ptr<grpc::ClientContext> context,
      const v1::ChatCompletionRequest& request,
      std::shared_ptr<Handler> handler);

  // Asks for the chunk after the last one delivered. Any thread.
  void Read();
  // Ends the call; OnDone follows with CANCELLED unless it already ran.
  // Any thread, any number of times.
  void Cancel();

 private:
  class Reactor;
  explicit StreamCall(std::shared_ptr<Reactor> reactor);
  std::shared_ptr<Reactor> reactor_;
};

// Whether a failed call reached a gRPC server: it sent metadata, or the
// channel is connected.
bool HeardFromServer(grpc::Channel* channel, const Metadata& initial,
                     const Metadata& trailing);

// A unary call's outcome with the server's initial metadata.
template <typename Response>
using UnaryDone =
    std::function<void(absl::StatusOr<Response> response, Metadata initial)>;

// A started unary call, cancellable from any thread.
class UnaryCall {
 public:
  void Cancel() {
    if (std::shared_ptr<grpc::ClientContext> context = context_.lock()) {
      context->TryCancel();
    }
  }

 private:
  friend class UnaryStarter;
  explicit UnaryCall(std::weak_ptr<grpc::ClientContext> context)
      : context_(std::move(context)) {}
  std::weak_ptr<grpc::ClientContext> context_;
};

std::shared_ptr<UnaryCall> CreateAsync(
    v1::ChatCompletions::Stub& stub, grpc::Channel* channel,
    std::shared_ptr<CallTracker> tracker,
    std::unique_ptr<grpc::ClientContext> context,
    const v1::ChatCompletionRequest& request,
    UnaryDone<v1::ChatCompletion> done);

std::shared_ptr<UnaryCall> EmbeddingsAsync(
    v1::ChatCompletions::Stub& stub, grpc::Channel* channel,
    std::shared_ptr<CallTracker> tracker,
    std::unique_ptr<grpc::ClientContext> context,
    const v1::EmbeddingsRequest& request,
    UnaryDone<v1::EmbeddingsResponse> done);

}  // namespace aigw::client

#endif  // AIGW_CLIENT_STREAM_CALL_H_
