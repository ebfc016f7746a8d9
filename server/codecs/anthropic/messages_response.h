// Canonical answers -> Anthropic Messages API shapes: a whole message, the
// streamed event sequence (message_start, ping, content_block_start/delta/
// stop with text_delta, thinking_delta and input_json_delta, message_delta
// with stop_reason and usage, message_stop, or a final `error` event), and
// Anthropic's error body.
#ifndef AIGW_SERVER_CODECS_ANTHROPIC_MESSAGES_RESPONSE_H_
#define AIGW_SERVER_CODECS_ANTHROPIC_MESSAGES_RESPONSE_H_

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "proto/aigw/v1/chat.pb.h"

namespace aigw::anthropic {

// "end_turn", "max_tokens", "tool_use", "refusal" for a canonical reason.
std::string StopReason(const std::string& finish_reason);

nlohmann::json UsageJson(const v1::Usage& usage);

// The answer to a non-streamed request; `model` is the one the client sent.
nlohmann::json MessageJson(const v1::ChatCompletion& completion,
                           const std::string& model);

// The body answering a non-streamed request: the upstream's own (model
// replaced) when it was a passthrough, else MessageJson.
std::string AnswerBody(const v1::ChatCompletion& completion,
                       const std::string& model);

// {"type":"error","error":{"type":"rate_limit_error","message":...}}.
std::string ErrorBodyJson(const absl::Status& status);
// The HTTP status Anthropic uses for `status` (529 for an overloaded
// upstream as for any 5xx it does not know better).
int HttpStatusOf(const absl::Status& status);

// Turns the canonical chunks of one stream into Anthropic's SSE events.
class StreamEncoder {
 public:
  // `input_tokens`: message_start's count, an estimate until the upstream
  // counts (message_delta carries the real one).
  explicit StreamEncoder(std::string model, int64_t input_tokens = 0)
      : model_(std::move(model)), input_tokens_(input_tokens) {}

  // The events for `chunk` ("" when it carries nothing to send).
  std::string Encode(const v1::ChatCompletionChunk& chunk);
  // The last events: the open block's stop, message_delta and
  // message_stop; or, for a failure, an `error` event.
  std::string Finish(const absl::Status& status);

 private:
  enum class Block { kNone, kText, kThinking, kToolUse };
  // A passthrough chunk: the upstream's events, the model replaced.
  std::string Relay(const std::string& events);
  void Start(const v1::ChatCompletionChunk& chunk, std::string& out);
  // Starts a block; returns its index.
  int Open(Block kind, const nlohmann::json& content_block, std::string& out);
  void Close(std::string& out);  // the open text or thinking block
  void CloseTools(std::string& out);

  const std::string model_;
  const int64_t input_tokens_ = 0;
  bool started_ = false;
  bool relayed_ = false;  // the upstream's own events went out
  Block open_ = Block::kNone;
  int index_ = -1;                       // the last block started
  int open_index_ = -1;                  // the open text or thinking block
  bool thinking_signed_ = false;         // the open thinking got its signature
  std::map<int, int> tool_blocks_;       // tool-call index -> block
  std::map<int, std::string> tool_ids_;  // tool-call index -> its id
  std::vector<int> open_tools_;          // open tool blocks, in order
  std::string stop_reason_ = "end_turn";
  v1::Usage usage_;
};

}  // namespace aigw::anthropic

#endif  // AIGW_SERVER_CODECS_ANTHROPIC_MESSAGES_RESPONSE_H_
