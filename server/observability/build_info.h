// What binary this is: aigw's version and the git commit it was built from,
// also exported as the aigw_build_info gauge.
#ifndef AIGW_SERVER_OBSERVABILITY_BUILD_INFO_H_
#define AIGW_SERVER_OBSERVABILITY_BUILD_INFO_H_

#include <string>

#include "absl/strings/string_view.h"

namespace aigw {

absl::string_view BuildVersion();
// The full commit hash, or "unknown" when the build had no git repository.
absl::string_view BuildRevision();

// Appends aigw_build_info{version,revision} 1 with its HELP and TYPE.
void AppendBuildInfo(std::string* out);

}  // namespace aigw

#endif  // AIGW_SERVER_OBSERVABILITY_BUILD_INFO_H_
