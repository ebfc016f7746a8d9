#include "providers/qwen/qwen_embeddings.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "providers/common/api_error.h"
#include "providers/common/json_struct.h"

namespace aigw {
namespace {

using nlohmann::json;

v1::EmbeddingsRequest TwoTexts() {
  v1::EmbeddingsRequest request;
  request.set_model("text-embedding-v3");
  request.add_input("风急天高猿啸哀");
  request.add_input("渚清沙白鸟飞回");
  request.set_dimensions(4);
  request.set_encoding_format("base64");  // the front door's business
  return request;
}

TEST(QwenEmbeddings, NativeRequestPathHeadersAndBody) {
  v1::EmbeddingsRequest request = TwoTexts();
  JsonToValue("document",
              &(*request.mutable_extra()->mutable_fields())["text_type"]);
  absl::StatusOr<UpstreamRequest> upstream =
      EmbeddingsUpstreamRequest(request, QwenMode::kNative, "", "sk-provider");
  ASSERT_TRUE(upstream.ok()) << upstream.status();
  EXPECT_EQ(upstream->path,
            "/api/v1/services/embeddings/text-embedding/text-embedding");
  EXPECT_EQ(upstream->headers.size(), 2u);
  EXPECT_EQ(upstream->headers.find("Authorization")->second,
            "Bearer sk-provider");
  EXPECT_EQ(upstream->headers.find("Content-Type")->second, "application/json");
  EXPECT_EQ(json::parse(upstream->body), json::parse(R"({
    "model": "text-embedding-v3",
    "input": {"texts": ["风急天高猿啸哀", "渚清沙白鸟飞回"]},
    "parameters": {"dimension": 4, "text_type": "document"}})"));
}

TEST(QwenEmbeddings, NativeRequestWithoutParametersOmitsThem) {
  v1::EmbeddingsRequest request;
  request.set_model("text-embedding-v2");
  request.add_input("hi");
  absl::StatusOr<UpstreamRequest> upstream =
      EmbeddingsUpstreamRequest(request, QwenMode::kNative, "", "k");
  ASSERT_TRUE(upstream.ok());
  EXPECT_EQ(json::parse(upstream->body), json::parse(R"({
    "model": "text-embedding-v2", "input": {"texts": ["hi"]}})"));
}

TEST(QwenEmbeddings, NativeRejectsWhatItCannotExpress) {
  v1::EmbeddingsRequest request = TwoTexts();
  request.set_user("u-1");  // informational: accepted, left out
  absl::StatusOr<UpstreamRequest> upstream =
      EmbeddingsUpstreamRequest(request, QwenMode::kNative, "", "k");
  ASSERT_TRUE(upstream.ok()) << upstream.status();
  EXPECT_EQ(upstream->body.find("u-1"), std::string::npos);

  request = TwoTexts();
  JsonToValue(1, &(*request.mutable_extra()->mutable_fields())["priority"]);
  upstream = EmbeddingsUpstreamRequest(request, QwenMode::kNative, "", "k");
  ASSERT_FALSE(upstream.ok());
  EXPECT_EQ(GetErrorDetails(upstream.status()).param, "priority");
}

TEST(QwenEmbeddings, NativeResponseBecomesOpenAiShape) {
  absl::StatusOr<v1::EmbeddingsResponse> response = EmbeddingsFromUpstream(
      R"({"output":{"embeddings":[
          {"text_index":1,"embedding":[0.5,-0.25,0.125,0]},
          {"text_index":0,"embedding":[-0.0123,0.0456,1e-3,2]}]},
        "usage":{"total_tokens":14},
        "request_id":"c2d0a0a8-7c1e-9e5b-a0a8-3f3f3f3f3f3f"})",
      QwenMode::kNative, "text-embedding-v3");
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->object(), "list");
  EXPECT_EQ(response->model(), "text-embedding-v3");
  ASSERT_EQ(response->data_size(), 2);
  EXPECT_EQ(response->data(0).index(), 1);
  EXPECT_EQ(response->data(0).object(), "embedding");
  EXPECT_EQ(response->data(0).embedding_size(), 4);
  EXPECT_DOUBLE_EQ(response->data(0).embedding(1), -0.25);
  EXPECT_EQ(response->data(1).index(), 0);
  EXPECT_DOUBLE_EQ(response->data(1).embedding(2), 0.001);
  EXPECT_EQ(response->usage().prompt_tokens(), 14);
  EXPECT_EQ(response->usage().total_tokens(), 14);
}

TEST(QwenEmbeddings, CompatibleRequestIsOpenAiWithFloats) {
  v1::EmbeddingsRequest request = TwoTexts();
  request.set_user("u-1");
  JsonToValue("query",
              &(*request.mutable_extra()->mutable_fields())["text_type"]);
  absl::StatusOr<UpstreamRequest> upstream =
      EmbeddingsUpstreamRequest(request, QwenMode::kCompatible, "/p", "k");
  ASSERT_TRUE(upstream.ok());
  EXPECT_EQ(upstream->path, "/p/compatible-mode/v1/embeddings");
  EXPECT_EQ(json::parse(upstream->body), json::parse(R"({
    "model": "text-embedding-v3",
    "input": ["风急天高猿啸哀", "渚清沙白鸟飞回"],
    "encoding_format": "float", "dimensions": 4, "user": "u-1",
    "text_type": "query"})"));
}

TEST(QwenEmbeddings, CompatibleResponseIsRead) {
  absl::StatusOr<v1::EmbeddingsResponse> response = EmbeddingsFromUpstream(
      R"({"data":[{"embedding":[0.1,0.2],"index":0,"object":"embedding"}],
          "model":"text-embedding-v3","object":"list",
          "usage":{"prompt_tokens":5,"total_tokens":5},"id":"x"})",
      QwenMode::kCompatible, "ignored");
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->model(), "text-embedding-v3");
  ASSERT_EQ(response->data_size(), 1);
  EXPECT_DOUBLE_EQ(response->data(0).embedding(1), 0.2);
  EXPECT_EQ(response->usage().prompt_tokens(), 5);
}

TEST(QwenEmbeddings, MalformedAnswersAre502) {
  for (const char* body :
       {"not json", R"({"output":{}})",
        R"({"output":{"embeddings":[{"text_index":0,"embedding":"AAAA"}]}})"}) {
    absl::StatusOr<v1::EmbeddingsResponse> response =
        EmbeddingsFromUpstream(body, QwenMode::kNative, "m");
    ASSERT_FALSE(response.ok()) << body;
    EXPECT_EQ(GetErrorDetails(response.status()).http_status, 502) << body;
  }
}

}  // namespace
}  // namespace aigw
