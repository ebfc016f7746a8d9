#include "server/observability/gen_ai_names.h"

namespace aigw {

absl::string_view GenAiProviderName(absl::string_view adapter_type) {
  struct Name {
    absl::string_view type;
    absl::string_view gen_ai;
  };
  static constexpr Name kNames[] = {
      {"openai", "openai"},     {"azure", "azure.ai.openai"},
      {"claude", "anthropic"},  {"anthropic", "anthropic"},
      {"gemini", "gcp.gemini"}, {"deepseek", "deepseek"},
      {"groq", "groq"},         {"mistral", "mistral_ai"},
      {"qwen", "dashscope"},    {"dashscope", "dashscope"},
      {"xai", "x_ai"},          {"perplexity", "perplexity"},
  };
  for (const Name& name : kNames) {
    if (name.type == adapter_type) return name.gen_ai;
  }
  return adapter_type;
}

absl::string_view ErrorType(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return "";
    case absl::StatusCode::kCancelled:
      return "cancelled";
    case absl::StatusCode::kUnknown:
      return "unknown";
    case absl::StatusCode::kInvalidArgument:
      return "invalid_argument";
    case absl::StatusCode::kDeadlineExceeded:
      return "deadline_exceeded";
    case absl::StatusCode::kNotFound:
      return "not_found";
    case absl::StatusCode::kAlreadyExists:
      return "already_exists";
    case absl::StatusCode::kPermissionDenied:
      return "permission_denied";
    case absl::StatusCode::kResourceExhausted:
      return "resource_exhausted";
    case absl::StatusCode::kFailedPrecondition:
      return "failed_precondition";
    case absl::StatusCode::kAborted:
      return "aborted";
    case absl::StatusCode::kOutOfRange:
      return "out_of_range";
    case absl::StatusCode::kUnimplemented:
      return "unimplemented";
    case absl::StatusCode::kInternal:
      return "internal";
    case absl::StatusCode::kUnavailable:
      return "unavailable";
    case absl::StatusCode::kDataLoss:
      return "data_loss";
    case absl::StatusCode::kUnauthenticated:
      return "unauthenticated";
    default:
      return "_OTHER";
  }
}

const BucketBounds& OperationDurationBuckets() {
  static const BucketBounds* bounds =
      new BucketBounds{0.01, 0.02, 0.04, 0.08,  0.16,  0.32,  0.64,
                       1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92};
  return *bounds;
}

const BucketBounds& TokenUsageBuckets() {
  static const BucketBounds* bounds = new BucketBounds{
      1,     4,     16,     64,      256,     1024,     4096,
      16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864};
  return *bounds;
}

const BucketBounds& TimeToFirstTokenBuckets() {
  static const BucketBounds* bounds =
      new BucketBounds{0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1,
                       0.25,  0.5,   0.75, 1.0,  2.5,  5.0,  7.5,  10.0};
  return *bounds;
}

const BucketBounds& TimePerOutputTokenBuckets() {
  static const BucketBounds* bounds = new BucketBounds{
      0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5};
  return *bounds;
}

const BucketBounds& OverheadBuckets() {
  static const BucketBounds* bounds = new BucketBounds{
      0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001,
      0.0025,  0.005,    0.01,    0.025,  0.05,    0.1};
  return *bounds;
}

}  // namespace aigw
