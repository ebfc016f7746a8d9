#include "providers/common/reasoning_blocks.h"

#include "gtest/gtest.h"
#include "providers/common/chat_assembler.h"

namespace aigw {
namespace {

v1::ChatCompletionChunk Delta(const char* text, const char* signature) {
  v1::ChatCompletionChunk chunk;
  v1::Message* delta = chunk.add_choices()->mutable_delta();
  if (*text) delta->set_reasoning_content(text);
  if (*signature) delta->set_reasoning_signature(signature);
  return chunk;
}

// One signed block needs no list; text after a signature is a new block,
// each with its own text and signature, fragments joined.
TEST(ReasoningBlocksTest, StreamedBlocksKeepTheirOwnSignatures) {
  ChatAssembler one;
  one.Write(Delta("Think ", ""));
  one.Write(Delta("hard.", ""));
  one.Write(Delta("", "sig-"));
  one.Write(Delta("", "a"));
  v1::Message single = one.Build().choices(0).message();
  EXPECT_EQ(single.reasoning_content(), "Think hard.");
  EXPECT_EQ(single.reasoning_signature(), "sig-a");
  EXPECT_EQ(single.reasoning_blocks_size(), 0);

  ChatAssembler two;
  two.Write(Delta("First.", ""));
  two.Write(Delta("", "sig-a"));
  two.Write(Delta("Second", ""));
  two.Write(Delta(" one.", ""));
  two.Write(Delta("", "sig-b"));
  v1::Message both = two.Build().choices(0).message();
  EXPECT_EQ(both.reasoning_content(), "First.Second one.");
  EXPECT_FALSE(both.has_reasoning_signature());
  ASSERT_EQ(both.reasoning_blocks_size(), 2);
  EXPECT_EQ(both.reasoning_blocks(0).text(), "First.");
  EXPECT_EQ(both.reasoning_blocks(0).signature(), "sig-a");
  EXPECT_EQ(both.reasoning_blocks(1).text(), "Second one.");
  EXPECT_EQ(both.reasoning_blocks(1).signature(), "sig-b");
  EXPECT_EQ(ReasoningBlocksOf(both).size(), 2u);
  EXPECT_EQ(ReasoningBlocksOf(single).size(), 1u);
  EXPECT_EQ(ReasoningBlocksOf(single)[0].signature(), "sig-a");
  EXPECT_TRUE(ReasoningBlocksOf(v1::Message()).empty());
}

// Unsigned reasoning (another provider's) stays one block, however it
// arrives; signed blocks are blocks of their own.
TEST(ReasoningBlocksTest, UnsignedReasoningIsOneBlock) {
  v1::Message message;
  AddReasoningBlock("a", "", &message);
  AddReasoningBlock("b", "", &message);
  EXPECT_EQ(message.reasoning_content(), "ab");
  EXPECT_EQ(message.reasoning_blocks_size(), 0);
  // A signed block after it is a block of its own.
  AddReasoningBlock("c", "sig-c", &message);
  ASSERT_EQ(message.reasoning_blocks_size(), 2);
  EXPECT_EQ(message.reasoning_blocks(0).text(), "ab");
  EXPECT_EQ(message.reasoning_blocks(0).signature(), "");
  EXPECT_EQ(message.reasoning_blocks(1).text(), "c");
  EXPECT_EQ(message.reasoning_blocks(1).signature(), "sig-c");
  EXPECT_EQ(message.reasoning_content(), "abc");
  // A signed block first, then another: two blocks.
  v1::Message signed_first;
  AddReasoningBlock("x", "sig-x", &signed_first);
  EXPECT_EQ(signed_first.reasoning_signature(), "sig-x");
  AddReasoningBlock("y", "sig-y", &signed_first);
  ASSERT_EQ(signed_first.reasoning_blocks_size(), 2);
  EXPECT_FALSE(signed_first.has_reasoning_signature());
}

}  // namespace
}  // namespace aigw
