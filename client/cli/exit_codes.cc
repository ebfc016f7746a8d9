#include "client/cli/exit_codes.h"

#include "absl/strings/str_cat.h"
#include "client/status.h"

namespace aigw::cli {

ExitCode ExitCodeFor(const absl::Status& status) {
  if (status.ok()) return kExitOk;
  if (client::Unreachable(status)) return kExitUnreachable;
  switch (status.code()) {
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kPermissionDenied:
      return kExitRefused;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kFailedPrecondition:
      return kExitBadRequest;
    case absl::StatusCode::kResourceExhausted:
      return kExitRateLimited;
    case absl::StatusCode::kDeadlineExceeded:
      return kExitTimeout;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kDataLoss:
    case absl::StatusCode::kUnknown:
      return kExitUpstream;
    default:
      return kExitOther;
  }
}

std::string Describe(const absl::Status& status, const std::string& target) {
  if (client::Unreachable(status)) {
    return absl::StrCat("cannot reach the gateway at ", target, ": ",
                        status.message(), " (is aigw running? see --target)");
  }
  std::string code = client::GatewayErrorCode(status);
  std::string what = code.empty() ? "" : absl::StrCat(" (", code, ")");
  return absl::StrCat(status.message(), what);
}

}  // namespace aigw::cli
