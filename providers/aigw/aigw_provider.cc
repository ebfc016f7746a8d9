#include "providers/aigw/aigw_provider.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "providers/registry.h"

namespace aigw {

AigwProvider::AigwProvider(std::unique_ptr<client::Client> client,
                           std::unique_ptr<KeyRing> keys)
    : client_(std::move(client)), keys_(std::move(keys)) {}

absl::StatusOr<std::unique_ptr<Provider>> CreateAigwProvider(
    const ProviderConfig& config) {
  for (const auto& [key, value] : config.options) {
    if (key != "target" && key != "tls") {
      return absl::InvalidArgumentError(absl::StrCat(
          key, ": not a key of type aigw (target, tls, api_keys, ca_file)"));
    }
  }
  if (!config.base_url.empty()) {
    return absl::InvalidArgumentError(
        "base_url: type aigw is reached over gRPC; give target: host:port");
  }
  auto target = config.options.find("target");
  if (target == config.options.end() || target->second.empty()) {
    return absl::InvalidArgumentError(
        "target: required for type aigw (host:port of an aigw.v1 server)");
  }
  if (absl::StrContains(target->second, "://")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "target: '", target->second,
        "' should be host:port (set tls: true for TLS), not a URL"));
  }
  client::ClientOptions options;
  options.target = target->second;
  auto tls = config.options.find("tls");
  if (tls != config.options.end()) {
    if (tls->second != "true" && tls->second != "false") {
      return absl::InvalidArgumentError(
          absl::StrCat("tls: expected true or false, not '", tls->second, "'"));
    }
    options.tls = tls->second == "true";
  }
  options.ca_file = config.ca_file;
  if (!options.ca_file.empty()) options.tls = true;
  // Deadlines and retries are the gateway's (timeouts, retries, fallback);
  // `timeouts.connect` bounds a connection attempt, `timeouts.read` the
  // silence between chunks.
  options.deadline = absl::ZeroDuration();
  options.max_attempts = 1;
  options.connect_timeout = config.connect_timeout;
  options.idle_timeout = config.read_timeout;
  // Shared across reloads: the new snapshot's provider keeps the
  // connection of the old one.
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      client::SharedChannel(options);
  if (!channel.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("ca_file: ", channel.status().message()));
  }
  auto client = std::make_unique<client::Client>(std::move(*channel), options);
  absl::StatusOr<std::unique_ptr<KeyRing>> keys =
      MakeKeyRing(config, /*key_required=*/false);
  if (!keys.ok()) return keys.status();
  return std::make_unique<AigwProvider>(std::move(client), std::move(*keys));
}

namespace {

const ProviderRegistration kRegistration("aigw", CreateAigwProvider);

}  // namespace

}  // namespace aigw
