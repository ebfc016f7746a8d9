#include "server/filters/validate/filter.h"

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "providers/common/api_error.h"

namespace aigw {
namespace {

// OpenAI's own error for a number outside its documented range.
absl::Status OutOfRange(absl::string_view param, double value, double min,
                        double max, bool integer) {
  bool below = value < min;
  return InvalidRequest(
      absl::StrCat("Invalid '", param, "': ", integer ? "integer" : "decimal",
                   below ? " below minimum" : " above maximum",
                   " value. Expected a value ", below ? ">= " : "<= ",
                   below ? min : max, ", but got ", value, " instead."),
      param,
      absl::StrCat(integer ? "integer" : "decimal",
                   below ? "_below_min_value" : "_above_max_value"));
}

// The ranges OpenAI enforces: values it would refuse are refused here too,
// naming the param, rather than reaching an upstream that may do anything.
absl::Status ValidateRanges(const v1::ChatCompletionRequest& request) {
  struct Range {
    const char* param;
    bool present;
    double value;
    double min, max;
    bool integer;
  };
  const Range ranges[] = {
      {"n", request.has_n(), static_cast<double>(request.n()), 1, 128, true},
      {"max_tokens", request.has_max_tokens(),
       static_cast<double>(request.max_tokens()), 1, INT32_MAX, true},
      {"max_completion_tokens", request.has_max_completion_tokens(),
       static_cast<double>(request.max_completion_tokens()), 1, INT32_MAX,
       true},
      {"temperature", request.has_temperature(), request.temperature(), 0, 2,
       false},
      {"top_p", request.has_top_p(), request.top_p(), 0, 1, false},
      {"presence_penalty", request.has_presence_penalty(),
       request.presence_penalty(), -2, 2, false},
      {"frequency_penalty", request.has_frequency_penalty(),
       request.frequency_penalty(), -2, 2, false},
  };
  for (const Range& range : ranges) {
    if (!range.present) continue;
    if (!(range.value >= range.min && range.value <= range.max)) {
      return OutOfRange(range.param, range.value, range.min, range.max,
                        range.integer);
    }
  }
  constexpr int kMaxTools = 128;
  if (request.tools_size() > kMaxTools) {
    return InvalidRequest(
        absl::StrCat("Invalid 'tools': array too long. Expected an array with "
                     "maximum length ",
                     kMaxTools, ", but got an array with length ",
                     request.tools_size(), " instead."),
        "tools", "array_above_max_length");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateChat(const v1::ChatCompletionRequest& request) {
  if (request.model().empty()) {
    return InvalidRequest("you must provide a model parameter", "model",
                          "missing_required");
  }
  if (request.messages_size() == 0) {
    return InvalidRequest(
        "Invalid 'messages': empty array. Expected an array with minimum "
        "length 1, but got an empty array instead.",
        "messages", "empty_array");
  }
  for (int i = 0; i < request.messages_size(); ++i) {
    const std::string& role = request.messages(i).role();
    if (role != "system" && role != "developer" && role != "user" &&
        role != "assistant" && role != "tool" && role != "function") {
      std::string param = absl::StrCat("messages[", i, "].role");
      return InvalidRequest(
          absl::StrCat("Invalid value for '", param, "': '", role,
                       "'. Supported values are: 'system', 'developer', "
                       "'user', 'assistant', 'tool' and 'function'."),
          param, "invalid_value");
    }
  }
  return ValidateRanges(request);
}

absl::Status ValidateEmbeddings(const v1::EmbeddingsRequest& request) {
  if (request.model().empty()) {
    return InvalidRequest("you must provide a model parameter", "model",
                          "missing_required");
  }
  if (request.input_size() == 0) {
    return InvalidRequest("'input' must not be empty.", "input",
                          "missing_required");
  }
  if (request.has_dimensions() && request.dimensions() <= 0) {
    // Checked here, not only by the REST parser: gRPC requests come too.
    return InvalidRequest(
        "Invalid type for 'dimensions': expected a positive integer.",
        "dimensions", "invalid_type");
  }
  if (!request.encoding_format().empty() &&
      request.encoding_format() != "float" &&
      request.encoding_format() != "base64") {
    return InvalidRequest("'encoding_format' must be \"float\" or \"base64\".",
                          "encoding_format", "invalid_value");
  }
  return absl::OkStatus();
}

namespace {

class ValidateFilter : public RequestFilter {
 public:
  absl::Status OnRequest(RequestContext& ctx) override {
    if (ctx.chat != nullptr) return ValidateChat(*ctx.chat);
    if (ctx.embeddings != nullptr) return ValidateEmbeddings(*ctx.embeddings);
    return absl::OkStatus();
  }
};

}  // namespace

std::unique_ptr<RequestFilter> ValidateConfig::Create(
    const RequestContext& ctx) const {
  if (ctx.operation == Operation::kListModels) return nullptr;
  return std::make_unique<ValidateFilter>();
}

}  // namespace aigw
