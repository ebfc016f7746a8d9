// The OpenTelemetry GenAI semantic conventions' vocabulary as aigw uses
// it: provider names, error types and the recommended histogram buckets.
#ifndef AIGW_SERVER_OBSERVABILITY_GEN_AI_NAMES_H_
#define AIGW_SERVER_OBSERVABILITY_GEN_AI_NAMES_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "server/observability/histogram.h"

namespace aigw {

// gen_ai.provider.name for an adapter type: the conventions' value where
// one exists ("anthropic" for claude, "gcp.gemini", "azure.ai.openai"),
// the type itself otherwise ("dashscope" for qwen).
absl::string_view GenAiProviderName(absl::string_view adapter_type);

// error.type of a failed request: the gRPC code's name in lower case
// ("resource_exhausted", "unavailable", ...), a fixed, documented set.
// "" for OK.
absl::string_view ErrorType(const absl::Status& status);

// The conventions' explicit bucket boundaries.
const BucketBounds& OperationDurationBuckets();   // seconds
const BucketBounds& TokenUsageBuckets();          // tokens
const BucketBounds& TimeToFirstTokenBuckets();    // seconds
const BucketBounds& TimePerOutputTokenBuckets();  // seconds
// aigw_gateway_overhead_seconds: 10 µs to 100 ms.
const BucketBounds& OverheadBuckets();

}  // namespace aigw

#endif  // AIGW_SERVER_OBSERVABILITY_GEN_AI_NAMES_H_
