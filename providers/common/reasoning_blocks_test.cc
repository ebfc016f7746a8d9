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

v1::ChatCompletionChunk Call(int index, const char* id) {
  v1::ChatCompletionChunk chunk;
  v1::ToolCall* call = chunk.add_choices()->mutable_delta()->add_tool_calls();
  call->set_index(index);
  call->set_id(id);
  call->mutable_function()->set_name("f");
  call->mutable_function()->set_arguments("{}");
  return chunk;
}

// One signed block needs no list; text after a signature is a new block,
// each with its own text and signature.
TEST(ReasoningBlocksTest, StreamedBlocksKeepTheirOwnSignatures) {
  ChatAssembler one;
  one.Write(Delta("Think ", ""));
  one.Write(Delta("hard.", ""));
  one.Write(Delta("", "sig-a"));
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
  AddReasoningBlock("a", "", false, &message);
  AddReasoningBlock("b", "", false, &message);
  EXPECT_EQ(message.reasoning_content(), "ab");
  EXPECT_EQ(message.reasoning_blocks_size(), 0);
  // A signed block after it is a block of its own.
  AddReasoningBlock("c", "sig-c", false, &message);
  ASSERT_EQ(message.reasoning_blocks_size(), 2);
  EXPECT_EQ(message.reasoning_blocks(0).text(), "ab");
  EXPECT_EQ(message.reasoning_blocks(0).signature(), "");
  EXPECT_EQ(message.reasoning_blocks(1).text(), "c");
  EXPECT_EQ(message.reasoning_blocks(1).signature(), "sig-c");
  EXPECT_EQ(message.reasoning_content(), "abc");
  // A signed block first, then another: two blocks.
  v1::Message signed_first;
  AddReasoningBlock("x", "sig-x", false, &signed_first);
  EXPECT_EQ(signed_first.reasoning_signature(), "sig-x");
  AddReasoningBlock("y", "sig-y", false, &signed_first);
  ASSERT_EQ(signed_first.reasoning_blocks_size(), 2);
  EXPECT_FALSE(signed_first.has_reasoning_signature());
}

// Claude may withhold a block's text (display omitted): a signature after
// a signed block is a block of its own, with empty text.
TEST(ReasoningBlocksTest, SignatureOnlyBlocksAreBlocks) {
  ChatAssembler stream;
  stream.Write(Delta("", "sig-a"));
  stream.Write(Delta("", "sig-b"));
  stream.Write(Delta("Shown.", "sig-c"));
  v1::Message message = stream.Build().choices(0).message();
  ASSERT_EQ(message.reasoning_blocks_size(), 3);
  EXPECT_EQ(message.reasoning_blocks(0).text(), "");
  EXPECT_EQ(message.reasoning_blocks(0).signature(), "sig-a");
  EXPECT_EQ(message.reasoning_blocks(1).text(), "");
  EXPECT_EQ(message.reasoning_blocks(1).signature(), "sig-b");
  EXPECT_EQ(message.reasoning_blocks(2).text(), "Shown.");
  EXPECT_EQ(message.reasoning_blocks(2).signature(), "sig-c");
  EXPECT_EQ(message.reasoning_content(), "Shown.");
}

// Interleaved thinking: blocks between tool calls know how many calls came
// before them, streamed or added whole, signed or not.
TEST(ReasoningBlocksTest, BlocksBetweenToolCallsKeepTheirPlace) {
  ChatAssembler stream;
  stream.Write(Delta("Plan.", "sig-1"));
  stream.Write(Call(0, "c1"));
  stream.Write(Delta("Then.", ""));
  stream.Write(Delta("", "sig-2"));
  stream.Write(Call(1, "c2"));
  stream.Write(Delta("", "sig-3"));
  v1::Message streamed = stream.Build().choices(0).message();
  ASSERT_EQ(streamed.reasoning_blocks_size(), 3);
  EXPECT_EQ(streamed.reasoning_blocks(0).tool_calls_before(), 0);
  EXPECT_EQ(streamed.reasoning_blocks(1).text(), "Then.");
  EXPECT_EQ(streamed.reasoning_blocks(1).tool_calls_before(), 1);
  EXPECT_EQ(streamed.reasoning_blocks(2).signature(), "sig-3");
  EXPECT_EQ(streamed.reasoning_blocks(2).tool_calls_before(), 2);
  ASSERT_EQ(streamed.tool_calls_size(), 2);

  // Unsigned reasoning after a call is a block of its own too.
  ChatAssembler unsigned_stream;
  unsigned_stream.Write(Delta("a", ""));
  unsigned_stream.Write(Call(0, "c1"));
  unsigned_stream.Write(Delta("b", ""));
  v1::Message plain = unsigned_stream.Build().choices(0).message();
  ASSERT_EQ(plain.reasoning_blocks_size(), 2);
  EXPECT_EQ(plain.reasoning_blocks(1).text(), "b");
  EXPECT_EQ(plain.reasoning_blocks(1).tool_calls_before(), 1);

  // Whole blocks take the place of the calls the message has so far; the
  // first block after a call is a list of one.
  v1::Message whole;
  whole.add_tool_calls()->set_id("c1");
  AddReasoningBlock("after", "sig", false, &whole);
  ASSERT_EQ(whole.reasoning_blocks_size(), 1);
  EXPECT_EQ(whole.reasoning_blocks(0).tool_calls_before(), 1);
  EXPECT_EQ(whole.reasoning_content(), "after");
  EXPECT_FALSE(whole.has_reasoning_signature());
}

// Reasoning after the turn's text (before any call) is a block of its own,
// marked as after the text.
TEST(ReasoningBlocksTest, ReasoningAfterTheTextIsMarked) {
  ChatAssembler stream;
  stream.Write(Delta("Plan.", "sig-1"));
  v1::ChatCompletionChunk text;
  text.add_choices()->mutable_delta()->set_content("Checking.");
  stream.Write(text);
  stream.Write(Delta("Which tool.", "sig-2"));
  v1::Message message = stream.Build().choices(0).message();
  ASSERT_EQ(message.reasoning_blocks_size(), 2);
  EXPECT_FALSE(message.reasoning_blocks(0).after_text());
  EXPECT_TRUE(message.reasoning_blocks(1).after_text());
  EXPECT_EQ(ReasoningSlot(message.reasoning_blocks(0), 0), 0);
  EXPECT_EQ(ReasoningSlot(message.reasoning_blocks(1), 0), 1);

  // Whole blocks: only the caller knows where the text was.
  v1::Message whole;
  AddReasoningBlock("after", "", /*after_text=*/true, &whole);
  ASSERT_EQ(whole.reasoning_blocks_size(), 1);
  EXPECT_TRUE(whole.reasoning_blocks(0).after_text());
  whole.add_tool_calls();
  AddReasoningBlock("late", "", /*after_text=*/true, &whole);
  EXPECT_EQ(ReasoningSlot(whole.reasoning_blocks(1), 1), 2);
}

}  // namespace
}  // namespace aigw
