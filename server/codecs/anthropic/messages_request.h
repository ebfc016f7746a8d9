// Anthropic Messages API requests (POST /v1/messages, as @anthropic-ai/sdk
// and Claude Code send them) -> the canonical ChatCompletionRequest, so any
// provider can answer an Anthropic client.
//
// Mapped: model, max_tokens (required, as Anthropic requires it), system
// (string or text blocks), messages with text, image (base64 and url),
// tool_use, tool_result and thinking blocks (with their signatures),
// stop_sequences, temperature, top_p, top_k (kept in `extra`), tools
// (custom tools with input_schema), tool_choice (auto / any / tool / none,
// disable_parallel_tool_use), thinking (a budget in tokens; adaptive as a
// medium budget of 8192), cache_control hints (at the end of the message that
// has one, or on a tool), metadata.user_id, stream. What only Anthropic's API
// can do (server tools, documents, files, MCP servers) is marked
// untranslatable: only a passthrough claude provider may serve it.
#ifndef AIGW_SERVER_CODECS_ANTHROPIC_MESSAGES_REQUEST_H_
#define AIGW_SERVER_CODECS_ANTHROPIC_MESSAGES_REQUEST_H_

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/aigw/v1/chat.pb.h"

namespace aigw::anthropic {

// `count_tokens`: the body of /v1/messages/count_tokens, which has no
// max_tokens.
absl::StatusOr<v1::ChatCompletionRequest> ParseMessagesRequest(
    absl::string_view body, bool count_tokens = false);
absl::StatusOr<v1::ChatCompletionRequest> MessagesRequestFromJson(
    const nlohmann::json& j, bool count_tokens = false);

}  // namespace aigw::anthropic

#endif  // AIGW_SERVER_CODECS_ANTHROPIC_MESSAGES_REQUEST_H_
