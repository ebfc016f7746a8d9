#include "client/cli/cli_options.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace aigw::cli {

const char kUsage[] =
    R"(usage: aigw-cli [--target=T] [--api-key=K] [--grpc] COMMAND [flags] [TEXT...]

commands:
  chat [-m MODEL] [--system=TEXT] [--max-tokens=N] [--json] [--no-stream] [PROMPT...]
        streams the answer to stdout as it arrives; the prompt is read
        from stdin when none is given
  models [--json]                   the models the gateway serves
  embed [-m MODEL] [--json] [TEXT...]   one embedding per text (or per
        stdin line), printed as a JSON array per line

flags (anywhere on the line):
  --target=T     REST: http(s)://host:port (default http://127.0.0.1:8080)
                 gRPC: host:port (default 127.0.0.1:9090)
  --grpc         use the gateway's gRPC API (aigw.v1) instead of REST
  --api-key=K    the gateway key (default: $AIGW_API_KEY)
  --ca-file=PEM  extra CA roots for https / gRPC over TLS (grpcs://host:port)
  --json         print raw chunks (chat), the raw response (models, embed)

exit codes: 0 ok, 1 other error, 2 usage, 3 gateway unreachable,
  4 key refused (401/403), 5 bad request (400/404/413), 6 rate limited (429),
  7 upstream or gateway failure (5xx), 8 timeout
)";

namespace {

absl::Status Usage(absl::string_view message) {
  return absl::InvalidArgumentError(message);
}

}  // namespace

absl::StatusOr<CliOptions> ParseCli(const std::vector<std::string>& args,
                                    const std::string& environment_key) {
  CliOptions options;
  options.api_key = environment_key;
  bool have_command = false;
  bool words_only = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (words_only || arg == "-" || !absl::StartsWith(arg, "-")) {
      if (!have_command) {
        if (arg == "chat") {
          options.command = Command::kChat;
        } else if (arg == "models") {
          options.command = Command::kModels;
        } else if (arg == "embed") {
          options.command = Command::kEmbed;
        } else if (arg == "help") {
          options.command = Command::kHelp;
        } else {
          return Usage(absl::StrCat("unknown command '", arg,
                                    "' (chat, models, embed)"));
        }
        have_command = true;
      } else {
        options.words.push_back(arg);
      }
      continue;
    }
    if (arg == "--") {
      words_only = true;
      continue;
    }
    std::string name = arg;
    std::string value;
    bool has_value = false;
    size_t eq = arg.find('=');
    if (eq != std::string::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      has_value = true;
    }
    auto take_value = [&]() -> absl::Status {
      if (has_value) return absl::OkStatus();
      if (i + 1 >= args.size()) {
        return Usage(absl::StrCat(name, " needs a value"));
      }
      value = args[++i];
      return absl::OkStatus();
    };
    if (name == "-h" || name == "--help") {
      options.command = Command::kHelp;
      return options;
    }
    if (name == "--grpc" || name == "--json" || name == "--no-stream") {
      if (has_value) return Usage(absl::StrCat(name, " takes no value"));
      if (name == "--grpc") options.grpc = true;
      if (name == "--json") options.json = true;
      if (name == "--no-stream") options.no_stream = true;
      continue;
    }
    if (name == "--target" || name == "--api-key" || name == "-m" ||
        name == "--model" || name == "--system" || name == "--max-tokens" ||
        name == "--ca-file") {
      absl::Status status = take_value();
      if (!status.ok()) return status;
      if (name == "--target") options.target = value;
      if (name == "--api-key") options.api_key = value;
      if (name == "-m" || name == "--model") options.model = value;
      if (name == "--system") options.system = value;
      if (name == "--ca-file") options.ca_file = value;
      if (name == "--max-tokens") {
        int tokens = 0;
        if (!absl::SimpleAtoi(value, &tokens) || tokens <= 0) {
          return Usage(absl::StrCat(
              "--max-tokens wants a positive number, not '", value, "'"));
        }
        options.max_tokens = tokens;
      }
      continue;
    }
    return Usage(absl::StrCat("unknown flag '", name, "'"));
  }
  if (!have_command && options.command != Command::kHelp) {
    return Usage("no command given");
  }
  if (options.command == Command::kModels && !options.words.empty()) {
    return Usage("models takes no text");
  }
  if (options.model.empty()) {
    options.model = options.command == Command::kEmbed
                        ? "text-embedding-3-small"
                        : "gpt-4o";
  }
  return options;
}

}  // namespace aigw::cli
