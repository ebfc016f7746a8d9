#include "client/stream_call.h"

#include <atomic>
#include <utility>

namespace aigw::client {

// Lives until gRPC calls OnDone: it holds itself (`self_`) until then. A
// hold keeps OnDone back until the last read has completed, so Read() can
// never start a read on a finished call.
class StreamCall::Reactor
    : public grpc::ClientReadReactor<v1::ChatCompletionChunk> {
 public:
  Reactor(grpc::Channel* channel, std::unique_ptr<grpc::ClientContext> context,
          const v1::ChatCompletionRequest& request,
          std::shared_ptr<Handler> handler)
      : channel_(channel),
        context_(std::move(context)),
        request_(request),
        handler_(std::move(handler)) {}

  void Begin(v1::ChatCompletions::Stub& stub, std::shared_ptr<Reactor> self) {
    self_ = std::move(self);
    stub.async()->Stream(context_.get(), &request_, this);
    AddHold();
    reading_ = true;
    StartRead(&chunk_);
    StartCall();
  }

  void Read() {
    absl::MutexLock lock(&mu_);
    if (reading_ || released_) return;
    reading_ = true;
    StartRead(&chunk_);
  }

  void Cancel() {
    context_->TryCancel();
    absl::MutexLock lock(&mu_);
    // No read in flight: nothing else would let the call finish.
    if (!reading_ && !released_) Release();
  }

  void OnReadInitialMetadataDone(bool ok) override {
    if (!ok) return;
    heard_from_server_ = true;
    handler_->OnMetadata(CopyMetadata(context_->GetServerInitialMetadata()));
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      absl::MutexLock lock(&mu_);
      reading_ = false;
      if (!released_) Release();
      return;
    }
    heard_from_server_ = true;
    v1::ChatCompletionChunk chunk = std::move(chunk_);
    chunk_.Clear();
    {
      absl::MutexLock lock(&mu_);
      reading_ = false;
    }
    handler_->OnChunk(std::move(chunk));
  }

  void OnDone(const grpc::Status& status) override {
    Metadata trailing = CopyMetadata(context_->GetServerTrailingMetadata());
    std::shared_ptr<Handler> handler = std::move(handler_);
    bool heard =
        heard_from_server_ || HeardFromServer(channel_, Metadata(), trailing);
    handler->OnDone(FromGrpc(status, trailing, heard));
    self_.reset();  // may delete this
  }

 private:
  void Release() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    released_ = true;
    RemoveHold();
  }

  grpc::Channel* const channel_;
  std::unique_ptr<grpc::ClientContext> context_;
  v1::ChatCompletionRequest request_;
  std::shared_ptr<Handler> handler_;
  std::shared_ptr<Reactor> self_;
  v1::ChatCompletionChunk chunk_;
  std::atomic<bool> heard_from_server_{false};
  absl::Mutex mu_;
  bool reading_ ABSL_GUARDED_BY(mu_) = false;
  bool released_ ABSL_GUARDED_BY(mu_) = false;
};

StreamCall::StreamCall(std::shared_ptr<Reactor> reactor)
    : reactor_(std::move(reactor)) {}

bool HeardFromServer(grpc::Channel* channel, const Metadata& initial,
                     const Metadata& trailing) {
  if (!initial.empty() || !trailing.empty()) return true;
  return channel != nullptr &&
         channel->GetState(/*try_to_connect=*/false) == GRPC_CHANNEL_READY;
}

std::shared_ptr<StreamCall> StreamCall::Start(
    v1::ChatCompletions::Stub& stub, grpc::Channel* channel,
    std::unique_ptr<grpc::ClientContext> context,
    const v1::ChatCompletionRequest& request,
    std::shared_ptr<Handler> handler) {
  auto reactor = std::make_shared<Reactor>(channel, std::move(context), request,
                                           std::move(handler));
  reactor->Begin(stub, reactor);
  return std::shared_ptr<StreamCall>(new StreamCall(std::move(reactor)));
}

void StreamCall::Read() { reactor_->Read(); }

void StreamCall::Cancel() { reactor_->Cancel(); }

// Builds UnaryCalls (their constructor is private) and runs them.
class UnaryStarter {
 public:
  template <typename Request, typename Response, typename Method>
  static std::shared_ptr<UnaryCall> Start(
      grpc::Channel* channel, std::unique_ptr<grpc::ClientContext> context,
      const Request& request, UnaryDone<Response> done, Method method) {
    // The call's state outlives this function: gRPC owns it until `done`.
    struct State {
      std::shared_ptr<grpc::ClientContext> context;
      Request request;
      Response response;
    };
    auto state = std::make_shared<State>();
    state->context = std::move(context);
    state->request = request;
    auto call = std::shared_ptr<UnaryCall>(new UnaryCall(state->context));
    method(state->context.get(), &state->request, &state->response,
           [state, channel, done = std::move(done)](grpc::Status status) {
             Metadata initial =
                 CopyMetadata(state->context->GetServerInitialMetadata());
             Metadata trailing =
                 CopyMetadata(state->context->GetServerTrailingMetadata());
             if (status.ok()) {
               done(std::move(state->response), std::move(initial));
               return;
             }
             bool heard = HeardFromServer(channel, initial, trailing);
             done(FromGrpc(status, trailing, heard), std::move(initial));
           });
    return call;
  }
};

std::shared_ptr<UnaryCall> CreateAsync(
    v1::ChatCompletions::Stub& stub, grpc::Channel* channel,
    std::unique_ptr<grpc::ClientContext> context,
    const v1::ChatCompletionRequest& request,
    UnaryDone<v1::ChatCompletion> done) {
  return UnaryStarter::Start<v1::ChatCompletionRequest, v1::ChatCompletion>(
      channel, std::move(context), request, std::move(done),
      [&stub](grpc::ClientContext* context,
              const v1::ChatCompletionRequest* request,
              v1::ChatCompletion* response,
              std::function<void(grpc::Status)> on_done) {
        stub.async()->Create(context, request, response, std::move(on_done));
      });
}

std::shared_ptr<UnaryCall> EmbeddingsAsync(
    v1::ChatCompletions::Stub& stub, grpc::Channel* channel,
    std::unique_ptr<grpc::ClientContext> context,
    const v1::EmbeddingsRequest& request,
    UnaryDone<v1::EmbeddingsResponse> done) {
  return UnaryStarter::Start<v1::EmbeddingsRequest, v1::EmbeddingsResponse>(
      channel, std::move(context), request, std::move(done),
      [&stub](grpc::ClientContext* context,
              const v1::EmbeddingsRequest* request,
              v1::EmbeddingsResponse* response,
              std::function<void(grpc::Status)> on_done) {
        stub.async()->Embeddings(context, request, response,
                                 std::move(on_done));
      });
}

}  // namespace aigw::client
