// x-request-id: the client's when it is a sane token, else a new one.
#ifndef AIGW_SERVER_OBSERVABILITY_REQUEST_ID_H_
#define AIGW_SERVER_OBSERVABILITY_REQUEST_ID_H_

#include <string>

#include "absl/strings/string_view.h"

namespace aigw {

// A random UUID (version 4), lowercase.
std::string NewRequestId();

// 1..128 characters of [A-Za-z0-9._:+=/-]: safe in a header, a log line
// and a metric exemplar. Anything else is replaced by a new id.
bool ValidRequestId(absl::string_view id);

}  // namespace aigw

#endif  // AIGW_SERVER_OBSERVABILITY_REQUEST_ID_H_
