#include "server/observability/build_info.h"

#include "absl/strings/str_cat.h"
#include "server/observability/build_revision.h"  // generated: the stamp
#include "server/observability/prometheus_text.h"

namespace aigw {

absl::string_view BuildVersion() { return "0.10.0"; }

absl::string_view BuildRevision() { return AIGW_BUILD_REVISION; }

void AppendBuildInfo(std::string* out) {
  AppendFamilyHeader(
      out, "aigw_build_info", "gauge",
      "A metric with a constant '1' value labeled by the version and the git "
      "revision aigw was built from.");
  absl::StrAppend(out, "aigw_build_info{",
                  FormatLabels({{"version", BuildVersion()},
                                {"revision", BuildRevision()}}),
                  "} 1\n");
}

}  // namespace aigw
