// Parses `protection:` (connection limits, timeouts, trusted proxies, load
// shedding) and `threads:`.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/algorithm/container.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "server/config.h"
#include "server/config_yaml.h"
#include "server/protection/system_resources.h"

namespace aigw {
namespace {

constexpr int kMaxThreads = 256;
// A max_memory below this is a unit left out ("512" for 512Mi), not a
// limit anyone means: the gateway would shed from its first request.
constexpr int64_t kMinMemory = int64_t{32} << 20;

absl::StatusOr<int64_t> Count(const YAML::Node& node, const std::string& key) {
  absl::StatusOr<std::string> text = Scalar(node, key);
  if (!text.ok()) return text.status();
  int64_t value = 0;
  if (!absl::SimpleAtoi(*text, &value) || value < 0) {
    return KeyError(key, absl::StrCat("'", *text,
                                      "' is not a whole number >= 0 "
                                      "(0 = no cap)"));
  }
  return value;
}

absl::StatusOr<double> Number(const YAML::Node& node, const std::string& key,
                              double min, double max, absl::string_view what) {
  absl::StatusOr<std::string> text = Scalar(node, key);
  if (!text.ok()) return text.status();
  double value = 0;
  if (!absl::SimpleAtod(*text, &value) || !std::isfinite(value) ||
      value < min || value > max) {
    return KeyError(key, absl::StrCat("'", *text, "' is not ", what));
  }
  return value;
}

absl::StatusOr<absl::Duration> Timeout(const YAML::Node& node,
                                       const std::string& key) {
  absl::StatusOr<absl::Duration> timeout = DurationField(node, key);
  if (!timeout.ok()) return timeout.status();
  if (*timeout <= absl::ZeroDuration()) {
    return KeyError(key,
                    "must be more than 0 (a client could hold a "
                    "connection forever)");
  }
  return timeout;
}

// Bytes as Kubernetes writes them: 512Mi, 1Gi (powers of 1024), 500M, 2G
// (powers of 1000), or a plain number of bytes.
absl::StatusOr<int64_t> ByteSize(const YAML::Node& node,
                                 const std::string& key) {
  absl::StatusOr<std::string> text = Scalar(node, key);
  if (!text.ok()) return text.status();
  static constexpr std::pair<const char*, int64_t> kUnits[] = {
      {"Ki", int64_t{1} << 10},
      {"Mi", int64_t{1} << 20},
      {"Gi", int64_t{1} << 30},
      {"Ti", int64_t{1} << 40},
      {"k", 1000},
      {"K", 1000},
      {"M", 1000000},
      {"G", 1000000000},
      {"T", 1000000000000}};
  absl::string_view number = *text;
  int64_t unit = 1;
  for (const auto& [suffix, size] : kUnits) {
    if (absl::EndsWith(number, suffix)) {
      number.remove_suffix(std::strlen(suffix));
      unit = size;
      break;
    }
  }
  int64_t value = 0;
  if (!absl::SimpleAtoi(number, &value) || value < 0 ||
      !absl::c_all_of(number, absl::ascii_isdigit) ||
      value > INT64_MAX / unit) {
    return KeyError(key, absl::StrCat("'", *text,
                                      "' is not a size such as 512Mi, 1Gi "
                                      "or 2G (0 = the cgroup's limit)"));
  }
  value *= unit;
  if (value != 0 && value < kMinMemory) {
    return KeyError(key, absl::StrCat("'", *text, "' is only ", value,
                                      " bytes; write a unit (512Mi, 1Gi)"));
  }
  return value;
}

absl::StatusOr<CidrSet> TrustedProxies(const YAML::Node& node,
                                       const std::string& key) {
  absl::StatusOr<std::vector<std::string>> entries = StringList(node, key);
  if (!entries.ok()) return entries.status();
  CidrSet set;
  for (size_t i = 0; i < entries->size(); ++i) {
    absl::StatusOr<Cidr> cidr = Cidr::Parse((*entries)[i]);
    if (!cidr.ok()) {
      return KeyError(absl::StrCat(key, "[", i, "]"), cidr.status().message());
    }
    set.Add(*cidr);
  }
  return set;
}

absl::Status ParseProtectionSection(const YAML::Node& node,
                                    ProtectionConfig* protection) {
  absl::Status status = CheckKeys(
      node, "protection",
      {"max_connections", "max_connections_per_ip", "max_streams_per_ip",
       "requests_per_ip_per_second", "requests_per_ip_burst", "head_timeout",
       "body_timeout", "idle_timeout", "write_timeout", "trusted_proxies",
       "shed_fd_ratio", "max_memory", "shed_memory_ratio", "exempt_loopback"});
  if (!status.ok()) return status;
  if (node["exempt_loopback"]) {
    const YAML::Node& value = node["exempt_loopback"];
    std::string text = value.IsScalar() ? value.Scalar() : "";
    if (text != "true" && text != "false") {
      return absl::InvalidArgumentError(
          "protection.exempt_loopback: must be true or false");
    }
    protection->exempt_loopback = text == "true";
  }
  const std::pair<const char*, int64_t*> counts[] = {
      {"max_connections", &protection->max_connections},
      {"max_connections_per_ip", &protection->max_connections_per_ip},
      {"max_streams_per_ip", &protection->max_streams_per_ip},
  };
  for (const auto& [name, field] : counts) {
    if (!node[name]) continue;
    absl::StatusOr<int64_t> value =
        Count(node[name], absl::StrCat("protection.", name));
    if (!value.ok()) return value.status();
    *field = *value;
  }
  if (node["requests_per_ip_per_second"]) {
    absl::StatusOr<double> rate =
        Number(node["requests_per_ip_per_second"],
               "protection.requests_per_ip_per_second", 0, 1e9,
               "a number of requests per second >= 0 (0 = off)");
    if (!rate.ok()) return rate.status();
    protection->requests_per_ip_per_second = *rate;
  }
  protection->requests_per_ip_burst =
      std::max(1.0, std::ceil(protection->requests_per_ip_per_second));
  if (node["requests_per_ip_burst"]) {
    std::string key = "protection.requests_per_ip_burst";
    absl::StatusOr<int> burst = PositiveInt(node["requests_per_ip_burst"], key);
    if (!burst.ok()) return burst.status();
    protection->requests_per_ip_burst = *burst;
  }
  const std::pair<const char*, absl::Duration*> timeouts[] = {
      {"head_timeout", &protection->head_timeout},
      {"body_timeout", &protection->body_timeout},
      {"idle_timeout", &protection->idle_timeout},
      {"write_timeout", &protection->write_timeout},
  };
  for (const auto& [name, field] : timeouts) {
    if (!node[name]) continue;
    absl::StatusOr<absl::Duration> value =
        Timeout(node[name], absl::StrCat("protection.", name));
    if (!value.ok()) return value.status();
    *field = *value;
  }
  if (node["trusted_proxies"]) {
    absl::StatusOr<CidrSet> trusted =
        TrustedProxies(node["trusted_proxies"], "protection.trusted_proxies");
    if (!trusted.ok()) return trusted.status();
    protection->trusted_proxies = *std::move(trusted);
  }
  const std::pair<const char*, double*> ratios[] = {
      {"shed_fd_ratio", &protection->shed_fd_ratio},
      {"shed_memory_ratio", &protection->shed_memory_ratio},
  };
  for (const auto& [name, field] : ratios) {
    if (!node[name]) continue;
    absl::StatusOr<double> value =
        Number(node[name], absl::StrCat("protection.", name), 0, 1,
               "a ratio from 0 to 1 such as 0.9 (0 = off)");
    if (!value.ok()) return value.status();
    *field = *value;
  }
  if (node["max_memory"]) {
    absl::StatusOr<int64_t> bytes =
        ByteSize(node["max_memory"], "protection.max_memory");
    if (!bytes.ok()) return bytes.status();
    protection->max_memory = *bytes;
  }
  return absl::OkStatus();
}

absl::StatusOr<int> ParseThreads(const YAML::Node& node) {
  absl::StatusOr<std::string> text = Scalar(node, "threads");
  if (!text.ok()) return text.status();
  if (*text == "auto") return std::min(UsableCpuCount(), kMaxThreads);
  int threads = 0;
  if (!absl::SimpleAtoi(*text, &threads) || threads < 1 ||
      threads > kMaxThreads) {
    return KeyError(
        "threads",
        absl::StrCat("'", *text, "' is not auto or 1 to ", kMaxThreads));
  }
  return threads;
}

}  // namespace

absl::Status ParseProtection(const YAML::Node& root, GatewayConfig* config) {
  if (root["protection"]) {
    absl::Status status =
        ParseProtectionSection(root["protection"], &config->protection);
    if (!status.ok()) return status;
  }
  absl::StatusOr<int> threads = root["threads"]
                                    ? ParseThreads(root["threads"])
                                    : std::min(UsableCpuCount(), kMaxThreads);
  if (!threads.ok()) return threads.status();
  config->threads = *threads;
  return absl::OkStatus();
}

}  // namespace aigw
