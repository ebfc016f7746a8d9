// Runs one gateway stream on a stack of its own, in the calling thread.
//
// A REST stream must learn whether the upstream failed before its first
// chunk (then the answer is a plain HTTP error status), but cpp-httplib only
// sends the status line after the handler returns, and calls the content
// provider afterwards, in the same thread. The fiber bridges the two: the
// handler runs the stream until its first chunk and pauses it; the content
// provider resumes it and it writes straight to the client. No worker
// thread and no cross-thread hand-off per stream or per chunk.
#ifndef AIGW_SERVER_STREAM_FIBER_H_
#define AIGW_SERVER_STREAM_FIBER_H_

#include <ucontext.h>

#include <functional>
#include <memory>

#include "absl/status/status.h"
#include "proto/aigw/v1/chat.pb.h"
#include "providers/common/cancel_token.h"
#include "server/gateway.h"

namespace aigw {

class StreamFiber : private ChunkSink {
 public:
  using WriteFn = std::function<bool(const v1::ChatCompletionChunk&)>;

  // `ctx` says who is calling (see RequestContext).
  StreamFiber(Gateway* gateway, v1::ChatCompletionRequest request,
              RequestContext ctx = RequestContext());
  // Unwinds a stream that is still paused (its client never got it).
  ~StreamFiber() override;

  StreamFiber(const StreamFiber&) = delete;
  StreamFiber& operator=(const StreamFiber&) = delete;

  // Runs the stream until its first chunk (true: first_chunk() is set) or
  // its end (false: see status()).
  bool RunToFirstChunk();
  const v1::ChatCompletionChunk& first_chunk() const { return first_; }

  // Resumes the stream, handing every further chunk to `write`, which
  // returns false when the client is gone. Returns the stream's result.
  absl::Status RunToEnd(WriteFn write);

  const absl::Status& status() const { return status_; }
  // Which provider answered, after how many attempts, and what the
  // filters decided (headers for the client).
  const RequestContext& context() const { return ctx_; }
  // Thread-safe: aborts the upstream call (the client left).
  const std::shared_ptr<CancelToken>& cancel() const { return cancel_; }

 private:
  static void Entry(unsigned int high, unsigned int low);
  bool Write(v1::ChatCompletionChunk chunk) override;
  void SwitchToFiber();

  Gateway* const gateway_;
  v1::ChatCompletionRequest request_;
  std::shared_ptr<CancelToken> cancel_ = std::make_shared<CancelToken>();

  ucontext_t caller_context_;
  ucontext_t fiber_context_;
  void* stack_ = nullptr;
  bool paused_ = false;    // suspended inside Write()
  bool finished_ = false;  // gateway->Stream() returned
  bool abandoned_ = false;
  v1::ChatCompletionChunk first_;
  WriteFn write_;
  absl::Status status_;
  RequestContext ctx_;
};

}  // namespace aigw

#endif  // AIGW_SERVER_STREAM_FIBER_H_
