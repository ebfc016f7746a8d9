// Canonical chat request -> the upstream call to Alibaba DashScope, in either
// of its protocols: the native generation API (`mode: native`, the default)
// or its OpenAI-compatible endpoint (`mode: compatible`).
#ifndef AIGW_PROVIDERS_QWEN_QWEN_REQUEST_H_
#define AIGW_PROVIDERS_QWEN_QWEN_REQUEST_H_

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/aigw/v1/chat.pb.h"
#include "providers/common/param_policy.h"
#include "providers/upstream_request.h"

namespace aigw {

enum class QwenMode { kNative, kCompatible };

inline constexpr char kQwenTextGenerationPath[] =
    "/api/v1/services/aigc/text-generation/generation";
inline constexpr char kQwenMultimodalGenerationPath[] =
    "/api/v1/services/aigc/multimodal-generation/generation";
inline constexpr char kQwenCompatibleChatPath[] =
    "/compatible-mode/v1/chat/completions";

// Vision, omni and audio models (qwen-vl-*, qwen2.5-vl-*, qwen-omni-*, qvq-*)
// are served by DashScope's multimodal-generation API, whose message content
// is a list of {"text"} / {"image"} items.
bool UsesMultimodalApi(absl::string_view model);

// {model, input:{messages}, parameters:{...}} for the native API, always
// with incremental_output (the adapter streams every upstream call). Fields
// DashScope cannot express go through the unsupported_params policy.
absl::StatusOr<nlohmann::json> NativeChatBody(
    const v1::ChatCompletionRequest& request, ParamPolicy& policy);

// The OpenAI body for the compatible endpoint, streamed with usage.
nlohmann::json CompatibleChatBody(const v1::ChatCompletionRequest& request);

// The complete upstream call: path under `path_prefix`, headers built from
// scratch (only the provider key), body.
absl::StatusOr<UpstreamRequest> ChatUpstreamRequest(
    const v1::ChatCompletionRequest& request, QwenMode mode,
    absl::string_view path_prefix, absl::string_view api_key,
    ParamPolicy& policy);

}  // namespace aigw

#endif  // AIGW_PROVIDERS_QWEN_QWEN_REQUEST_H_
