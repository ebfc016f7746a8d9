// Decodes DashScope's native generation stream (result_format "message",
// incremental_output on) into canonical chunks, fed with upstream bytes split
// anywhere. Its SSE has `id:`/`event:result` lines, `:HTTP_STATUS/200`
// comments, `data:` without a space, finish_reason as the STRING "null"
// until the end, cumulative usage in every event, and `event:error` events
// carrying {"code","message","request_id"}.
#ifndef AIGW_PROVIDERS_QWEN_QWEN_STREAM_DECODER_H_
#define AIGW_PROVIDERS_QWEN_QWEN_STREAM_DECODER_H_

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "providers/common/sse_framer.h"
#include "providers/provider.h"

namespace aigw {

class QwenStreamDecoder final : public StreamDecoder {
 public:
  // `model` and `created` stamp every chunk (the core renames the model).
  QwenStreamDecoder(ChunkSink& sink, std::string model, int64_t created);

  // Decodes the events completed by `bytes`; false means stop reading
  // (an error, or the sink's consumer is gone).
  bool Feed(absl::string_view bytes) override;
  // Call at the end of the body: decodes an unterminated last event, fails
  // if no choice finished, and sends the usage chunk.
  absl::Status Finish() override;

  const absl::Status& error() const override { return error_; }
  bool client_gone() const override { return client_gone_; }

 private:
  struct ToolCallSeen {
    bool id = false;
    bool name = false;
  };

  bool Drain();
  bool Handle(const SseEvent& event);
  bool HandleResult(const nlohmann::json& j);
  bool AddChoice(const nlohmann::json& c, int position,
                 v1::ChatCompletionChunk* chunk);
  void AddToolCalls(const nlohmann::json& calls, int choice,
                    v1::Message* delta);
  v1::ChatCompletionChunk NewChunk() const;
  bool Write(v1::ChatCompletionChunk chunk);

  ChunkSink& sink_;
  const std::string model_;
  const int64_t created_;
  SseFramer framer_;
  std::vector<SseEvent> events_;
  std::string id_;
  std::set<int> role_sent_;
  std::set<int> finished_;
  std::set<int> used_tools_;
  std::map<std::pair<int, int>, ToolCallSeen> tool_calls_;  // (choice, index)
  v1::Usage usage_;
  absl::Status error_;
  bool client_gone_ = false;
};

// A gateway error from a DashScope error object {"code","message",...}.
// `http_status` 0 (unknown) is derived from the code.
absl::Status QwenError(const nlohmann::json& error, int http_status);

}  // namespace aigw

#endif  // AIGW_PROVIDERS_QWEN_QWEN_STREAM_DECODER_H_
