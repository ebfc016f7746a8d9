// aigw-cli's exit codes, one per class of failure, and the one-line
// message a person reads instead of a stack of statuses.
#ifndef AIGW_CLIENT_CLI_EXIT_CODES_H_
#define AIGW_CLIENT_CLI_EXIT_CODES_H_

#include <string>

#include "absl/status/status.h"

namespace aigw::cli {

enum ExitCode {
  kExitOk = 0,
  kExitOther = 1,
  kExitUsage = 2,
  kExitUnreachable = 3,
  kExitRefused = 4,      // 401 / 403
  kExitBadRequest = 5,   // 400 / 404 / 413
  kExitRateLimited = 6,  // 429
  kExitUpstream = 7,     // 5xx
  kExitTimeout = 8,
};

ExitCode ExitCodeFor(const absl::Status& status);

// "cannot reach the gateway at T: ..." or "the gateway answered ...".
std::string Describe(const absl::Status& status, const std::string& target);

}  // namespace aigw::cli

#endif  // AIGW_CLIENT_CLI_EXIT_CODES_H_
