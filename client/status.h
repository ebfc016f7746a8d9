// gRPC statuses as absl::Status: the same code and message, with what the
// gateway puts in trailing metadata (its error code, `retry-after`) kept as
// payloads, and a mark for "the gateway could not be reached at all".
#ifndef AIGW_CLIENT_STATUS_H_
#define AIGW_CLIENT_STATUS_H_

#include <grpcpp/grpcpp.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace aigw::client {

// Response metadata, in the order received; keys are lower case.
using Metadata = std::vector<std::pair<std::string, std::string>>;

Metadata CopyMetadata(
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata);

// The value of `key` in `metadata`, or "" when absent.
std::string MetadataValue(const Metadata& metadata, const std::string& key);

// `status` as an absl::Status. `trailing` is the call's trailing metadata;
// `heard_from_server` says whether any response metadata arrived (a call
// that fails without it never reached a gRPC server).
absl::Status FromGrpc(const grpc::Status& status, const Metadata& trailing,
                      bool heard_from_server);

// The gateway's machine-readable error code (x-aigw-error-code, e.g.
// "rate_limit_exceeded", "model_not_found"); "" when it sent none.
std::string GatewayErrorCode(const absl::Status& status);

// How long the server asked the caller to wait (retry-after); negative
// when it did not say.
absl::Duration RetryAfter(const absl::Status& status);

// True when the call failed before reaching any gRPC server (refused
// connection, unknown host, TLS failure).
bool Unreachable(const absl::Status& status);

// True when a gateway relayed this error from its own upstream
// (x-aigw-error-source: upstream), rather than refusing the call itself.
bool FromRemoteUpstream(const absl::Status& status);
absl::Status MarkFromRemoteUpstream(absl::Status status);
absl::Status MarkUnreachable(absl::Status status);
absl::Status WithGatewayErrorCode(absl::Status status, const std::string& code);

}  // namespace aigw::client

#endif  // AIGW_CLIENT_STATUS_H_
