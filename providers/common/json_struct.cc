#include "providers/common/json_struct.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "providers/common/api_error.h"

namespace aigw {
namespace {

void ToValue(const nlohmann::json& j, int depth, google::protobuf::Value* out);

void ToStruct(const nlohmann::json& j, int depth,
              google::protobuf::Struct* out) {
  auto* fields = out->mutable_fields();
  for (auto it = j.begin(); it != j.end(); ++it) {
    ToValue(it.value(), depth + 1, &(*fields)[it.key()]);
  }
}

void ToValue(const nlohmann::json& j, int depth, google::protobuf::Value* out) {
  if (depth > kMaxJsonDepth) {
    out->set_null_value(google::protobuf::NULL_VALUE);
    return;
  }
  switch (j.type()) {
    case nlohmann::json::value_t::null:
      out->set_null_value(google::protobuf::NULL_VALUE);
      break;
    case nlohmann::json::value_t::boolean:
      out->set_bool_value(j.get<bool>());
      break;
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
    case nlohmann::json::value_t::number_float:
      out->set_number_value(j.get<double>());
      break;
    case nlohmann::json::value_t::string:
      out->set_string_value(j.get_ref<const std::string&>());
      break;
    case nlohmann::json::value_t::array: {
      auto* list = out->mutable_list_value();
      for (const auto& item : j) ToValue(item, depth + 1, list->add_values());
      break;
    }
    case nlohmann::json::value_t::object:
      ToStruct(j, depth, out->mutable_struct_value());
      break;
    default:
      out->set_null_value(google::protobuf::NULL_VALUE);
  }
}

}  // namespace

bool JsonNestingAtMost(absl::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return false;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return true;
}

absl::StatusOr<nlohmann::json> ParseJsonBody(absl::string_view body) {
  if (!JsonNestingAtMost(body)) {
    return InvalidRequest(absl::StrCat("The JSON body nests deeper than ",
                                       kMaxJsonDepth, " levels."),
                          "", "invalid_json");
  }
  nlohmann::json j =
      nlohmann::json::parse(body.begin(), body.end(), nullptr, false);
  if (j.is_discarded()) {
    return InvalidRequest(
        "We could not parse the JSON body of your request. The body must be "
        "valid JSON.",
        "", "invalid_json");
  }
  return j;
}

void JsonToValue(const nlohmann::json& j, google::protobuf::Value* out) {
  ToValue(j, 1, out);
}

void JsonObjectToStruct(const nlohmann::json& j,
                        google::protobuf::Struct* out) {
  ToStruct(j, 1, out);
}

std::string StringAt(const nlohmann::json& j, const char* key) {
  if (!j.is_object()) return "";
  auto found = j.find(key);
  if (found == j.end() || !found->is_string()) return "";
  return found->get<std::string>();
}

nlohmann::json ValueToJson(const google::protobuf::Value& value) {
  switch (value.kind_case()) {
    case google::protobuf::Value::kBoolValue:
      return value.bool_value();
    case google::protobuf::Value::kNumberValue: {
      // Struct stores doubles; integers keep their integer spelling.
      double d = value.number_value();
      if (std::trunc(d) == d && std::fabs(d) < 9007199254740992.0) {
        return static_cast<int64_t>(d);
      }
      return d;
    }
    case google::protobuf::Value::kStringValue:
      return value.string_value();
    case google::protobuf::Value::kListValue: {
      nlohmann::json list = nlohmann::json::array();
      for (const auto& item : value.list_value().values()) {
        list.push_back(ValueToJson(item));
      }
      return list;
    }
    case google::protobuf::Value::kStructValue:
      return StructToJson(value.struct_value());
    default:
      return nullptr;
  }
}

nlohmann::json StructToJson(const google::protobuf::Struct& s) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [key, value] : s.fields()) out[key] = ValueToJson(value);
  return out;
}

void MergeStructInto(const google::protobuf::Struct& s, nlohmann::json* out) {
  for (const auto& [key, value] : s.fields()) {
    if (!out->contains(key)) (*out)[key] = ValueToJson(value);
  }
}

}  // namespace aigw
