#include "client/aigw_client.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"

namespace aigw::client {

namespace {

// One attempt of a synchronous stream: what its handler has received.
struct StreamState {
  absl::Mutex mu;
  bool has_chunk ABSL_GUARDED_BY(mu) = false;
  v1::ChatCompletionChunk chunk ABSL_GUARDED_BY(mu);
  bool done ABSL_GUARDED_BY(mu) = false;
  absl::Status status ABSL_GUARDED_BY(mu);
  Metadata initial ABSL_GUARDED_BY(mu);
};

class StateHandler : public StreamCall::Handler {
 public:
  explicit StateHandler(std::shared_ptr<StreamState> state)
      : state_(std::move(state)) {}
  void OnMetadata(const Metadata& initial) override {
    absl::MutexLock lock(&state_->mu);
    state_->initial = initial;
  }
  void OnChunk(v1::ChatCompletionChunk chunk) override {
    absl::MutexLock lock(&state_->mu);
    state_->chunk = std::move(chunk);
    state_->has_chunk = true;
  }
  void OnDone(absl::Status status) override {
    absl::MutexLock lock(&state_->mu);
    state_->status = std::move(status);
    state_->done = true;
  }

 private:
  std::shared_ptr<StreamState> state_;
};

// Retries an attempt that failed before its first chunk; once a chunk was
// handed out, a failure is the caller's to see.
class SyncStream : public ChunkReader {
 public:
  SyncStream(Client& client, const v1::ChatCompletionRequest& request,
             const CallOptions& options)
      : client_(client),
        request_(request),
        options_(options),
        deadline_(client.DeadlineOf(options)) {
    StartAttempt();
  }

  ~SyncStream() override {
    if (!finished_) Cancel();
  }

  bool Next(v1::ChatCompletionChunk* chunk) override {
    if (finished_) return false;
    while (true) {
      std::shared_ptr<StreamState> state = state_;
      absl::Status status;
      bool got_chunk = false;
      {
        absl::MutexLock lock(&state->mu);
        state->mu.Await(absl::Condition(
            +[](StreamState* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu) {
              return s->has_chunk || s->done;
            },
            state.get()));
        initial_ = state->initial;
        if (state->has_chunk) {
          *chunk = std::move(state->chunk);
          state->has_chunk = false;
          delivered_ = true;
          got_chunk = true;
        } else {
          status = state->status;
        }
      }
      if (got_chunk) {
        call_->Read();
        return true;
      }
      absl::Duration delay = absl::Milliseconds(-1);
      if (!delivered_ && !IsCancelled()) {
        delay = client_.RetryDelay(status, attempt_, deadline_, options_);
      }
      if (delay < absl::ZeroDuration() || !WaitUnlessCancelled(delay)) {
        status_ = IsCancelled()
                      ? absl::CancelledError("cancelled by the caller")
                      : status;
        finished_ = true;
        return false;
      }
      ++attempt_;
      StartAttempt();
    }
  }

  absl::Status status() const override { return status_; }
  Metadata initial_metadata() const override { return initial_; }

  void Cancel() override {
    std::shared_ptr<StreamCall> call;
    {
      absl::MutexLock lock(&cancel_mu_);
      cancelled_ = true;
      call = call_;
    }
    if (call != nullptr) call->Cancel();
  }

 private:
  void StartAttempt() {
    state_ = std::make_shared<StreamState>();
    auto handler = std::make_shared<StateHandler>(state_);
    std::shared_ptr<StreamCall> call = StreamCall::Start(
        client_.stub(), client_.channel().get(), client_.tracker(),
        client_.NewContext(options_, deadline_), request_, std::move(handler));
    absl::MutexLock lock(&cancel_mu_);
    call_ = call;
    if (cancelled_) call_->Cancel();
  }

  bool IsCancelled() {
    absl::MutexLock lock(&cancel_mu_);
    return cancelled_;
  }

  // Sleeps `delay`; false when cancelled meanwhile.
  bool WaitUnlessCancelled(absl::Duration delay) {
    absl::MutexLock lock(&cancel_mu_);
    cancel_mu_.AwaitWithTimeout(absl::Condition(&cancelled_), delay);
    return !cancelled_;
  }

  Client& client_;
  const v1::ChatCompletionRequest request_;
  const CallOptions options_;
  const absl::Time deadline_;
  int attempt_ = 1;
  bool delivered_ = false;
  bool finished_ = false;
  absl::Status status_;
  Metadata initial_;
  std::shared_ptr<StreamState> state_;
  absl::Mutex cancel_mu_;
  bool cancelled_ ABSL_GUARDED_BY(cancel_mu_) = false;
  std::shared_ptr<StreamCall> call_;  // written under cancel_mu_
};

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(
    const ClientOptions& options) {
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (options.tls) {
    grpc::SslCredentialsOptions ssl;
    if (!options.ca_file.empty()) {
      std::ifstream file(options.ca_file);
      if (!file) {
        return absl::InvalidArgumentError(
            absl::StrCat("cannot read the CA file '", options.ca_file, "'"));
      }
      std::stringstream pem;
      pem << file.rdbuf();
      ssl.pem_root_certs = pem.str();
    }
    credentials = grpc::SslCredentials(ssl);
  } else {
    credentials = grpc::InsecureChannelCredentials();
  }
  grpc::ChannelArguments args;
  if (options.keepalive > absl::ZeroDuration()) {
    args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS,
                static_cast<int>(absl::ToInt64Milliseconds(options.keepalive)));
    args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
    args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  }
  // Answers as large as the gateway may send (its request ceiling).
  args.SetMaxReceiveMessageSize(64 << 20);
  if (options.connect_timeout > absl::ZeroDuration()) {
    args.SetInt(
        GRPC_ARG_MIN_RECONNECT_BACKOFF_MS,
        static_cast<int>(absl::ToInt64Milliseconds(options.connect_timeout)));
  }
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 1000);
  if (options.max_reconnect_backoff > absl::ZeroDuration()) {
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS,
                static_cast<int>(absl::ToInt64Milliseconds(std::max(
                    options.max_reconnect_backoff, absl::Seconds(1)))));
  }
  return grpc::CreateCustomChannel(options.target, credentials, args);
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> SharedChannel(
    const ClientOptions& options) {
  static absl::Mutex mu(absl::kConstInit);
  // Never destroyed (see the header).
  static auto* channels =
      new std::map<std::string, std::shared_ptr<grpc::Channel>>();
  std::string key =
      absl::StrCat(options.target, "|", options.tls, "|", options.ca_file, "|",
                   absl::ToInt64Milliseconds(options.keepalive), "|",
                   absl::ToInt64Milliseconds(options.connect_timeout), "|",
                   absl::ToInt64Milliseconds(options.max_reconnect_backoff));
  absl::MutexLock lock(&mu);
  auto found = channels->find(key);
  if (found != channels->end()) return found->second;
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = MakeChannel(options);
  if (!channel.ok()) return channel.status();
  channels->emplace(key, *channel);
  return channel;
}

absl::StatusOr<std::unique_ptr<Client>> Client::Connect(
    const ClientOptions& options) {
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = MakeChannel(options);
  if (!channel.ok()) return channel.status();
  return std::make_unique<Client>(std::move(*channel), options);
}

Client::Client(std::shared_ptr<grpc::Channel> channel, ClientOptions options)
    : channel_(std::move(channel)),
      stub_(v1::ChatCompletions::NewStub(channel_)),
      options_(std::move(options)) {}

Client::~Client() { tracker_->WaitIdle(); }

absl::Time Client::DeadlineOf(const CallOptions& options) const {
  absl::Time deadline = options.deadline;
  if (options.timeout > absl::ZeroDuration()) {
    deadline = std::min(deadline, absl::Now() + options.timeout);
  }
  if (deadline == absl::InfiniteFuture() &&
      options_.deadline > absl::ZeroDuration()) {
    deadline = absl::Now() + options_.deadline;
  }
  return deadline;
}

std::unique_ptr<grpc::ClientContext> Client::NewContext(
    const CallOptions& options, absl::Time deadline) const {
  auto context = std::make_unique<grpc::ClientContext>();
  if (deadline != absl::InfiniteFuture()) {
    context->set_deadline(absl::ToChronoTime(deadline));
  }
  const std::string& key =
      options.api_key.empty() ? options_.api_key : options.api_key;
  if (!key.empty()) context->AddMetadata("authorization", "Bearer " + key);
  for (const auto& [name, value] : options.metadata) {
    context->AddMetadata(name, value);
  }
  return context;
}

absl::Duration Client::RetryDelay(const absl::Status& status, int attempt,
                                  absl::Time deadline,
                                  const CallOptions& options) const {
  const absl::Duration never = absl::Milliseconds(-1);
  if (!options.retry || attempt >= options_.max_attempts) return never;
  absl::Duration asked = RetryAfter(status);
  absl::Duration delay;
  if (status.code() == absl::StatusCode::kUnavailable) {
    delay = asked >= absl::ZeroDuration()
                ? asked
                : std::min(options_.initial_backoff * (1 << (attempt - 1)),
                           options_.max_backoff);
  } else if (status.code() == absl::StatusCode::kResourceExhausted &&
             asked >= absl::ZeroDuration()) {
    // Without a retry-after it is a request too large, not a busy server.
    delay = asked;
  } else {
    return never;
  }
  if (delay > options_.max_backoff || absl::Now() + delay >= deadline) {
    return never;
  }
  return delay;
}

template <typename Response, typename Call>
absl::StatusOr<Response> Client::Unary(const CallOptions& options, Call call) {
  absl::Time deadline = DeadlineOf(options);
  for (int attempt = 1;; ++attempt) {
    std::unique_ptr<grpc::ClientContext> context =
        NewContext(options, deadline);
    Response response;
    grpc::Status status = call(context.get(), &response);
    if (status.ok()) return response;
    Metadata initial = CopyMetadata(context->GetServerInitialMetadata());
    Metadata trailing = CopyMetadata(context->GetServerTrailingMetadata());
    absl::Status error = FromGrpc(
        status, trailing, HeardFromServer(channel_.get(), initial, trailing));
    absl::Duration delay = RetryDelay(error, attempt, deadline, options);
    if (delay < absl::ZeroDuration()) return error;
    absl::SleepFor(delay);
  }
}

absl::StatusOr<v1::ChatCompletion> Client::Create(
    const v1::ChatCompletionRequest& request, const CallOptions& options) {
  return Unary<v1::ChatCompletion>(
      options, [&](grpc::ClientContext* context, v1::ChatCompletion* response) {
        return stub_->Create(context, request, response);
      });
}

absl::Status Client::Stream(
    const v1::ChatCompletionRequest& request,
    const std::function<bool(const v1::ChatCompletionChunk&)>& on_chunk,
    const CallOptions& options) {
  std::unique_ptr<ChunkReader> reader = StartStream(request, options);
  v1::ChatCompletionChunk chunk;
  while (reader->Next(&chunk)) {
    if (!on_chunk(chunk)) {
      reader->Cancel();
      while (reader->Next(&chunk)) {
      }
      return absl::CancelledError("cancelled by the caller");
    }
  }
  return reader->status();
}

std::unique_ptr<ChunkReader> Client::StartStream(
    const v1::ChatCompletionRequest& request, const CallOptions& options) {
  return std::make_unique<SyncStream>(*this, request, options);
}

absl::StatusOr<v1::ListModelsResponse> Client::ListModels(
    const CallOptions& options) {
  v1::ListModelsRequest request;
  return Unary<v1::ListModelsResponse>(
      options,
      [&](grpc::ClientContext* context, v1::ListModelsResponse* response) {
        return stub_->ListModels(context, request, response);
      });
}

absl::StatusOr<v1::EmbeddingsResponse> Client::Embeddings(
    const v1::EmbeddingsRequest& request, const CallOptions& options) {
  return Unary<v1::EmbeddingsResponse>(
      options,
      [&](grpc::ClientContext* context, v1::EmbeddingsResponse* response) {
        return stub_->Embeddings(context, request, response);
      });
}

std::shared_ptr<StreamCall> Client::StreamAsync(
    const v1::ChatCompletionRequest& request, const CallOptions& options,
    std::shared_ptr<StreamCall::Handler> handler) {
  return StreamCall::Start(*stub_, channel_.get(), tracker_,
                           NewContext(options, DeadlineOf(options)), request,
                           std::move(handler));
}

std::shared_ptr<UnaryCall> Client::CreateAsync(
    const v1::ChatCompletionRequest& request, const CallOptions& options,
    UnaryDone<v1::ChatCompletion> done) {
  return client::CreateAsync(*stub_, channel_.get(), tracker_,
                             NewContext(options, DeadlineOf(options)), request,
                             std::move(done));
}

std::shared_ptr<UnaryCall> Client::EmbeddingsAsync(
    const v1::EmbeddingsRequest& request, const CallOptions& options,
    UnaryDone<v1::EmbeddingsResponse> done) {
  return client::EmbeddingsAsync(*stub_, channel_.get(), tracker_,
                                 NewContext(options, DeadlineOf(options)),
                                 request, std::move(done));
}

}  // namespace aigw::client
