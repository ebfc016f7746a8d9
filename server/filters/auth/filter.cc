#include "server/filters/auth/filter.h"

#include "absl/strings/str_cat.h"
#include "providers/common/api_error.h"

namespace aigw {
namespace {

// OpenAI's 401: same code for a missing and a wrong key; the key itself is
// never echoed.
absl::Status InvalidApiKey(absl::string_view message) {
  ApiErrorSpec spec;
  spec.code = absl::StatusCode::kUnauthenticated;
  spec.http_status = 401;
  spec.type = "invalid_request_error";
  spec.message = std::string(message);
  spec.error_code = "invalid_api_key";
  return MakeApiError(spec);
}

absl::Status ModelNotAllowed(const std::string& model,
                             const std::string& consumer) {
  ApiErrorSpec spec;
  spec.code = absl::StatusCode::kPermissionDenied;
  spec.http_status = 403;
  spec.type = "invalid_request_error";
  spec.message = absl::StrCat(
      "The model `", model, "` is not allowed for consumer '", consumer, "'.");
  spec.param = "model";
  spec.error_code = "model_not_allowed";
  return MakeApiError(spec);
}

}  // namespace

absl::Status AuthFilter::OnRequest(RequestContext& ctx) {
  if (ctx.api_key.empty()) {
    return InvalidApiKey(
        "You didn't provide an API key. You need to provide your API key in "
        "an Authorization header using Bearer auth (i.e. Authorization: "
        "Bearer YOUR_KEY), or in an api-key or x-api-key header.");
  }
  const Consumer* consumer = config_.Find(ctx.api_key);
  if (consumer == nullptr) return InvalidApiKey("Incorrect API key provided.");
  ctx.consumer = consumer;
  ctx.consumer_name = consumer->config.name;
  // An empty model is the validator's to report.
  if (ctx.operation != Operation::kListModels && !ctx.model.empty() &&
      !consumer->Allows(ctx.model)) {
    return ModelNotAllowed(ctx.model, consumer->config.name);
  }
  return absl::OkStatus();
}

}  // namespace aigw
