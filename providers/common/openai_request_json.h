// OpenAI chat-completion request JSON <-> canonical ChatCompletionRequest.
// Fields the canonical model lacks are kept in `extra` and written back, so
// an OpenAI-compatible upstream receives everything the client sent.
#ifndef AIGW_PROVIDERS_COMMON_OPENAI_REQUEST_JSON_H_
#define AIGW_PROVIDERS_COMMON_OPENAI_REQUEST_JSON_H_

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/aigw/v1/chat.pb.h"

namespace aigw {

// Parses and type-checks a request body; errors are 400s naming the field.
absl::StatusOr<v1::ChatCompletionRequest> ParseChatRequest(
    absl::string_view body);
absl::StatusOr<v1::ChatCompletionRequest> ChatRequestFromJson(
    const nlohmann::json& j);

nlohmann::json ChatRequestToJson(const v1::ChatCompletionRequest& request);

// The model takes OpenAI's reasoning_effort (o-series, gpt-5, gpt-oss);
// chat models such as gpt-4o reject it.
bool TakesReasoningEffort(absl::string_view model);
nlohmann::json MessageToJson(const v1::Message& message);
nlohmann::json ToolCallToJson(const v1::ToolCall& call);

absl::StatusOr<v1::Message> MessageFromJson(const nlohmann::json& j,
                                            const std::string& path);
absl::StatusOr<v1::ToolCall> ToolCallFromJson(const nlohmann::json& j,
                                              const std::string& path);

}  // namespace aigw

#endif  // AIGW_PROVIDERS_COMMON_OPENAI_REQUEST_JSON_H_
