// A message's reasoning as blocks, each with its own signature: how the
// front doors and adapters read and build Message.reasoning_blocks (see
// chat.proto), so one signature never covers another block's text.
#ifndef AIGW_PROVIDERS_COMMON_REASONING_BLOCKS_H_
#define AIGW_PROVIDERS_COMMON_REASONING_BLOCKS_H_

#include <vector>

#include "absl/strings/string_view.h"
#include "proto/aigw/v1/chat.pb.h"

namespace aigw {

// The reasoning of `message`, block by block: its reasoning_blocks, or the
// one block of reasoning_content and reasoning_signature (none without
// reasoning).
std::vector<v1::ReasoningBlock> ReasoningBlocksOf(const v1::Message& message);

// Adds one whole block (a thinking block, a reasoning item) after the
// reasoning `message` already has, and after its tool calls so far;
// `after_text`: it came after the turn's text (before any tool call).
void AddReasoningBlock(absl::string_view text, absl::string_view signature,
                       bool after_text, v1::Message* message);

// Where `block` goes in a turn of `tool_calls` calls: slot 0 before the
// text, 1 after it, k + 1 right after call k (1-based). A turn is written
// slot 0, text, slot 1, call 1, slot 2, call 2, slot 3, ...
int ReasoningSlot(const v1::ReasoningBlock& block, int tool_calls);

// Folds a stream delta's reasoning text and signature into `message`, whose
// turn has streamed `tool_calls_before` tool calls so far: reasoning after
// a signature, after the turn's text or after a new tool call starts a new
// block, and so does a signature after a signed block (a block whose text
// was withheld).
void AddReasoningDelta(const v1::Message& delta, int tool_calls_before,
                       v1::Message* message);

}  // namespace aigw

#endif  // AIGW_PROVIDERS_COMMON_REASONING_BLOCKS_H_
