#include "providers/common/reasoning_blocks.h"

#include "absl/strings/str_cat.h"

namespace aigw {

namespace {

// From one block (content + signature) to the list, so a second can follow.
void ToBlockList(v1::Message* message) {
  if (message->reasoning_blocks_size() > 0) return;
  v1::ReasoningBlock* first = message->add_reasoning_blocks();
  first->set_text(message->reasoning_content());
  first->set_signature(message->reasoning_signature());
  message->clear_reasoning_signature();
}

bool LastBlockSigned(const v1::Message& message) {
  if (message.reasoning_blocks_size() > 0) {
    return !message.reasoning_blocks().rbegin()->signature().empty();
  }
  return !message.reasoning_signature().empty();
}

void AppendText(absl::string_view text, v1::Message* message) {
  absl::StrAppend(message->mutable_reasoning_content(), text);
  if (message->reasoning_blocks_size() > 0) {
    absl::StrAppend(
        message->mutable_reasoning_blocks()->rbegin()->mutable_text(), text);
  }
}

void AppendSignature(absl::string_view signature, v1::Message* message) {
  if (message->reasoning_blocks_size() > 0) {
    absl::StrAppend(
        message->mutable_reasoning_blocks()->rbegin()->mutable_signature(),
        signature);
  } else {
    absl::StrAppend(message->mutable_reasoning_signature(), signature);
  }
}

// Reasoning text arrives: a new block if the one before is signed.
void StartBlockIfSigned(v1::Message* message) {
  if (!LastBlockSigned(*message)) return;
  ToBlockList(message);
  message->add_reasoning_blocks();
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

void AddReasoningBlock(absl::string_view text, absl::string_view signature,
                       v1::Message* message) {
  const bool first = !message->has_reasoning_content() &&
                     message->reasoning_signature().empty() &&
                     message->reasoning_blocks_size() == 0;
  if (first) {
    message->set_reasoning_content(std::string(text));
    if (!signature.empty()) {
      message->set_reasoning_signature(std::string(signature));
    }
    return;
  }
  if (signature.empty() && !LastBlockSigned(*message)) {
    AppendText(text, message);  // unsigned text runs on: one block
    return;
  }
  ToBlockList(message);
  v1::ReasoningBlock* block = message->add_reasoning_blocks();
  block->set_text(std::string(text));
  block->set_signature(std::string(signature));
  absl::StrAppend(message->mutable_reasoning_content(), text);
}

void AddReasoningDelta(const v1::Message& delta, v1::Message* message) {
  if (delta.has_reasoning_content() && !delta.reasoning_content().empty()) {
    StartBlockIfSigned(message);
    AppendText(delta.reasoning_content(), message);
  } else if (delta.has_reasoning_content() &&
             !message->has_reasoning_content()) {
    message->set_reasoning_content("");
  }
  if (!delta.reasoning_signature().empty()) {
    AppendSignature(delta.reasoning_signature(), message);
  }
}

}  // namespace aigw
