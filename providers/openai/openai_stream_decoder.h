// Decodes an OpenAI-compatible chat stream (SSE of chat.completion.chunk
// JSON, `data: [DONE]` at the end, `{"error":...}` events on failure) into
// canonical chunks, fed with upstream bytes split anywhere.
#ifndef AIGW_PROVIDERS_OPENAI_OPENAI_STREAM_DECODER_H_
#define AIGW_PROVIDERS_OPENAI_OPENAI_STREAM_DECODER_H_

#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "providers/common/sse_framer.h"
#include "providers/provider.h"

namespace aigw {

class OpenAiStreamDecoder final : public StreamDecoder {
 public:
  explicit OpenAiStreamDecoder(ChunkSink& sink) : sink_(sink) {}

  // Decodes the events completed by `bytes`; false means stop reading
  // (an error, or the sink's consumer is gone).
  bool Feed(absl::string_view bytes) override;
  // Call at the end of the body: an unterminated last event is decoded and
  // a stream cut before [DONE] or a finish_reason is an error.
  absl::Status Finish() override;

  const absl::Status& error() const override { return error_; }
  bool client_gone() const override { return client_gone_; }

 private:
  bool Drain();
  bool Handle(const SseEvent& event);

  ChunkSink& sink_;
  SseFramer framer_;
  std::vector<SseEvent> events_;
  absl::Status error_;
  bool done_ = false;
  bool finished_ = false;
  bool client_gone_ = false;
};

}  // namespace aigw

#endif  // AIGW_PROVIDERS_OPENAI_OPENAI_STREAM_DECODER_H_
