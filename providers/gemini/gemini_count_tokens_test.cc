#include "providers/gemini/gemini_count_tokens.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "providers/common/openai_request_json.h"

namespace aigw {
namespace {

using nlohmann::json;

TEST(GeminiCountTokens, TheWholeRequestUnderGenerateContentRequest) {
  absl::StatusOr<v1::ChatCompletionRequest> request =
      ParseChatRequest(R"({"model": "gemini-2.5-flash", "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hi"}]})");
  ASSERT_TRUE(request.ok()) << request.status();
  std::vector<std::string> dropped;
  ParamPolicy policy(UnsupportedParams::kReject, &dropped);
  absl::StatusOr<UpstreamRequest> upstream = GeminiCountTokensRequest(
      *request, GeminiEndpoint{"/gw", "v1beta"}, "AIza-key", policy);
  ASSERT_TRUE(upstream.ok()) << upstream.status();
  EXPECT_EQ(upstream->path, "/gw/v1beta/models/gemini-2.5-flash:countTokens");
  EXPECT_EQ(upstream->headers.find("x-goog-api-key")->second, "AIza-key");
  json body = json::parse(upstream->body);
  ASSERT_EQ(body.size(), 1u);
  const json& inner = body["generateContentRequest"];
  EXPECT_EQ(inner["model"], "models/gemini-2.5-flash");
  EXPECT_EQ(inner["contents"][0]["parts"][0]["text"], "hi");
  EXPECT_EQ(inner["systemInstruction"]["parts"][0]["text"], "Be brief.");
}

TEST(GeminiCountTokens, TheAnswerIsAnthropicsInputTokens) {
  absl::StatusOr<v1::ChatCompletion> counted = GeminiCountedTokens(
      R"({"totalTokens": 31, "promptTokensDetails": [{"modality": "TEXT",
          "tokenCount": 31}]})");
  ASSERT_TRUE(counted.ok()) << counted.status();
  EXPECT_EQ(counted->passthrough_body(), R"({"input_tokens":31})");
  EXPECT_TRUE(counted->has_usage());
  EXPECT_EQ(counted->usage().total_tokens(), 0);
  // Google's JSON leaves a zero out.
  counted = GeminiCountedTokens("{}");
  ASSERT_TRUE(counted.ok()) << counted.status();
  EXPECT_EQ(counted->passthrough_body(), R"({"input_tokens":0})");
  EXPECT_FALSE(GeminiCountedTokens("[1]").ok());
  EXPECT_FALSE(GeminiCountedTokens(R"({"totalTokens": "many"})").ok());
}

}  // namespace
}  // namespace aigw
