// What every non-OpenAI adapter does with request fields its upstream has no
// place for. Real clients send fields that change nothing (NextChat's
// `frequency_penalty: 0`, the SDKs' `parsed` and `annotations` in history):
// those are left out without a word. A field that would change the answer
// goes through the provider's `unsupported_params` policy: dropped and
// reported, or a 400 naming it.
#ifndef AIGW_PROVIDERS_COMMON_PARAM_POLICY_H_
#define AIGW_PROVIDERS_COMMON_PARAM_POLICY_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/struct.pb.h"
#include "providers/provider.h"

namespace aigw {

class ParamPolicy {
 public:
  // `dropped` (not null) collects the names of dropped fields.
  ParamPolicy(UnsupportedParams mode, std::vector<std::string>* dropped)
      : mode_(mode), dropped_(dropped) {}

  // `error` is the 400 that names the field in its `param`. kReject returns
  // it; kDrop records the param and returns OK: the caller leaves the field
  // out.
  absl::Status Unsupported(absl::Status error);

 private:
  const UnsupportedParams mode_;
  std::vector<std::string>* const dropped_;
};

// Where a field of `extra` was found: each level has its own no-ops.
enum class FieldScope { kRequest, kMessage, kContentPart, kTool };

// True for fields that never change the answer, whatever the upstream:
// neutral values (`logprobs: false`, `top_logprobs: 0`, `logit_bias: {}`,
// `modalities: ["text"]`), informational request fields (`metadata`,
// `store`, `service_tier`, `prompt_cache_key`, `safety_identifier`) and the
// bookkeeping SDKs write back into history (`parsed`, `annotations`,
// `audio`, `function_call: null`).
bool IsNoOpField(FieldScope scope, absl::string_view key,
                 const google::protobuf::Value& value);

// Puts every field of `extra` that is not a no-op through `policy`, in name
// order (stable errors): `<path>.<key>`, with `why` ending the message.
absl::Status UnknownFields(const google::protobuf::Struct& extra,
                           FieldScope scope, absl::string_view path,
                           absl::string_view why, ParamPolicy& policy);

// 400 unsupported_parameter: "'<param>' is not supported by <who>: <why>."
absl::Status UnsupportedParam(absl::string_view param, absl::string_view who,
                              absl::string_view why);

// OpenAI's reasoning_effort as a thinking budget in tokens: 0 for "none"
// and "minimal"; a 400 naming `reasoning_effort` for other values.
absl::StatusOr<int> ReasoningBudgetTokens(
    const google::protobuf::Value& effort);

}  // namespace aigw

#endif  // AIGW_PROVIDERS_COMMON_PARAM_POLICY_H_
