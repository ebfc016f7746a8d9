// What aigw-cli asks of a gateway, over REST or gRPC. Answers are printed
// to `out` as they arrive; errors are absl::Status with the gRPC-style
// code of their class (see exit_codes.h).
#ifndef AIGW_CLIENT_CLI_GATEWAY_H_
#define AIGW_CLIENT_CLI_GATEWAY_H_

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/cli/cli_options.h"

namespace aigw::cli {

class Gateway {
 public:
  virtual ~Gateway() = default;
  // Chat with `prompt` (and options.system): streamed text, or raw chunks
  // one JSON object per line with --json.
  virtual absl::Status Chat(const CliOptions& options,
                            const std::string& prompt, std::FILE* out) = 0;
  virtual absl::Status Models(const CliOptions& options, std::FILE* out) = 0;
  virtual absl::Status Embed(const CliOptions& options,
                             const std::vector<std::string>& texts,
                             std::FILE* out) = 0;
};

absl::StatusOr<std::unique_ptr<Gateway>> NewRestGateway(
    const CliOptions& options);
absl::StatusOr<std::unique_ptr<Gateway>> NewGrpcGateway(
    const CliOptions& options);

// Writes all of `text` and flushes, so each token shows at once even when
// stdout is a pipe.
void WriteNow(std::FILE* out, const std::string& text);

}  // namespace aigw::cli

#endif  // AIGW_CLIENT_CLI_GATEWAY_H_
