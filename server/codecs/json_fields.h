// Reading a client's JSON body in the front-door codecs: fields of the
// wrong type read as absent (never a throw), and a bad field is a 400
// naming it.
#ifndef AIGW_SERVER_CODECS_JSON_FIELDS_H_
#define AIGW_SERVER_CODECS_JSON_FIELDS_H_

#include <nlohmann/json.hpp>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "proto/aigw/v1/chat.pb.h"

namespace aigw::codecs {

// A string field; `otherwise` when absent, of another type, or `j` is no
// object.
std::string Str(const nlohmann::json& j, const char* key,
                const char* otherwise = "");
// A boolean field; false unless present and true.
bool Bool(const nlohmann::json& j, const char* key);
// 400 invalid_request_error "PARAM: MESSAGE" with `param` set.
absl::Status Bad(const std::string& param, absl::string_view message);
// Notes that `param` holds what only the client's own protocol carries
// (the request still parses; see ChatCompletionRequest.untranslatable).
// The first such field is the one named.
void Untranslatable(const std::string& param, absl::string_view message,
                    v1::ChatCompletionRequest& request);

}  // namespace aigw::codecs

#endif  // AIGW_SERVER_CODECS_JSON_FIELDS_H_
