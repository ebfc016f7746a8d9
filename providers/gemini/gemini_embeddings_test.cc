#include "providers/gemini/gemini_embeddings.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "providers/common/api_error.h"

namespace aigw {
namespace {

using nlohmann::json;

v1::EmbeddingsRequest TwoInputs() {
  v1::EmbeddingsRequest request;
  request.set_model("gemini-embedding-001");
  request.add_input("hello");
  request.add_input("world");
  return request;
}

TEST(GeminiEmbed, BatchRequestPathHeadersAndBody) {
  v1::EmbeddingsRequest request = TwoInputs();
  request.set_dimensions(768);
  request.set_encoding_format("base64");  // the front door encodes
  absl::StatusOr<UpstreamRequest> upstream =
      GeminiEmbedRequest(request, GeminiEndpoint{"", "v1beta"}, "AIza-key");
  ASSERT_TRUE(upstream.ok()) << upstream.status();
  EXPECT_EQ(upstream->path,
            "/v1beta/models/gemini-embedding-001:batchEmbedContents");
  EXPECT_EQ(upstream->headers.find("x-goog-api-key")->second, "AIza-key");
  EXPECT_EQ(upstream->headers.count("Authorization"), 0u);
  EXPECT_EQ(json::parse(upstream->body), json::parse(R"({"requests": [
    {"model": "models/gemini-embedding-001",
     "content": {"parts": [{"text": "hello"}]}, "outputDimensionality": 768},
    {"model": "models/gemini-embedding-001",
     "content": {"parts": [{"text": "world"}]}, "outputDimensionality": 768}]})"));
}

TEST(GeminiEmbed, UnsupportedFieldsAndEmptyInputAre400s) {
  v1::EmbeddingsRequest request = TwoInputs();
  request.set_user("u");  // informational: accepted, left out
  EXPECT_TRUE(GeminiEmbedRequest(request, {"", "v1beta"}, "k").ok());
  request = TwoInputs();
  (*request.mutable_extra()->mutable_fields())["task_type"].set_string_value(
      "x");
  EXPECT_EQ(
      GetErrorDetails(GeminiEmbedRequest(request, {"", "v1beta"}, "k").status())
          .param,
      "task_type");
  request = TwoInputs();
  request.set_dimensions(0);
  EXPECT_EQ(
      GetErrorDetails(GeminiEmbedRequest(request, {"", "v1beta"}, "k").status())
          .param,
      "dimensions");
  request = TwoInputs();
  request.clear_input();
  EXPECT_EQ(
      GetErrorDetails(GeminiEmbedRequest(request, {"", "v1beta"}, "k").status())
          .param,
      "input");
}

TEST(GeminiEmbed, AnswerBecomesAnOpenAiListWithZeroUsage) {
  absl::StatusOr<v1::EmbeddingsResponse> response = EmbeddingsFromGemini(
      R"({"embeddings": [{"values": [0.25, -1, 3e-2]}, {"values": [0.5]}]})",
      TwoInputs());
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->object(), "list");
  EXPECT_EQ(response->model(), "gemini-embedding-001");
  ASSERT_EQ(response->data_size(), 2);
  EXPECT_EQ(response->data(0).index(), 0);
  EXPECT_EQ(response->data(0).object(), "embedding");
  ASSERT_EQ(response->data(0).embedding_size(), 3);
  EXPECT_DOUBLE_EQ(response->data(0).embedding(1), -1);
  EXPECT_DOUBLE_EQ(response->data(0).embedding(2), 0.03);
  EXPECT_EQ(response->data(1).index(), 1);
  EXPECT_TRUE(response->has_usage());
  EXPECT_EQ(response->usage().prompt_tokens(), 0);
  EXPECT_EQ(response->usage().total_tokens(), 0);
}

TEST(GeminiEmbed, WrongCountOrShapeIsA502) {
  for (const char* body :
       {R"({"embeddings": [{"values": [1]}]})", R"({"error": "x"})",
        R"({"embeddings": [{"values": [1]}, {"values": ["a"]}]})", "nope"}) {
    absl::StatusOr<v1::EmbeddingsResponse> response =
        EmbeddingsFromGemini(body, TwoInputs());
    ASSERT_FALSE(response.ok()) << body;
    EXPECT_EQ(GetErrorDetails(response.status()).http_status, 502) << body;
  }
}

}  // namespace
}  // namespace aigw
