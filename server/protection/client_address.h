// Who the client is when the gateway sits behind proxies: the direct peer,
// unless that peer is a trusted proxy, in which case X-Forwarded-For is
// walked from the right (the hop nearest to us) past trusted proxies.
#ifndef AIGW_SERVER_PROTECTION_CLIENT_ADDRESS_H_
#define AIGW_SERVER_PROTECTION_CLIENT_ADDRESS_H_

#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "server/protection/cidr_set.h"
#include "server/protection/ip_address.h"

namespace aigw {

// `x_forwarded_for` holds the values of every X-Forwarded-For header line
// in the order received; they are read as one comma-separated list.
//
// - A peer outside `trusted` is the client; X-Forwarded-For is ignored
//   (anyone can write one).
// - Otherwise the first address from the right that is not trusted is the
//   client. When every listed hop is trusted, the leftmost one is.
// - An entry that is not an address ("unknown", a typo, an obfuscated
//   RFC 7239 name) stops the walk: the last address checked so far (a
//   trusted one) is the client, since nothing left of a bad entry can be
//   believed.
// Entries may carry a port ("1.2.3.4:80", "[2001:db8::1]:80") or brackets;
// empty list elements are skipped. Allocates nothing.
IpAddress ClientAddress(const IpAddress& peer,
                        absl::Span<const absl::string_view> x_forwarded_for,
                        const CidrSet& trusted);

// One X-Forwarded-For element (surrounding spaces allowed) as an address.
std::optional<IpAddress> ParseForwardedFor(absl::string_view entry);

}  // namespace aigw

#endif  // AIGW_SERVER_PROTECTION_CLIENT_ADDRESS_H_
