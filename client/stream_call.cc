#include "client/stream_call.h"

#include <atomic>
#include <utility>

namespace aigw::client {

void CallTracker::Begin() {
  absl::MutexLock lock(&mu_);
  ++active_;
}

void CallTracker::End() {
  absl::MutexLock lock(&mu_);
  --active_;
}

void CallTracker::WaitIdle() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(
      +[](int* active) { return *active == 0; }, &active_));
}

bool HeardFromServer(grpc::Channel* channel, const Metadata& initial,
                     const Metadata& trailing) {
  if (!initial.empty() || !trailing.empty()) return true;
  return channel != nullptr &&
         channel->GetState(/*try_to_connect=*/false) == GRPC_CHANNEL_READY;
}

// Lives until gRPC calls OnDone: it holds itself (`self_`) until then. A
// hold keeps OnDone back until the last read has completed, so Read() can
// never start a read on a finished call.
class StreamCall::Reactor
    : public grpc::ClientReadReactor<v1::ChatCompletionChunk> {
 public:
  Reactor(grpc::Channel* channel, std::shared_ptr<CallTracker> tracker,
          std::unique_ptr<grpc::ClientContext> context,
          const v1::ChatCompletionRequest& request,
          std::shared_ptr<Handler> handler)
      : channel_(channel),
        tracker_(std::move(tracker)),
        context_(std::move(context)),
        request_(request),
        handler_(std::move(handler)) {}

  void Begin(v1::ChatCompletions::Stub& stub, std::shared_ptr<Reactor> self) {
    self_ = std::move(self);
    if (tracker_ != nullptr) tracker_->Begin();
    stub.async()->Stream(context_.get(), &request_, this);
    AddHold();
    reading_ = true;
    StartRead(&chunk_);
    StartCall();
  }

  void Read() {
    {
      absl::MutexLock lock(&mu_);
      if (reading_ || released_) return;
      reading_ = true;
    }
    StartRead(&chunk_);
  }

  void Cancel() {
    {
      absl::MutexLock lock(&context_mu_);
      if (context_ != nullptr) context_->TryCancel();
    }
    // No read in flight: nothing else would let the call finish.
    bool release = false;
    {
      absl::MutexLock lock(&mu_);
      if (!reading_ && !released_) release = released_ = true;
    }
    if (release) RemoveHold();  // may run OnDone at once
  }

  void OnReadInitialMetadataDone(bool ok) override {
    if (ok) DeliverMetadata();
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      bool release = false;
      {
        absl::MutexLock lock(&mu_);
        reading_ = false;
        if (!released_) release = released_ = true;
      }
      // Outside the lock: OnDone may run at once and delete this.
      if (release) RemoveHold();
      return;
    }
    // A message means the metadata arrived, whichever callback runs first.
    DeliverMetadata();
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
    bool heard = metadata_delivered_.load() ||
                 HeardFromServer(channel_, Metadata(), trailing);
    std::shared_ptr<Handler> handler = std::move(handler_);
    {
      // The context's channel reference goes before the tracker is told.
      absl::MutexLock lock(&context_mu_);
      context_.reset();
    }
    std::shared_ptr<CallTracker> tracker = std::move(tracker_);
    handler->OnDone(FromGrpc(status, trailing, heard));
    handler.reset();
    if (tracker != nullptr) tracker->End();
    self_.reset();  // may delete this
  }

 private:
  // Exactly once, and finished before any chunk is handed over: the read
  // callback waits here if the metadata callback is still delivering.
  void DeliverMetadata() {
    absl::MutexLock lock(&metadata_mu_);
    if (metadata_delivered_.load()) return;
    handler_->OnMetadata(CopyMetadata(context_->GetServerInitialMetadata()));
    metadata_delivered_.store(true);
  }

  grpc::Channel* const channel_;
  std::shared_ptr<CallTracker> tracker_;
  absl::Mutex context_mu_;
  std::unique_ptr<grpc::ClientContext> context_;
  v1::ChatCompletionRequest request_;
  std::shared_ptr<Handler> handler_;
  std::shared_ptr<Reactor> self_;
  v1::ChatCompletionChunk chunk_;
  absl::Mutex metadata_mu_;
  std::atomic<bool> metadata_delivered_{false};
  absl::Mutex mu_;
  bool reading_ ABSL_GUARDED_BY(mu_) = false;
  bool released_ ABSL_GUARDED_BY(mu_) = false;
};

StreamCall::StreamCall(std::shared_ptr<Reactor> reactor)
    : reactor_(std::move(reactor)) {}

std::shared_ptr<StreamCall> StreamCall::Start(
    v1::ChatCompletions::Stub& stub, grpc::Channel* channel,
    std::shared_ptr<CallTracker> tracker,
    std::unique_ptr<grpc::ClientContext> context,
    const v1::ChatCompletionRequest& request,
    std::shared_ptr<Handler> handler) {
  auto reactor =
      std::make_shared<Reactor>(channel, std::move(tracker), std::move(context),
                                request, std::move(handler));
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
      grpc::Channel* channel, std::shared_ptr<CallTracker> tracker,
      std::unique_ptr<grpc::ClientContext> context, const Request& request,
      UnaryDone<Response> done, Method method) {
    // The call's state outlives this function: gRPC owns it until `done`.
    struct State {
      std::shared_ptr<grpc::ClientContext> context;
      std::shared_ptr<CallTracker> tracker;
      Request request;
      Response response;
    };
    auto state = std::make_shared<State>();
    state->context = std::move(context);
    state->tracker = std::move(tracker);
    state->request = request;
    auto call = std::shared_ptr<UnaryCall>(new UnaryCall(state->context));
    if (state->tracker != nullptr) state->tracker->Begin();
    grpc::ClientContext* raw_context = state->context.get();
    Request* raw_request = &state->request;
    Response* raw_response = &state->response;
    method(raw_context, raw_request, raw_response,
           [state, channel, done = std::move(done)](grpc::Status status) {
             Metadata initial =
                 CopyMetadata(state->context->GetServerInitialMetadata());
             Metadata trailing =
                 CopyMetadata(state->context->GetServerTrailingMetadata());
             bool heard = HeardFromServer(channel, initial, trailing);
             // The channel reference goes before the tracker is told.
             state->context.reset();
             std::shared_ptr<CallTracker> tracker = std::move(state->tracker);
             if (status.ok()) {
               done(std::move(state->response), std::move(initial));
             } else {
               done(FromGrpc(status, trailing, heard), std::move(initial));
             }
             if (tracker != nullptr) tracker->End();
           });
    return call;
  }
};

std::shared_ptr<UnaryCall> CreateAsync(
    v1::ChatCompletions::Stub& stub, grpc::Channel* channel,
    std::shared_ptr<CallTracker> tracker,
    std::unique_ptr<grpc::ClientContext> context,
    const v1::ChatCompletionRequest& request,
    UnaryDone<v1::ChatCompletion> done) {
  return UnaryStarter::Start<v1::ChatCompletionRequest, v1::ChatCompletion>(
      channel, std::move(tracker), std::move(context), request, std::move(done),
      [&stub](grpc::ClientContext* context,
              const v1::ChatCompletionRequest* request,
              v1::ChatCompletion* response,
              std::function<void(grpc::Status)> on_done) {
        stub.async()->Create(context, request, response, std::move(on_done));
      });
}

std::shared_ptr<UnaryCall> EmbeddingsAsync(
    v1::ChatCompletions::Stub& stub, grpc::Channel* channel,
    std::shared_ptr<CallTracker> tracker,
    std::unique_ptr<grpc::ClientContext> context,
    const v1::EmbeddingsRequest& request,
    UnaryDone<v1::EmbeddingsResponse> done) {
  return UnaryStarter::Start<v1::EmbeddingsRequest, v1::EmbeddingsResponse>(
      channel, std::move(tracker), std::move(context), request, std::move(done),
      [&stub](grpc::ClientContext* context,
              const v1::EmbeddingsRequest* request,
              v1::EmbeddingsResponse* response,
              std::function<void(grpc::Status)> on_done) {
        stub.async()->Embeddings(context, request, response,
                                 std::move(on_done));
      });
}

}  // namespace aigw::client
