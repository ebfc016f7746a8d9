// Pieces of the Prometheus text exposition format (version 0.0.4).
#ifndef AIGW_SERVER_OBSERVABILITY_PROMETHEUS_TEXT_H_
#define AIGW_SERVER_OBSERVABILITY_PROMETHEUS_TEXT_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace aigw {

// A label value escaped as the format requires: \\, \" and \n.
std::string EscapeLabelValue(absl::string_view value);

// `name="value"` pairs, values escaped, joined by ','.
std::string FormatLabels(
    const std::vector<std::pair<absl::string_view, absl::string_view>>& labels);

// A sample value: integers without a fraction, others with enough digits
// to round-trip (Prometheus parses Go floats).
std::string FormatSampleValue(double value);

// "# HELP name help\n# TYPE name type\n".
void AppendFamilyHeader(std::string* out, absl::string_view name,
                        absl::string_view type, absl::string_view help);

}  // namespace aigw

#endif  // AIGW_SERVER_OBSERVABILITY_PROMETHEUS_TEXT_H_
