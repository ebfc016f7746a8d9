// Why connection protection refused or ended a client's connection or
// request; the names are the `reason` label of
// aigw_protection_rejected_total and appear in the offender log.
#ifndef AIGW_SERVER_PROTECTION_REJECT_REASON_H_
#define AIGW_SERVER_PROTECTION_REJECT_REASON_H_

#include <cstddef>

#include "absl/strings/string_view.h"

namespace aigw {

enum class RejectReason {
  kMaxConnections,       // protection.max_connections (all clients)
  kMaxConnectionsPerIp,  // protection.max_connections_per_ip
  kMaxStreamsPerIp,      // protection.max_streams_per_ip
  kRequestRate,          // protection.requests_per_ip_per_second
  kHeadTimeout,
  kBodyTimeout,
  kIdleTimeout,
  kWriteTimeout,
  kOverload,      // the load shedder: descriptors or memory near the limit
  kHeadTooLarge,  // request line and headers over the server's cap
  kBadFraming,    // unparsable head, conflicting Content-Length, ...
};

inline constexpr size_t kRejectReasonCount =
    static_cast<size_t>(RejectReason::kBadFraming) + 1;

constexpr absl::string_view RejectReasonName(RejectReason reason) {
  switch (reason) {
    case RejectReason::kMaxConnections:
      return "max_connections";
    case RejectReason::kMaxConnectionsPerIp:
      return "max_connections_per_ip";
    case RejectReason::kMaxStreamsPerIp:
      return "max_streams_per_ip";
    case RejectReason::kRequestRate:
      return "request_rate";
    case RejectReason::kHeadTimeout:
      return "head_timeout";
    case RejectReason::kBodyTimeout:
      return "body_timeout";
    case RejectReason::kIdleTimeout:
      return "idle_timeout";
    case RejectReason::kWriteTimeout:
      return "write_timeout";
    case RejectReason::kOverload:
      return "overload";
    case RejectReason::kHeadTooLarge:
      return "head_too_large";
    case RejectReason::kBadFraming:
      return "bad_framing";
  }
  return "unknown";
}

}  // namespace aigw

#endif  // AIGW_SERVER_PROTECTION_REJECT_REASON_H_
