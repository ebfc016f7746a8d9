// OpenAI embeddings JSON: client request parsing and validation, the body
// sent upstream, the upstream answer's parsing and the client answer as
// floats or base64 little-endian float32.
#include "providers/common/openai_embeddings_json.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "providers/common/api_error.h"

namespace aigw {
namespace {

using nlohmann::json;

// Expects a 400 naming `param`.
void ExpectBadRequest(absl::string_view body, absl::string_view param) {
  absl::StatusOr<v1::EmbeddingsRequest> request = ParseEmbeddingsRequest(body);
  ASSERT_FALSE(request.ok()) << body;
  ErrorDetails details = GetErrorDetails(request.status());
  EXPECT_EQ(details.http_status, 400) << body;
  EXPECT_EQ(details.type, "invalid_request_error") << body;
  EXPECT_EQ(details.param, param) << body << ": " << request.status();
}

v1::EmbeddingsRequest Parse(absl::string_view body) {
  absl::StatusOr<v1::EmbeddingsRequest> request = ParseEmbeddingsRequest(body);
  EXPECT_TRUE(request.ok()) << body << ": " << request.status();
  return request.ok() ? *request : v1::EmbeddingsRequest();
}

// `values` as float32, little-endian, byte by byte (independent of the host).
std::string LittleEndianFloat32(const std::vector<double>& values) {
  std::string bytes;
  for (double value : values) {
    float f = static_cast<float>(value);
    uint32_t bits;
    std::memcpy(&bits, &f, sizeof(bits));
    for (int shift = 0; shift < 32; shift += 8) {
      bytes.push_back(static_cast<char>((bits >> shift) & 0xff));
    }
  }
  return bytes;
}

v1::EmbeddingsResponse ResponseWith(
    const std::vector<std::vector<double>>& vectors) {
  v1::EmbeddingsResponse response;
  response.set_object("list");
  response.set_model("my-embedder");
  for (size_t i = 0; i < vectors.size(); ++i) {
    v1::Embedding* embedding = response.add_data();
    embedding->set_object("embedding");
    embedding->set_index(static_cast<int32_t>(i));
    for (double v : vectors[i]) embedding->add_embedding(v);
  }
  response.mutable_usage()->set_prompt_tokens(7);
  response.mutable_usage()->set_total_tokens(7);
  return response;
}

TEST(ParseEmbeddingsRequest, StringInputIsOneInput) {
  v1::EmbeddingsRequest request = Parse(
      R"({"model": "text-embedding-3-small", "input": "How do I reset my password?"})");
  EXPECT_EQ(request.model(), "text-embedding-3-small");
  ASSERT_EQ(request.input_size(), 1);
  EXPECT_EQ(request.input(0), "How do I reset my password?");
  EXPECT_EQ(request.encoding_format(), "");
  EXPECT_FALSE(request.has_dimensions());
  EXPECT_TRUE(request.extra().fields().empty());
}

TEST(ParseEmbeddingsRequest, ArrayOfStringsKeepsOrder) {
  v1::EmbeddingsRequest request =
      Parse(R"({"model": "m", "input": ["first", "второй", ""]})");
  ASSERT_EQ(request.input_size(), 3);
  EXPECT_EQ(request.input(0), "first");
  EXPECT_EQ(request.input(1), "второй");
  EXPECT_EQ(request.input(2), "");
}

TEST(ParseEmbeddingsRequest, TokenArraysRejectedNamingTheElement) {
  ExpectBadRequest(R"({"model": "m", "input": [[1, 2, 3]]})", "input[0]");
  ExpectBadRequest(R"({"model": "m", "input": [1, 2, 3]})", "input[0]");
  ExpectBadRequest(R"({"model": "m", "input": ["ok", "ok", [4, 5]]})",
                   "input[2]");
  ExpectBadRequest(R"({"model": "m", "input": ["ok", null]})", "input[1]");
}

TEST(ParseEmbeddingsRequest, InputOfAnotherTypeRejected) {
  ExpectBadRequest(R"({"model": "m", "input": 42})", "input");
  ExpectBadRequest(R"({"model": "m", "input": {"text": "x"}})", "input");
  ExpectBadRequest(R"({"model": "m", "input": true})", "input");
}

TEST(ParseEmbeddingsRequest, EncodingFormatIsFloatOrBase64) {
  EXPECT_EQ(
      Parse(R"({"input": "x", "encoding_format": "float"})").encoding_format(),
      "float");
  EXPECT_EQ(
      Parse(R"({"input": "x", "encoding_format": "base64"})").encoding_format(),
      "base64");
  EXPECT_EQ(
      Parse(R"({"input": "x", "encoding_format": null})").encoding_format(),
      "");
  for (const char* bad : {R"("int8")", R"("")", R"("FLOAT")", "1", "[]"}) {
    ExpectBadRequest(
        std::string(R"({"input": "x", "encoding_format": )") + bad + "}",
        "encoding_format");
  }
}

TEST(ParseEmbeddingsRequest, DimensionsMustBeAPositiveInteger) {
  v1::EmbeddingsRequest request = Parse(R"({"input": "x", "dimensions": 256})");
  ASSERT_TRUE(request.has_dimensions());
  EXPECT_EQ(request.dimensions(), 256);
  EXPECT_FALSE(Parse(R"({"input": "x", "dimensions": null})").has_dimensions());
  for (const char* bad : {"0", "-1", "1.5", R"("256")", "true", "[256]",
                          "1099511627776", "18446744073709551615"}) {
    ExpectBadRequest(
        std::string(R"({"input": "x", "dimensions": )") + bad + "}",
        "dimensions");
  }
}

TEST(ParseEmbeddingsRequest, ModelAndUserMustBeStrings) {
  ExpectBadRequest(R"({"model": 5, "input": "x"})", "model");
  ExpectBadRequest(R"({"model": "m", "input": "x", "user": 5})", "user");
  EXPECT_EQ(Parse(R"({"model": "m", "input": "x", "user": "u-1"})").user(),
            "u-1");
}

TEST(ParseEmbeddingsRequest, BodyThatIsNotAJsonObjectRejected) {
  for (const char* bad :
       {"", "{", R"({"model": "m",})", "[]", R"("text")", "null"}) {
    absl::StatusOr<v1::EmbeddingsRequest> request = ParseEmbeddingsRequest(bad);
    ASSERT_FALSE(request.ok()) << bad;
    EXPECT_EQ(GetErrorDetails(request.status()).http_status, 400) << bad;
  }
}

TEST(ParseEmbeddingsRequest, UnknownFieldsKeptAndWrittenBackUpstream) {
  v1::EmbeddingsRequest request = Parse(R"({
    "model": "m", "input": "x",
    "input_type": "query",
    "options": {"truncate": "END", "list": [1, "two", null, false]}
  })");
  ASSERT_EQ(request.extra().fields().size(), 2u);
  EXPECT_EQ(request.extra().fields().count("input_type"), 1u);
  EXPECT_EQ(request.extra().fields().count("options"), 1u);

  json upstream = EmbeddingsRequestToJson(request);
  EXPECT_EQ(upstream["input_type"], "query");
  EXPECT_EQ(upstream["options"], json::parse(R"({"truncate": "END",
                                               "list": [1, "two", null, false]})"));
}

TEST(EmbeddingsRequestToJson, AlwaysAsksForFloatsAndKeepsEveryField) {
  v1::EmbeddingsRequest request = Parse(R"({
    "model": "text-embedding-3-small",
    "input": ["a", "b", "c"],
    "encoding_format": "base64",
    "dimensions": 512,
    "user": "u-1"
  })");
  EXPECT_EQ(EmbeddingsRequestToJson(request), json::parse(R"({
    "model": "text-embedding-3-small",
    "input": ["a", "b", "c"],
    "encoding_format": "float",
    "dimensions": 512,
    "user": "u-1"
  })"));
}

TEST(EmbeddingsRequestToJson, NoFormatGivenStillAsksForFloats) {
  v1::EmbeddingsRequest request = Parse(R"({"model": "m", "input": "x"})");
  EXPECT_EQ(EmbeddingsRequestToJson(request),
            json::parse(R"({"model": "m", "input": "x",
                            "encoding_format": "float"})"));
}

TEST(EmbeddingsRequestToJson, ExtraCannotOverrideModelOrFormat) {
  // A gRPC client can put anything in `extra`: it must not reroute the call
  // or make the upstream answer in base64 the gateway would not parse.
  v1::EmbeddingsRequest request;
  request.set_model("mapped-model");
  request.add_input("x");
  (*request.mutable_extra()->mutable_fields())["model"].set_string_value(
      "other-model");
  (*request.mutable_extra()->mutable_fields())["encoding_format"]
      .set_string_value("base64");
  (*request.mutable_extra()->mutable_fields())["input"].set_string_value("y");
  json upstream = EmbeddingsRequestToJson(request);
  EXPECT_EQ(upstream["model"], "mapped-model");
  EXPECT_EQ(upstream["encoding_format"], "float");
  EXPECT_EQ(upstream["input"], "x");
}

TEST(EmbeddingsResponseFromJson, ReadsOpenAiAnswer) {
  absl::StatusOr<v1::EmbeddingsResponse> response =
      EmbeddingsResponseFromJson(json::parse(R"({
    "object": "list",
    "data": [
      {"object": "embedding", "index": 0, "embedding": [0.017608326, -0.045733217]},
      {"object": "embedding", "index": 1, "embedding": [1, -2.5e-7]}
    ],
    "model": "text-embedding-3-small",
    "usage": {"prompt_tokens": 7, "total_tokens": 7}
  })"));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->object(), "list");
  EXPECT_EQ(response->model(), "text-embedding-3-small");
  ASSERT_EQ(response->data_size(), 2);
  EXPECT_EQ(response->data(0).object(), "embedding");
  EXPECT_EQ(response->data(1).index(), 1);
  ASSERT_EQ(response->data(0).embedding_size(), 2);
  EXPECT_EQ(response->data(0).embedding(0), 0.017608326);
  EXPECT_EQ(response->data(0).embedding(1), -0.045733217);
  EXPECT_EQ(response->data(1).embedding(0), 1.0);
  EXPECT_EQ(response->data(1).embedding(1), -2.5e-7);
  EXPECT_EQ(response->usage().prompt_tokens(), 7);
  EXPECT_EQ(response->usage().total_tokens(), 7);
}

TEST(EmbeddingsResponseFromJson, MissingIndexIsThePosition) {
  absl::StatusOr<v1::EmbeddingsResponse> response =
      EmbeddingsResponseFromJson(json::parse(
          R"({"data": [{"embedding": [0.5]}, {"embedding": [0.25]}]})"));
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_EQ(response->data_size(), 2);
  EXPECT_EQ(response->data(0).index(), 0);
  EXPECT_EQ(response->data(1).index(), 1);
  EXPECT_FALSE(response->has_usage());
}

TEST(EmbeddingsResponseFromJson, MalformedAnswersAre502) {
  for (const char* bad : {
           R"([])",
           R"("text")",
           R"({})",
           R"({"data": null})",
           R"({"data": {"embedding": [1]}})",
           R"({"data": [5]})",
           R"({"data": [{"index": 0}]})",
           R"({"data": [{"embedding": "AACAPw=="}]})",  // base64 it never asked
                                                        // for
           R"({"data": [{"embedding": [1, "2"]}]})",
           R"({"data": [{"embedding": [1, null]}]})",
       }) {
    absl::StatusOr<v1::EmbeddingsResponse> response =
        EmbeddingsResponseFromJson(json::parse(bad));
    ASSERT_FALSE(response.ok()) << bad;
    EXPECT_EQ(GetErrorDetails(response.status()).http_status, 502) << bad;
  }
}

TEST(EmbeddingsResponseToJsonString, FloatsAreWrittenAsNumbers) {
  v1::EmbeddingsResponse response =
      ResponseWith({{0.017608326, -0.045733217}, {1.0 / 3}});
  json out = json::parse(EmbeddingsResponseToJsonString(response, false));
  EXPECT_EQ(out, json::parse(R"({
    "object": "list",
    "data": [
      {"object": "embedding", "index": 0, "embedding": [0.017608326, -0.045733217]},
      {"object": "embedding", "index": 1, "embedding": [0.3333333333333333]}
    ],
    "model": "my-embedder",
    "usage": {"prompt_tokens": 7, "total_tokens": 7}
  })"));
}

TEST(EmbeddingsResponseToJsonString, Base64IsLittleEndianFloat32) {
  EXPECT_EQ(json::parse(EmbeddingsResponseToJsonString(
                ResponseWith({{1.0, -2.0}}), true))["data"][0]["embedding"],
            "AACAPwAAAMA=");  // 00 00 80 3f  00 00 00 c0

  const std::vector<std::vector<double>> vectors = {
      {0.017608326, -0.045733217, 1.0 / 3, 1e-8, -12345.678, 0.0, 118.449725},
      {},
      {-0.1}};
  json out =
      json::parse(EmbeddingsResponseToJsonString(ResponseWith(vectors), true));
  ASSERT_EQ(out["data"].size(), vectors.size());
  for (size_t i = 0; i < vectors.size(); ++i) {
    const json& item = out["data"][i];
    EXPECT_EQ(item["index"], i);
    EXPECT_EQ(item["object"], "embedding");
    ASSERT_TRUE(item["embedding"].is_string()) << item;
    std::string bytes;
    ASSERT_TRUE(
        absl::Base64Unescape(item["embedding"].get<std::string>(), &bytes));
    EXPECT_EQ(bytes, LittleEndianFloat32(vectors[i])) << "vector " << i;
  }
  EXPECT_EQ(out["model"], "my-embedder");
  EXPECT_EQ(out["usage"], json::parse(R"({"prompt_tokens": 7,
                                          "total_tokens": 7})"));
}

}  // namespace
}  // namespace aigw
