#include "server/filters/rate_limit/estimator.h"

#include <gtest/gtest.h>

namespace aigw {
namespace {

TEST(Estimator, AsciiIsFourBytesAToken) {
  EXPECT_EQ(EstimateTextTokens(""), 0);
  EXPECT_EQ(EstimateTextTokens("abcd"), 1);
  EXPECT_EQ(EstimateTextTokens("abcde"), 2);
}

TEST(Estimator, EachNonAsciiCodePointIsAToken) {
  EXPECT_EQ(EstimateTextTokens("你好世界"), 4);  // 12 bytes, 4 characters
  EXPECT_EQ(EstimateTextTokens("héllo"), 2);     // "hllo" + "é"
}

TEST(Estimator, PromptCountsMessagesFramingImagesAndTools) {
  v1::ChatCompletionRequest request;
  auto* message = request.add_messages();
  message->set_role("user");
  message->set_content("abcdabcd");  // 2
  // 3 per request + 4 per message + 2.
  EXPECT_EQ(EstimatePromptTokens(request), 9);
  auto* image = message->add_parts();
  image->set_type("image_url");
  image->mutable_image_url()->set_url("https://x/y.png");
  image->mutable_image_url()->set_detail("low");
  EXPECT_EQ(EstimatePromptTokens(request), 9 + 85);
  auto* tool = request.add_tools();
  tool->mutable_function()->set_name("get_weather");  // 3
  EXPECT_EQ(EstimatePromptTokens(request), 9 + 85 + 3);
}

TEST(Estimator, TallyRoundsOnceOverAStream) {
  TokenTally tally;
  for (int i = 0; i < 8; ++i) {
    v1::ChatCompletionChunk chunk;
    chunk.add_choices()->mutable_delta()->set_content("ab");
    tally.AddChunk(chunk);
  }
  // 16 bytes: 4 tokens, not 8 rounded-up pieces.
  EXPECT_EQ(tally.tokens(), 4);
}

TEST(Estimator, EmbeddingInputsAreCounted) {
  v1::EmbeddingsRequest request;
  request.add_input("abcd");
  request.add_input("efgh");
  EXPECT_EQ(EstimateInputTokens(request), 2);
}

}  // namespace
}  // namespace aigw
