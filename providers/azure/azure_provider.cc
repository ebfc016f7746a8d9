// Azure OpenAI: OpenAI's JSON at {base_url}/openai/deployments/{deployment}/
// {operation}?api-version=..., authenticated with an `api-key` header. The
// deployment is the mapped model name. Content-filter fields in answers are
// tolerated and chunks carrying only prompt_filter_results are dropped by
// the shared OpenAI stream decoder.
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "providers/common/api_error.h"
#include "providers/openai/openai_provider.h"
#include "providers/registry.h"

namespace aigw {
namespace {

constexpr char kDefaultApiVersion[] = "2024-10-21";

absl::StatusOr<std::unique_ptr<Provider>> CreateAzure(
    const ProviderConfig& config) {
  std::string api_version = kDefaultApiVersion;
  for (const auto& [key, value] : config.options) {
    if (key != "api_version") {
      return absl::InvalidArgumentError(
          absl::StrCat(key, ": not a key of the azure provider"));
    }
    api_version = value;
  }
  OpenAiDialect dialect;
  dialect.auth_header = "api-key";
  dialect.auth_prefix = "";
  dialect.path = [api_version](absl::string_view prefix,
                               absl::string_view deployment,
                               absl::string_view operation) {
    return absl::StrCat(prefix, "/openai/deployments/", deployment, "/",
                        operation, "?api-version=", api_version);
  };
  // The deployment becomes a path segment: letters, digits, '-', '_' and
  // '.' only, never a dot-segment, so a model name passed through from the
  // client cannot reach another path or add to the query.
  dialect.check_model = [](absl::string_view deployment) {
    bool valid = !deployment.empty() && deployment != "." && deployment != "..";
    for (char c : deployment) {
      valid = valid && (absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
                        c == '-' || c == '_' || c == '.');
    }
    if (valid) return absl::OkStatus();
    return InvalidRequest(
        absl::StrCat("'", deployment, "' is not an Azure deployment name."),
        "model", "invalid_value");
  };
  // The origin is per resource (https://NAME.openai.azure.com): no default.
  return CreateOpenAiCompatible(config, "", true, std::move(dialect));
}

const ProviderRegistration kRegistration("azure", CreateAzure);

}  // namespace
}  // namespace aigw
