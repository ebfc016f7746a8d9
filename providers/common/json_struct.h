// Conversion between nlohmann::json and google.protobuf.Struct/Value, used to
// carry JSON the canonical proto does not model (passthrough fields, tool
// parameter schemas) without losing it.
#ifndef AIGW_PROVIDERS_COMMON_JSON_STRUCT_H_
#define AIGW_PROVIDERS_COMMON_JSON_STRUCT_H_

#include <google/protobuf/struct.pb.h>

#include <nlohmann/json.hpp>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace aigw {

// Deeper JSON than this is refused from clients (400) and cut (null) when
// an upstream sends it: conversions recurse, and stacks are finite.
constexpr int kMaxJsonDepth = 64;

// Whether the JSON text nests arrays/objects at most `max_depth` deep
// (a linear scan; strings and escapes are skipped).
bool JsonNestingAtMost(absl::string_view text, int max_depth = kMaxJsonDepth);

// Parses a client's JSON body: too deep or invalid JSON is a 400.
absl::StatusOr<nlohmann::json> ParseJsonBody(absl::string_view body);

void JsonToValue(const nlohmann::json& j, google::protobuf::Value* out);
void JsonObjectToStruct(const nlohmann::json& j, google::protobuf::Struct* out);
nlohmann::json ValueToJson(const google::protobuf::Value& value);
nlohmann::json StructToJson(const google::protobuf::Struct& s);
// Adds every field of `s` to the JSON object `out` (existing keys win).
void MergeStructInto(const google::protobuf::Struct& s, nlohmann::json* out);

// `j[key]` when `j` is an object and that field a string, else "" (a body
// from a client or an upstream may hold any type anywhere).
std::string StringAt(const nlohmann::json& j, const char* key);

}  // namespace aigw

#endif  // AIGW_PROVIDERS_COMMON_JSON_STRUCT_H_
