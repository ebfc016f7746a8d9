#include "providers/common/chat_assembler.h"

#include "gtest/gtest.h"

namespace aigw {
namespace {

v1::ChatCompletionChunk Fragment(int index, const char* id, const char* name,
                                 const char* arguments) {
  v1::ChatCompletionChunk chunk;
  v1::ToolCall* call = chunk.add_choices()->mutable_delta()->add_tool_calls();
  call->set_index(index);
  if (*id) call->set_id(id);
  if (*name) call->mutable_function()->set_name(name);
  call->mutable_function()->set_arguments(arguments);
  return chunk;
}

// Calls keep the order they began in, whatever their indexes; fragments
// with the id repeated join their call; another id at a used index is a
// call of its own (as the front doors' stream encoders see it).
TEST(ChatAssemblerTest, ToolCallsInTheOrderTheyBegan) {
  ChatAssembler assembler;
  assembler.Write(Fragment(3, "call_a", "f", "{\"a\":"));
  assembler.Write(Fragment(1, "call_b", "g", "{}"));
  assembler.Write(Fragment(3, "call_a", "", "1}"));
  assembler.Write(Fragment(3, "call_c", "h", "{\"c\":"));
  assembler.Write(Fragment(3, "", "", "3}"));
  v1::Message message = assembler.Build().choices(0).message();
  ASSERT_EQ(message.tool_calls_size(), 3);
  EXPECT_EQ(message.tool_calls(0).id(), "call_a");
  EXPECT_EQ(message.tool_calls(0).function().arguments(), "{\"a\":1}");
  EXPECT_EQ(message.tool_calls(1).id(), "call_b");
  EXPECT_EQ(message.tool_calls(1).function().name(), "g");
  EXPECT_EQ(message.tool_calls(2).id(), "call_c");
  EXPECT_EQ(message.tool_calls(2).function().arguments(), "{\"c\":3}");
  EXPECT_EQ(message.tool_calls(2).type(), "function");
  EXPECT_FALSE(message.tool_calls(2).has_index());
}

}  // namespace
}  // namespace aigw
