// aigw-cli: chat with, list the models of, and embed through an aigw
// gateway from a terminal or a script, over REST or gRPC.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "client/cli/cli_options.h"
#include "client/cli/exit_codes.h"
#include "client/cli/gateway.h"

namespace {

using aigw::cli::CliOptions;
using aigw::cli::Command;

std::string ReadStdin() {
  if (isatty(STDIN_FILENO)) {
    std::fprintf(stderr, "(reading from stdin; end with Ctrl-D)\n");
  }
  std::stringstream text;
  text << std::cin.rdbuf();
  return text.str();
}

int Fail(const std::string& message, int code) {
  std::fprintf(stderr, "aigw-cli: %s\n", message.c_str());
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  // gRPC's own log lines would come before the one-line error.
  setenv("GRPC_VERBOSITY", "NONE", /*overwrite=*/0);
  std::vector<std::string> args(argv + 1, argv + argc);
  const char* key = std::getenv("AIGW_API_KEY");
  absl::StatusOr<CliOptions> options =
      aigw::cli::ParseCli(args, key == nullptr ? "" : key);
  if (!options.ok()) {
    std::fprintf(stderr, "aigw-cli: %s\n\n%s",
                 std::string(options.status().message()).c_str(),
                 aigw::cli::kUsage);
    return aigw::cli::kExitUsage;
  }
  if (options->command == Command::kHelp) {
    std::fputs(aigw::cli::kUsage, args.empty() ? stderr : stdout);
    return args.empty() ? aigw::cli::kExitUsage : aigw::cli::kExitOk;
  }
  absl::StatusOr<std::unique_ptr<aigw::cli::Gateway>> gateway =
      options->grpc ? aigw::cli::NewGrpcGateway(*options)
                    : aigw::cli::NewRestGateway(*options);
  if (!gateway.ok()) {
    return Fail(std::string(gateway.status().message()), aigw::cli::kExitUsage);
  }
  std::string target =
      !options->target.empty()
          ? options->target
          : (options->grpc ? "127.0.0.1:9090" : "http://127.0.0.1:8080");
  absl::Status status;
  switch (options->command) {
    case Command::kChat: {
      std::string prompt = options->words.empty()
                               ? ReadStdin()
                               : absl::StrJoin(options->words, " ");
      if (absl::StripAsciiWhitespace(prompt).empty()) {
        return Fail("the prompt is empty", aigw::cli::kExitUsage);
      }
      status = (*gateway)->Chat(*options, prompt, stdout);
      break;
    }
    case Command::kModels:
      status = (*gateway)->Models(*options, stdout);
      break;
    case Command::kEmbed: {
      std::vector<std::string> texts = options->words;
      if (texts.empty()) {
        for (absl::string_view line : absl::StrSplit(ReadStdin(), '\n')) {
          if (!absl::StripAsciiWhitespace(line).empty()) {
            texts.emplace_back(line);
          }
        }
      }
      if (texts.empty()) return Fail("no text to embed", aigw::cli::kExitUsage);
      status = (*gateway)->Embed(*options, texts, stdout);
      break;
    }
    case Command::kHelp:
      break;
  }
  if (status.ok()) return aigw::cli::kExitOk;
  return Fail(aigw::cli::Describe(status, target),
              aigw::cli::ExitCodeFor(status));
}
