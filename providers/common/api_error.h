// The gateway's one error model. An error is an absl::Status whose code is
// the gRPC-facing classification; a payload carries what OpenAI clients see:
// the HTTP status, `type`, `param` and `code` of the error body.
#ifndef AIGW_PROVIDERS_COMMON_API_ERROR_H_
#define AIGW_PROVIDERS_COMMON_API_ERROR_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace aigw {

struct ErrorDetails {
  int http_status = 500;
  std::string type;   // OpenAI error type, e.g. "invalid_request_error"
  std::string param;  // offending request field, "" when none
  std::string code;   // machine-readable code, e.g. "model_not_found"
  int64_t retry_after_ms = -1;  // an upstream's Retry-After, when it sent one
};

struct ApiErrorSpec {
  absl::StatusCode code = absl::StatusCode::kInternal;
  std::string message;
  int http_status = 0;  // 0: derived from `code`
  std::string type;     // "": derived from the HTTP status
  std::string param;
  std::string error_code;
  int64_t retry_after_ms = -1;
};

// Returns the status of `expr` from the enclosing function unless it is OK.
#define AIGW_RETURN_IF_ERROR(expr)     \
  do {                                 \
    absl::Status aigw_status = (expr); \
    if (!aigw_status.ok()) {           \
      return aigw_status;              \
    }                                  \
  } while (0)

absl::Status MakeApiError(const ApiErrorSpec& spec);

// Retry-After in whole seconds, rounded up (0 stays 0), for
// `retry_after_ms >= 0`.
int64_t RetryAfterSeconds(const ErrorDetails& details);

// 400 invalid_request_error naming the offending field.
absl::Status InvalidRequest(absl::string_view message,
                            absl::string_view param = "",
                            absl::string_view error_code = "");

// Details of any status; plain statuses get defaults from their code.
ErrorDetails GetErrorDetails(const absl::Status& status);

// The OpenAI error body: {"error":{"message","type","param","code"}}.
std::string ErrorBodyJson(const absl::Status& status);

// Maps an upstream HTTP failure (status + body in OpenAI's error shape,
// `{"code","message"}`, an SSE body whose first `data:` line holds such
// JSON, or plain text) to a gateway error. 4xx keep their status and message;
// 5xx become 502.
absl::Status StatusFromUpstreamHttp(int http_status, absl::string_view body,
                                    int64_t retry_after_ms = -1);

// Error used when the upstream cannot be reached (502) or is too slow (504).
absl::Status UpstreamUnreachable(absl::string_view detail);
absl::Status UpstreamTimeout(absl::string_view detail);
// 502 for an upstream answer that breaks its own protocol.
absl::Status MalformedUpstream(absl::string_view what);

// Replaces every occurrence of a secret (a provider key) in the message with
// "[redacted]", so upstream errors that echo a key never reach a client.
absl::Status RedactSecrets(const absl::Status& status,
                           const std::vector<std::string>& secrets);

}  // namespace aigw

#endif  // AIGW_PROVIDERS_COMMON_API_ERROR_H_
