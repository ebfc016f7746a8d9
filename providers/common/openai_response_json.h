// OpenAI chat-completion responses (whole and streamed chunks) and model
// lists, JSON <-> canonical proto. Parsing is lenient about fields aigw does
// not model; it fails only on wrong types of modelled fields.
#ifndef AIGW_PROVIDERS_COMMON_OPENAI_RESPONSE_JSON_H_
#define AIGW_PROVIDERS_COMMON_OPENAI_RESPONSE_JSON_H_

#include <nlohmann/json.hpp>
#include <string>

#include "absl/status/statusor.h"
#include "proto/aigw/v1/chat.pb.h"

namespace aigw {

absl::StatusOr<v1::ChatCompletion> ChatCompletionFromJson(
    const nlohmann::json& j);
nlohmann::json ChatCompletionToJson(const v1::ChatCompletion& completion);

absl::StatusOr<v1::ChatCompletionChunk> ChatChunkFromJson(
    const nlohmann::json& j);
std::string ChatChunkToJsonString(const v1::ChatCompletionChunk& chunk);

absl::StatusOr<v1::Usage> UsageFromJson(const nlohmann::json& j);
nlohmann::json UsageToJson(const v1::Usage& usage);

nlohmann::json ListModelsToJson(const v1::ListModelsResponse& models);

}  // namespace aigw

#endif  // AIGW_PROVIDERS_COMMON_OPENAI_RESPONSE_JSON_H_
