#include "server/codecs/json_fields.h"

#include "absl/strings/str_cat.h"
#include "providers/common/api_error.h"

namespace aigw::codecs {

std::string Str(const nlohmann::json& j, const char* key,
                const char* otherwise) {
  if (!j.is_object()) return otherwise;
  auto found = j.find(key);
  return found != j.end() && found->is_string() ? found->get<std::string>()
                                                : otherwise;
}

bool Bool(const nlohmann::json& j, const char* key) {
  if (!j.is_object()) return false;
  auto found = j.find(key);
  return found != j.end() && found->is_boolean() && found->get<bool>();
}

absl::Status Bad(const std::string& param, absl::string_view message) {
  return InvalidRequest(absl::StrCat(param, ": ", message), param);
}

void Untranslatable(const std::string& param, absl::string_view message,
                    v1::ChatCompletionRequest& request) {
  if (!request.untranslatable().empty()) return;
  request.set_untranslatable(absl::StrCat(param, ": ", message));
  request.set_untranslatable_param(param);
}

}  // namespace aigw::codecs
