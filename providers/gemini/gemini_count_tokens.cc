#include "providers/gemini/gemini_count_tokens.h"

#include <nlohmann/json.hpp>
#include <utility>

#include "absl/strings/str_cat.h"
#include "providers/common/api_error.h"

namespace aigw {

using nlohmann::json;

absl::StatusOr<UpstreamRequest> GeminiCountTokensRequest(
    const v1::ChatCompletionRequest& request, const GeminiEndpoint& endpoint,
    const std::string& api_key, ParamPolicy& policy) {
  absl::StatusOr<std::string> resource = GeminiModelResource(request.model());
  if (!resource.ok()) return resource.status();
  absl::StatusOr<json> body = GeminiChatBody(request, policy);
  if (!body.ok()) return body.status();
  (*body)["model"] = *resource;
  json count = {{"generateContentRequest", std::move(*body)}};
  return GeminiUpstreamRequest(
      endpoint, request.model(), "countTokens", api_key,
      count.dump(-1, ' ', false, json::error_handler_t::replace));
}

absl::StatusOr<v1::ChatCompletion> GeminiCountedTokens(absl::string_view body) {
  json answer = json::parse(body, nullptr, false);
  // Google's JSON leaves zero values out: no totalTokens is 0.
  const json total =
      answer.is_object() ? answer.value("totalTokens", json(0)) : json();
  if (!total.is_number_integer()) {
    return MalformedUpstream("countTokens answered without totalTokens");
  }
  v1::ChatCompletion counted;
  counted.mutable_usage();  // counting spends no tokens
  counted.set_passthrough_body(
      absl::StrCat(R"({"input_tokens":)", total.get<int64_t>(), "}"));
  return counted;
}

}  // namespace aigw
