#include "providers/common/param_policy.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "providers/common/api_error.h"

namespace aigw {
namespace {

bool IsNull(const google::protobuf::Value& value) {
  return value.kind_case() == google::protobuf::Value::kNullValue;
}

bool IsFalse(const google::protobuf::Value& value) {
  return value.has_bool_value() && !value.bool_value();
}

bool IsZero(const google::protobuf::Value& value) {
  return value.has_number_value() && value.number_value() == 0;
}

bool IsEmptyObject(const google::protobuf::Value& value) {
  return value.has_struct_value() && value.struct_value().fields().empty();
}

bool IsTextOnly(const google::protobuf::Value& value) {
  if (!value.has_list_value()) return false;
  const auto& items = value.list_value().values();
  return items.size() == 1 && items[0].string_value() == "text";
}

bool IsRequestNoOp(absl::string_view key,
                   const google::protobuf::Value& value) {
  // Informational: they describe the caller or OpenAI's own storage and
  // billing, never the answer.
  if (key == "metadata" || key == "store" || key == "service_tier" ||
      key == "prompt_cache_key" || key == "safety_identifier" ||
      key == "stream_options") {
    return true;
  }
  if (key == "logprobs") return IsFalse(value);
  if (key == "top_logprobs") return IsZero(value);
  if (key == "logit_bias") return IsEmptyObject(value);
  if (key == "modalities") return IsTextOnly(value);
  return IsNull(value);
}

// What the openai SDK's helpers (runTools, parse) and other clients write
// into assistant and tool messages they send back.
bool IsMessageNoOp(absl::string_view key,
                   const google::protobuf::Value& value) {
  if (key == "parsed" || key == "annotations" || key == "audio") return true;
  return IsNull(value);  // function_call: null, and any other null
}

// "messages[37].content[0].cache_control" -> "messages[*].content[*]...":
// the header names each kind of field once, however long the conversation.
std::string WithoutIndexes(absl::string_view param) {
  std::string out;
  bool in_index = false;
  for (char c : param) {
    if (c == '[') {
      in_index = true;
      out += "[*]";
    } else if (c == ']') {
      in_index = false;
    } else if (!in_index) {
      out += c;
    }
  }
  return out;
}

}  // namespace

absl::Status ParamPolicy::Unsupported(absl::Status error) {
  if (mode_ == UnsupportedParams::kReject) return error;
  std::string param = WithoutIndexes(GetErrorDetails(error).param);
  if (std::find(dropped_->begin(), dropped_->end(), param) == dropped_->end()) {
    dropped_->push_back(std::move(param));
  }
  return absl::OkStatus();
}

bool IsNoOpField(FieldScope scope, absl::string_view key,
                 const google::protobuf::Value& value) {
  switch (scope) {
    case FieldScope::kRequest:
      return IsRequestNoOp(key, value);
    case FieldScope::kMessage:
      return IsMessageNoOp(key, value);
    case FieldScope::kContentPart:
    case FieldScope::kTool:
      return IsNull(value);
  }
  return false;
}

absl::Status UnknownFields(const google::protobuf::Struct& extra,
                           FieldScope scope, absl::string_view path,
                           absl::string_view why, ParamPolicy& policy) {
  std::vector<std::string> keys;
  for (const auto& [key, value] : extra.fields()) {
    if (!IsNoOpField(scope, key, value)) keys.push_back(key);
  }
  std::sort(keys.begin(), keys.end());
  for (const std::string& key : keys) {
    std::string param = path.empty() ? key : absl::StrCat(path, ".", key);
    absl::Status status = policy.Unsupported(InvalidRequest(
        absl::StrCat("'", param, "' is not supported: ", why, "."), param,
        "unsupported_parameter"));
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::Status UnsupportedParam(absl::string_view param, absl::string_view who,
                              absl::string_view why) {
  return InvalidRequest(absl::StrCat("'", param, "' is not supported by ", who,
                                     why.empty() ? "" : ": ", why, "."),
                        param, "unsupported_parameter");
}

absl::StatusOr<int> ReasoningBudgetTokens(
    const google::protobuf::Value& effort) {
  // The budgets Google documents for reasoning_effort on Gemini's
  // OpenAI-compatible endpoint; one table keeps the providers consistent.
  const std::string& level = effort.string_value();
  if (level == "none" || level == "minimal") return 0;
  if (level == "low") return 1024;
  if (level == "medium") return 8192;
  if (level == "high") return 24576;
  if (level == "xhigh") return 32768;
  return InvalidRequest(
      "Invalid value for 'reasoning_effort': expected one of 'none', "
      "'minimal', 'low', 'medium', 'high'.",
      "reasoning_effort", "invalid_value");
}

}  // namespace aigw
