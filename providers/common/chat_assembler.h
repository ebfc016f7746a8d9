// Folds a stream of canonical chunks into one ChatCompletion: content and
// reasoning concatenated, tool calls joined by index, the finish reason and
// the usage kept. Non-streaming answers are built from the same decoders.
#ifndef AIGW_PROVIDERS_COMMON_CHAT_ASSEMBLER_H_
#define AIGW_PROVIDERS_COMMON_CHAT_ASSEMBLER_H_

#include <map>

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
  std::map<int, std::map<int, v1::ToolCall>> tool_calls_;  // choice -> index
};

}  // namespace aigw

#endif  // AIGW_PROVIDERS_COMMON_CHAT_ASSEMBLER_H_
