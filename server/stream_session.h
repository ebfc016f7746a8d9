// Runs one gateway stream on a worker thread and hands its chunks to the
// front door's thread through a bounded queue. The split lets a front door
// (1) learn whether the stream failed before its first chunk, while it can
// still answer with a plain error status, and (2) notice a client that left
// while the upstream is silent, and cancel the upstream call.
#ifndef AIGW_SERVER_STREAM_SESSION_H_
#define AIGW_SERVER_STREAM_SESSION_H_

#include <deque>
#include <functional>
#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "httplib.h"
#include "proto/aigw/v1/chat.pb.h"
#include "server/gateway.h"

namespace aigw {

class StreamSession {
 public:
  enum class Event { kChunk, kEnd, kIdle };

  static std::unique_ptr<StreamSession> Start(Gateway& gateway,
                                              v1::ChatCompletionRequest request,
                                              httplib::TaskQueue& workers);
  ~StreamSession();  // cancels the stream if it is still running

  // Waits up to `wait` for chunks or the end of the stream. On kChunk,
  // `chunks` holds every chunk queued so far (at least one), so a front door
  // can write a burst of upstream events with one syscall.
  Event Next(std::vector<v1::ChatCompletionChunk>* chunks, absl::Duration wait);
  // The stream's result; meaningful after Next() returned kEnd.
  absl::Status status() const;
  // Stops the stream (the client left); the upstream call is aborted.
  void Cancel();
  // Cancel() as a callable that stays safe after this session is gone.
  std::function<void()> Canceller() const;

 private:
  struct State;
  explicit StreamSession(std::shared_ptr<State> state);
  static void Cancel(State& state);

  std::shared_ptr<State> state_;
};

}  // namespace aigw

#endif  // AIGW_SERVER_STREAM_SESSION_H_
