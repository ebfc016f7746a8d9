#include "server/stream_session.h"

#include <utility>

namespace aigw {
namespace {
// Chunks buffered between a fast upstream and a slow client.
constexpr size_t kMaxQueuedChunks = 256;
}  // namespace

struct StreamSession::State : public ChunkSink {
  absl::Mutex mu;
  std::deque<v1::ChatCompletionChunk> queue ABSL_GUARDED_BY(mu);
  bool done ABSL_GUARDED_BY(mu) = false;
  bool cancelled ABSL_GUARDED_BY(mu) = false;
  absl::Status status ABSL_GUARDED_BY(mu);
  CancelToken cancel;

  bool Write(v1::ChatCompletionChunk chunk) override {
    absl::MutexLock lock(&mu);
    auto has_room = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
      return cancelled || queue.size() < kMaxQueuedChunks;
    };
    mu.Await(absl::Condition(&has_room));
    if (cancelled) return false;
    queue.push_back(std::move(chunk));
    return true;
  }
};

std::unique_ptr<StreamSession> StreamSession::Start(
    Gateway& gateway, v1::ChatCompletionRequest request,
    httplib::TaskQueue& workers) {
  auto state = std::make_shared<State>();
  workers.enqueue([state, &gateway, request = std::move(request)]() mutable {
    absl::Status status =
        gateway.Stream(std::move(request), *state, &state->cancel);
    absl::MutexLock lock(&state->mu);
    state->status = std::move(status);
    state->done = true;
  });
  return std::unique_ptr<StreamSession>(new StreamSession(std::move(state)));
}

StreamSession::StreamSession(std::shared_ptr<State> state)
    : state_(std::move(state)) {}

StreamSession::~StreamSession() { Cancel(); }

StreamSession::Event StreamSession::Next(
    std::vector<v1::ChatCompletionChunk>* chunks, absl::Duration wait) {
  State& s = *state_;
  absl::MutexLock lock(&s.mu);
  auto ready = [&s]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(s.mu) {
    return !s.queue.empty() || s.done;
  };
  s.mu.AwaitWithTimeout(absl::Condition(&ready), wait);
  chunks->clear();
  if (!s.queue.empty()) {
    for (v1::ChatCompletionChunk& chunk : s.queue) {
      chunks->push_back(std::move(chunk));
    }
    s.queue.clear();
    return Event::kChunk;
  }
  return s.done ? Event::kEnd : Event::kIdle;
}

absl::Status StreamSession::status() const {
  absl::MutexLock lock(&state_->mu);
  return state_->status;
}

void StreamSession::Cancel() { Cancel(*state_); }

std::function<void()> StreamSession::Canceller() const {
  return [state = state_] { Cancel(*state); };
}

void StreamSession::Cancel(State& state) {
  {
    absl::MutexLock lock(&state.mu);
    if (state.done || state.cancelled) return;
    state.cancelled = true;
  }
  state.cancel.Cancel();
}

}  // namespace aigw
