// Parses `observability:` (the access log and the OTLP trace exporter).
#include <cmath>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "providers/common/api_error.h"
#include "server/config.h"
#include "server/config_yaml.h"

namespace aigw {
namespace {

absl::Status ParseAccessLog(const YAML::Node& node, ObservabilityConfig* out) {
  const std::string key = "observability.access_log";
  if (node.IsScalar()) {
    // `access_log: off` (YAML may read it as false).
    if (node.Scalar() == "off" || node.Scalar() == "false") {
      out->access_log = false;
      return absl::OkStatus();
    }
    return KeyError(key, "is `off` or {format: json|text, path: stdout|FILE}");
  }
  if (!node.IsMap()) {
    return KeyError(key, "is `off` or {format: json|text, path: stdout|FILE}");
  }
  AIGW_RETURN_IF_ERROR(CheckKeys(node, key, {"format", "path"}));
  if (node["format"]) {
    absl::StatusOr<std::string> format =
        Scalar(node["format"], key + ".format");
    if (!format.ok()) return format.status();
    if (*format != "json" && *format != "text") {
      return KeyError(key + ".format",
                      absl::StrCat("'", *format, "' is not json or text"));
    }
    out->access_log_format = *format;
  }
  if (node["path"]) {
    absl::StatusOr<std::string> path = Scalar(node["path"], key + ".path");
    if (!path.ok()) return path.status();
    if (path->empty()) {
      return KeyError(key + ".path", "is stdout, stderr or a file's path");
    }
    out->access_log_path = *path;
  }
  return absl::OkStatus();
}

absl::Status ParseOtlp(const YAML::Node& node, ObservabilityConfig* out) {
  const std::string key = "observability.otlp";
  if (!node.IsMap()) {
    return KeyError(key, "is {endpoint, headers, sample_ratio}");
  }
  AIGW_RETURN_IF_ERROR(
      CheckKeys(node, key, {"endpoint", "headers", "sample_ratio"}));
  if (!node["endpoint"]) return KeyError(key + ".endpoint", "required");
  absl::StatusOr<std::string> endpoint =
      Scalar(node["endpoint"], key + ".endpoint");
  if (!endpoint.ok()) return endpoint.status();
  if (!absl::StartsWith(*endpoint, "http://") &&
      !absl::StartsWith(*endpoint, "https://")) {
    return KeyError(key + ".endpoint",
                    absl::StrCat("'", *endpoint,
                                 "' is not an http:// or https:// URL (OTLP "
                                 "over HTTP, e.g. http://127.0.0.1:4318)"));
  }
  out->otlp_endpoint = *endpoint;
  if (node["headers"]) {
    const YAML::Node& headers = node["headers"];
    if (!headers.IsMap()) {
      return KeyError(key + ".headers", "is a map of header names to values");
    }
    for (const auto& item : headers) {
      std::string name = item.first.Scalar();
      absl::StatusOr<std::string> value =
          Scalar(item.second, absl::StrCat(key, ".headers.", name));
      if (!value.ok()) return value.status();
      out->otlp_headers.emplace_back(name, *value);
    }
  }
  if (node["sample_ratio"]) {
    absl::StatusOr<std::string> text =
        Scalar(node["sample_ratio"], key + ".sample_ratio");
    if (!text.ok()) return text.status();
    double ratio = 0;
    if (!absl::SimpleAtod(*text, &ratio) || !std::isfinite(ratio) ||
        ratio < 0 || ratio > 1) {
      return KeyError(key + ".sample_ratio",
                      absl::StrCat("'", *text, "' is not a number 0..1"));
    }
    out->otlp_sample_ratio = ratio;
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ParseObservability(const YAML::Node& root, GatewayConfig* config) {
  const YAML::Node& node = root["observability"];
  if (!node) return absl::OkStatus();
  if (!node.IsMap()) {
    return KeyError("observability", "is a map (access_log, otlp)");
  }
  AIGW_RETURN_IF_ERROR(
      CheckKeys(node, "observability", {"access_log", "otlp"}));
  if (node["access_log"]) {
    AIGW_RETURN_IF_ERROR(
        ParseAccessLog(node["access_log"], &config->observability));
  }
  if (node["otlp"]) {
    AIGW_RETURN_IF_ERROR(ParseOtlp(node["otlp"], &config->observability));
  }
  return absl::OkStatus();
}

}  // namespace aigw
