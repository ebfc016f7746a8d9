#include "providers/common/param_policy.h"

#include <gtest/gtest.h>

#include "providers/common/api_error.h"
#include "providers/common/json_struct.h"

namespace aigw {
namespace {

google::protobuf::Struct Fields(const char* json_text) {
  google::protobuf::Struct out;
  JsonObjectToStruct(nlohmann::json::parse(json_text), &out);
  return out;
}

TEST(ParamPolicy, DropRecordsEachParamOnce) {
  std::vector<std::string> dropped;
  ParamPolicy policy(UnsupportedParams::kDrop, &dropped);
  EXPECT_TRUE(policy.Unsupported(InvalidRequest("x", "seed")).ok());
  EXPECT_TRUE(policy.Unsupported(InvalidRequest("x", "seed")).ok());
  EXPECT_TRUE(policy.Unsupported(InvalidRequest("x", "n")).ok());
  EXPECT_EQ(dropped, (std::vector<std::string>{"seed", "n"}));
}

TEST(ParamPolicy, DroppedNamesCarryNoIndexes) {
  std::vector<std::string> dropped;
  ParamPolicy policy(UnsupportedParams::kDrop, &dropped);
  for (int i = 0; i < 50; ++i) {
    std::string param =
        "messages[" + std::to_string(i) + "].content[0].cache_control";
    EXPECT_TRUE(policy.Unsupported(InvalidRequest("x", param)).ok());
  }
  EXPECT_EQ(dropped,
            (std::vector<std::string>{"messages[*].content[*].cache_control"}));
}

TEST(ParamPolicy, RejectReturnsTheError) {
  std::vector<std::string> dropped;
  ParamPolicy policy(UnsupportedParams::kReject, &dropped);
  absl::Status status = policy.Unsupported(InvalidRequest("x", "seed"));
  EXPECT_EQ(GetErrorDetails(status).param, "seed");
  EXPECT_TRUE(dropped.empty());
}

TEST(ParamPolicy, NeutralAndInformationalRequestFieldsAreNoOps) {
  google::protobuf::Struct extra = Fields(R"({
    "logprobs": false, "top_logprobs": 0, "logit_bias": {},
    "metadata": {"a": "b"}, "store": true, "service_tier": "auto",
    "prompt_cache_key": "k", "safety_identifier": "s",
    "modalities": ["text"], "stream_options": {"include_usage": true}})");
  std::vector<std::string> dropped;
  ParamPolicy policy(UnsupportedParams::kReject, &dropped);
  EXPECT_TRUE(
      UnknownFields(extra, FieldScope::kRequest, "", "no", policy).ok());
}

TEST(ParamPolicy, NonNeutralValuesGoThroughThePolicy) {
  google::protobuf::Struct extra = Fields(
      R"({"logprobs": true, "logit_bias": {"1": 5}, "modalities": ["audio"]})");
  std::vector<std::string> dropped;
  ParamPolicy drop(UnsupportedParams::kDrop, &dropped);
  EXPECT_TRUE(UnknownFields(extra, FieldScope::kRequest, "", "no", drop).ok());
  EXPECT_EQ(dropped,
            (std::vector<std::string>{"logit_bias", "logprobs", "modalities"}));

  ParamPolicy reject(UnsupportedParams::kReject, &dropped);
  absl::Status status =
      UnknownFields(extra, FieldScope::kRequest, "", "no", reject);
  EXPECT_EQ(GetErrorDetails(status).param, "logit_bias");  // name order
  EXPECT_EQ(GetErrorDetails(status).code, "unsupported_parameter");
}

TEST(ParamPolicy, HistoryBookkeepingIsNoOp) {
  google::protobuf::Struct extra = Fields(R"({
    "parsed": {"x": 1}, "annotations": [], "audio": null,
    "function_call": null})");
  std::vector<std::string> dropped;
  ParamPolicy policy(UnsupportedParams::kReject, &dropped);
  EXPECT_TRUE(
      UnknownFields(extra, FieldScope::kMessage, "messages[1]", "no", policy)
          .ok());
  google::protobuf::Struct call = Fields(R"({"function_call": {"name": "f"}})");
  absl::Status status =
      UnknownFields(call, FieldScope::kMessage, "messages[1]", "no", policy);
  EXPECT_EQ(GetErrorDetails(status).param, "messages[1].function_call");
}

TEST(ParamPolicy, ReasoningBudgets) {
  auto budget = [](const char* level) {
    google::protobuf::Value value;
    value.set_string_value(level);
    return ReasoningBudgetTokens(value);
  };
  EXPECT_EQ(*budget("minimal"), 0);
  EXPECT_EQ(*budget("low"), 1024);
  EXPECT_EQ(*budget("medium"), 8192);
  EXPECT_EQ(*budget("high"), 24576);
  EXPECT_EQ(GetErrorDetails(budget("extreme").status()).param,
            "reasoning_effort");
}

}  // namespace
}  // namespace aigw
