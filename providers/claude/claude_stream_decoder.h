// Decodes an Anthropic Messages API stream (SSE: message_start,
// content_block_start/delta/stop, message_delta, message_stop, ping, error)
// into canonical chunks, fed with upstream bytes split anywhere. A
// non-streaming answer is replayed through the same event handling.
#ifndef AIGW_PROVIDERS_CLAUDE_CLAUDE_STREAM_DECODER_H_
#define AIGW_PROVIDERS_CLAUDE_CLAUDE_STREAM_DECODER_H_

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "providers/common/sse_framer.h"
#include "providers/provider.h"

namespace aigw {

class ClaudeStreamDecoder final : public StreamDecoder {
 public:
  // `created` stamps every chunk (Claude sends no timestamp).
  ClaudeStreamDecoder(ChunkSink& sink, int64_t created)
      : sink_(sink), created_(created) {}

  // Decodes the events completed by `bytes`; false means stop reading
  // (an error, or the sink's consumer is gone).
  bool Feed(absl::string_view bytes) override;
  // Call at the end of the body: an unterminated last event is decoded and
  // a stream cut before message_stop is an error.
  absl::Status Finish() override;

  // Keeps each upstream event's text on the chunks decoded from it
  // (passthrough_events), and emits an otherwise empty chunk for an event
  // that decodes to none (ping, unknown types), for a client of the same
  // protocol.
  void set_keep_events(bool keep) { keep_events_ = keep; }

  // Handles one event object (`{"type":"content_block_delta",...}`).
  bool HandleEvent(const nlohmann::json& event);

  const absl::Status& error() const override { return error_; }
  bool client_gone() const override { return client_gone_; }

 private:
  struct ToolBlock {
    int index = 0;               // OpenAI tool-call index
    bool has_arguments = false;  // argument bytes sent for it
  };

  bool keep_events_ = false;
  std::string pending_events_;  // this event's text, not yet on a chunk

  bool Drain();
  bool HandleSse(const SseEvent& event);
  bool HandleParsed(const SseEvent& event);
  bool OnContentBlockStart(const nlohmann::json& event);
  bool OnContentBlockDelta(const nlohmann::json& event);
  bool OnContentBlockStop(const nlohmann::json& event);
  bool OnMessageStop();
  void ReadUsage(const nlohmann::json& usage);
  bool Fail(absl::Status status);

  v1::ChatCompletionChunk NewChunk() const;
  // A chunk whose only choice carries `delta`.
  bool EmitDelta(v1::Message delta);
  bool EmitToolDelta(int index, const std::string& id, const std::string& name,
                     const std::string& arguments);
  bool Emit(v1::ChatCompletionChunk chunk);

  ChunkSink& sink_;
  const int64_t created_;
  SseFramer framer_;
  std::vector<SseEvent> events_;
  absl::Status error_;
  bool started_ = false;
  bool done_ = false;
  bool client_gone_ = false;

  std::string id_;
  std::string model_;
  std::string stop_reason_;
  std::map<int, ToolBlock> tool_blocks_;  // content block index -> tool call
  int tool_count_ = 0;
  int64_t input_tokens_ = 0;
  int64_t cache_creation_tokens_ = 0;
  int64_t cache_read_tokens_ = 0;
  int64_t output_tokens_ = 0;
};

// Turns a whole non-streaming Messages API answer into chunks for `sink`,
// through ClaudeStreamDecoder's event handling.
absl::Status DecodeClaudeMessage(const nlohmann::json& message, int64_t created,
                                 ChunkSink& sink);

}  // namespace aigw

#endif  // AIGW_PROVIDERS_CLAUDE_CLAUDE_STREAM_DECODER_H_
