#include "server/filters/rate_limit/estimator.h"

namespace aigw {
namespace {

constexpr int64_t kPerMessage = 4;
constexpr int64_t kPerRequest = 3;
constexpr int64_t kImage = 765;
constexpr int64_t kLowDetailImage = 85;

// Structured values (tool parameters, schemas) by their encoded size: close
// to their JSON text without writing it.
int64_t StructTokens(const google::protobuf::Message& value) {
  return static_cast<int64_t>(value.ByteSizeLong() + 3) / 4;
}

int64_t MessageTokens(const v1::Message& message) {
  int64_t tokens = kPerMessage + EstimateTextTokens(message.content()) +
                   EstimateTextTokens(message.name()) +
                   EstimateTextTokens(message.refusal()) +
                   EstimateTextTokens(message.reasoning_content());
  for (const v1::ContentPart& part : message.parts()) {
    tokens += EstimateTextTokens(part.text());
    if (part.has_image_url()) {
      tokens += part.image_url().detail() == "low" ? kLowDetailImage : kImage;
    }
    if (part.has_extra()) tokens += StructTokens(part.extra());
  }
  for (const v1::ToolCall& call : message.tool_calls()) {
    tokens += EstimateTextTokens(call.function().name()) +
              EstimateTextTokens(call.function().arguments());
  }
  return tokens;
}

}  // namespace

void TokenTally::Add(absl::string_view text) {
  for (unsigned char c : text) {
    if (c < 0x80) {
      ++ascii_;
    } else if ((c & 0xC0) != 0x80) {
      ++code_points_;  // a lead byte; continuation bytes are not counted
    }
  }
}

void TokenTally::AddChunk(const v1::ChatCompletionChunk& chunk) {
  for (const v1::ChunkChoice& choice : chunk.choices()) {
    const v1::Message& delta = choice.delta();
    Add(delta.content());
    Add(delta.reasoning_content());
    Add(delta.refusal());
    for (const v1::ToolCall& call : delta.tool_calls()) {
      Add(call.function().arguments());
    }
  }
}

int64_t EstimateTextTokens(absl::string_view text) {
  TokenTally tally;
  tally.Add(text);
  return tally.tokens();
}

int64_t EstimatePromptTokens(const v1::ChatCompletionRequest& request) {
  int64_t tokens = kPerRequest;
  for (const v1::Message& message : request.messages()) {
    tokens += MessageTokens(message);
  }
  for (const v1::Tool& tool : request.tools()) {
    tokens += EstimateTextTokens(tool.function().name()) +
              EstimateTextTokens(tool.function().description()) +
              StructTokens(tool.function().parameters());
  }
  if (request.has_response_format()) {
    tokens += StructTokens(request.response_format());
  }
  return tokens;
}

int64_t EstimateInputTokens(const v1::EmbeddingsRequest& request) {
  int64_t tokens = 0;
  for (const std::string& input : request.input()) {
    tokens += EstimateTextTokens(input);
  }
  return tokens;
}

}  // namespace aigw
