#include "providers/common/reasoning_blocks.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace aigw {

namespace {

bool HasReasoning(const v1::Message& message) {
  return !message.reasoning_content().empty() ||
         !message.reasoning_signature().empty() ||
         message.reasoning_blocks_size() > 0;
}

// From one block (content + signature) to the list, so a second can follow.
void ToBlockList(v1::Message* message) {
  if (message->reasoning_blocks_size() > 0) return;
  if (!message->reasoning_content().empty() ||
      !message->reasoning_signature().empty()) {
    v1::ReasoningBlock* first = message->add_reasoning_blocks();
    first->set_text(message->reasoning_content());
    first->set_signature(message->reasoning_signature());
  }
  message->clear_reasoning_signature();
}

bool LastBlockSigned(const v1::Message& message) {
  if (message.reasoning_blocks_size() > 0) {
    return !message.reasoning_blocks().rbegin()->signature().empty();
  }
  return !message.reasoning_signature().empty();
}

// Where a block goes in its turn (see ReasoningSlot), before the turn's
// calls are known.
int Slot(int tool_calls_before, bool after_text) {
  if (tool_calls_before > 0) return tool_calls_before + 1;
  return after_text ? 1 : 0;
}

int LastBlockSlot(const v1::Message& message) {
  if (message.reasoning_blocks_size() > 0) {
    const v1::ReasoningBlock& last = *message.reasoning_blocks().rbegin();
    return Slot(last.tool_calls_before(), last.after_text());
  }
  return 0;
}

// Whether reasoning in `slot` continues the last block rather than
// starting its own.
bool ContinuesLastBlock(const v1::Message& message, int slot) {
  if (!HasReasoning(message)) return slot == 0;
  return !LastBlockSigned(message) && LastBlockSlot(message) == slot;
}

// A new, empty last block after `position` tool calls (none needed for the
// very first block before the text and any call: the single-block fields
// hold it).
void StartBlock(int position, bool after_text, v1::Message* message) {
  if (!HasReasoning(*message) && Slot(position, after_text) == 0) return;
  ToBlockList(message);
  v1::ReasoningBlock* block = message->add_reasoning_blocks();
  block->set_tool_calls_before(position);
  block->set_after_text(position == 0 && after_text);
}

void AppendText(absl::string_view text, v1::Message* message) {
  absl::StrAppend(message->mutable_reasoning_content(), text);
  if (message->reasoning_blocks_size() > 0) {
    absl::StrAppend(
        message->mutable_reasoning_blocks()->rbegin()->mutable_text(), text);
  }
}

void SetSignature(absl::string_view signature, v1::Message* message) {
  if (message->reasoning_blocks_size() > 0) {
    message->mutable_reasoning_blocks()->rbegin()->set_signature(
        std::string(signature));
  } else {
    message->set_reasoning_signature(std::string(signature));
  }
}

}  // namespace

std::vector<v1::ReasoningBlock> ReasoningBlocksOf(const v1::Message& message) {
  if (message.reasoning_blocks_size() > 0) {
    return {message.reasoning_blocks().begin(),
            message.reasoning_blocks().end()};
  }
  if (message.reasoning_content().empty() &&
      message.reasoning_signature().empty()) {
    return {};
  }
  v1::ReasoningBlock block;
  block.set_text(message.reasoning_content());
  block.set_signature(message.reasoning_signature());
  return {block};
}

int ReasoningSlot(const v1::ReasoningBlock& block, int tool_calls) {
  return Slot(std::min(block.tool_calls_before(), tool_calls),
              block.after_text());
}

void AddReasoningBlock(absl::string_view text, absl::string_view signature,
                       bool after_text, v1::Message* message) {
  const int position = message->tool_calls_size();
  // Unsigned text runs on as one block (another provider's reasoning).
  const bool runs_on = signature.empty() && HasReasoning(*message) &&
                       ContinuesLastBlock(*message, Slot(position, after_text));
  if (!runs_on) StartBlock(position, after_text, message);
  AppendText(text, message);
  if (!signature.empty()) SetSignature(signature, message);
}

void AddReasoningDelta(const v1::Message& delta, int tool_calls_before,
                       v1::Message* message) {
  // Reasoning after the turn's first text is a block of its own.
  const bool after_text = !message->content().empty();
  const int slot = Slot(tool_calls_before, after_text);
  if (delta.has_reasoning_content() && !delta.reasoning_content().empty()) {
    if (!ContinuesLastBlock(*message, slot)) {
      StartBlock(tool_calls_before, after_text, message);
    }
    AppendText(delta.reasoning_content(), message);
  } else if (delta.has_reasoning_content() &&
             !message->has_reasoning_content()) {
    message->set_reasoning_content("");
  }
  if (!delta.reasoning_signature().empty()) {
    // A signature after a signed block (or a tool call) is a block of its
    // own whose text was withheld (Claude's omitted thinking display).
    if (!ContinuesLastBlock(*message, slot)) {
      StartBlock(tool_calls_before, after_text, message);
    }
    SetSignature(delta.reasoning_signature(), message);
  }
}

}  // namespace aigw
