// Folds a stream of canonical chunks into one ChatCompletion: content and
// reasoning concatenated, tool calls joined by index (in the order they
// began; a new id at a used index is a new call), the finish reason and
// the usage kept. Non-streaming answers are built from the same decoders.
#ifndef AIGW_PROVIDERS_COMMON_CHAT_ASSEMBLER_H_
#define AIGW_PROVIDERS_COMMON_CHAT_ASSEMBLER_H_

#include <map>
#include <vector>

#include "proto/aigw/v1/chat.pb.h"
#include "providers/provider.h"

namespace aigw {

class ChatAssembler : public ChunkSink {
 public:
  bool Write(v1::ChatCompletionChunk chunk) override;
  v1::ChatCompletion Build() const;

 private:
  v1::ChatCompletion completion_;
  std::map<int, v1::Choice> choices_;
  // Per choice: its tool calls in the order they began, and which of them
  // each stream index names now.
  struct ToolCalls {
    std::vector<v1::ToolCall> calls;
    std::map<int, size_t> by_index;
  };
  std::map<int, ToolCalls> tool_calls_;
};

}  // namespace aigw

#endif  // AIGW_PROVIDERS_COMMON_CHAT_ASSEMBLER_H_
