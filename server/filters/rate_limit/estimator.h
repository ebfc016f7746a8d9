// Token estimates for reserving budget before the upstream has counted.
// No tokenizer is linked (each provider's differs, and none is packaged for
// Debian), so text is counted the way BPE tokenizers behave on average and
// on the safe side: one token per 4 ASCII bytes, one per non-ASCII code
// point (a CJK character is usually one token or more; accented Latin
// text is overestimated), plus OpenAI's 4 tokens of framing per message
// and 3 per request, and a fixed cost per image (765, or 85 at detail
// "low": OpenAI's 512-pixel tiles). The estimate is settled to the real
// usage when the call ends, so an error only lasts as long as the request.
#ifndef AIGW_SERVER_FILTERS_RATE_LIMIT_ESTIMATOR_H_
#define AIGW_SERVER_FILTERS_RATE_LIMIT_ESTIMATOR_H_

#include <cstdint>

#include "absl/strings/string_view.h"
#include "proto/aigw/v1/chat.pb.h"

namespace aigw {

// Counts text as it streams: the estimate of all the text added so far
// (rounding once, not per piece).
class TokenTally {
 public:
  void Add(absl::string_view text);
  // The completion text a streamed chunk carries (content, reasoning,
  // refusal, tool-call arguments).
  void AddChunk(const v1::ChatCompletionChunk& chunk);
  int64_t tokens() const { return (ascii_ + 3) / 4 + code_points_; }

 private:
  int64_t ascii_ = 0;
  int64_t code_points_ = 0;
};

int64_t EstimateTextTokens(absl::string_view text);
// The prompt: messages, tool definitions, the response schema.
int64_t EstimatePromptTokens(const v1::ChatCompletionRequest& request);
int64_t EstimateInputTokens(const v1::EmbeddingsRequest& request);

}  // namespace aigw

#endif  // AIGW_SERVER_FILTERS_RATE_LIMIT_ESTIMATOR_H_
