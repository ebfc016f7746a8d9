// OpenAI embeddings JSON <-> canonical EmbeddingsRequest/Response.
#ifndef AIGW_PROVIDERS_COMMON_OPENAI_EMBEDDINGS_JSON_H_
#define AIGW_PROVIDERS_COMMON_OPENAI_EMBEDDINGS_JSON_H_

#include <nlohmann/json.hpp>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/aigw/v1/chat.pb.h"

namespace aigw {

// Parses and type-checks a client's request; errors are 400s naming the
// field. Token-array inputs are rejected (only text can be translated).
absl::StatusOr<v1::EmbeddingsRequest> ParseEmbeddingsRequest(
    absl::string_view body);
// The upstream body: always asks for floats (the front door encodes base64).
nlohmann::json EmbeddingsRequestToJson(const v1::EmbeddingsRequest& request);

absl::StatusOr<v1::EmbeddingsResponse> EmbeddingsResponseFromJson(
    const nlohmann::json& j);
// `base64`: each vector as base64 of little-endian float32, as OpenAI sends
// for encoding_format "base64".
std::string EmbeddingsResponseToJsonString(
    const v1::EmbeddingsResponse& response, bool base64);

}  // namespace aigw

#endif  // AIGW_PROVIDERS_COMMON_OPENAI_EMBEDDINGS_JSON_H_
