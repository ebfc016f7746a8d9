// aigw-cli's command line: the command, its flags and the prompt.
#ifndef AIGW_CLIENT_CLI_CLI_OPTIONS_H_
#define AIGW_CLIENT_CLI_CLI_OPTIONS_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace aigw::cli {

enum class Command { kChat, kModels, kEmbed, kHelp };

struct CliOptions {
  Command command = Command::kHelp;
  bool grpc = false;
  std::string target;   // "" = the transport's default
  std::string api_key;  // --api-key, else $AIGW_API_KEY
  std::string model;    // "" = the command's default
  std::string system;
  std::optional<int> max_tokens;
  bool json = false;       // raw chunks / responses instead of text
  bool no_stream = false;  // chat: one non-streamed answer
  std::string ca_file;
  std::vector<std::string> words;  // the prompt or texts; empty = stdin
};

// `environment_key` is $AIGW_API_KEY ("" when unset). Errors are usage
// errors, worded for the terminal.
absl::StatusOr<CliOptions> ParseCli(const std::vector<std::string>& args,
                                    const std::string& environment_key);

extern const char kUsage[];

}  // namespace aigw::cli

#endif  // AIGW_CLIENT_CLI_CLI_OPTIONS_H_
