#include "client/status.h"

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace aigw::client {

namespace {

constexpr char kErrorCodeUrl[] = "type.aigw.dev/error-code";
constexpr char kRetryAfterUrl[] = "type.aigw.dev/retry-after-ms";
constexpr char kUnreachableUrl[] = "type.aigw.dev/unreachable";
constexpr char kSourceUrl[] = "type.aigw.dev/error-source";

}  // namespace

Metadata CopyMetadata(
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata) {
  Metadata copy;
  copy.reserve(metadata.size());
  for (const auto& [key, value] : metadata) {
    copy.emplace_back(std::string(key.data(), key.size()),
                      std::string(value.data(), value.size()));
  }
  return copy;
}

std::string MetadataValue(const Metadata& metadata, const std::string& key) {
  for (const auto& [name, value] : metadata) {
    if (name == key) return value;
  }
  return "";
}

absl::Status FromGrpc(const grpc::Status& status, const Metadata& trailing,
                      bool heard_from_server) {
  if (status.ok()) return absl::OkStatus();
  absl::Status converted(static_cast<absl::StatusCode>(status.error_code()),
                         status.error_message());
  converted = WithGatewayErrorCode(
      std::move(converted), MetadataValue(trailing, "x-aigw-error-code"));
  int64_t seconds = 0;
  std::string retry_after = MetadataValue(trailing, "retry-after");
  if (!retry_after.empty() &&
      absl::SimpleAtoi(absl::StripAsciiWhitespace(retry_after), &seconds) &&
      seconds >= 0) {
    converted.SetPayload(kRetryAfterUrl,
                         absl::Cord(absl::StrCat(seconds * 1000)));
  }
  if (MetadataValue(trailing, "x-aigw-error-source") == "upstream") {
    converted = MarkFromRemoteUpstream(std::move(converted));
  }
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE &&
      !heard_from_server) {
    return MarkUnreachable(std::move(converted));
  }
  return converted;
}

std::string GatewayErrorCode(const absl::Status& status) {
  auto code = status.GetPayload(kErrorCodeUrl);
  return code ? std::string(*code) : "";
}

absl::Duration RetryAfter(const absl::Status& status) {
  auto ms = status.GetPayload(kRetryAfterUrl);
  int64_t value = 0;
  if (!ms || !absl::SimpleAtoi(std::string(*ms), &value)) {
    return absl::Milliseconds(-1);
  }
  return absl::Milliseconds(value);
}

bool Unreachable(const absl::Status& status) {
  return status.GetPayload(kUnreachableUrl).has_value();
}

}  // namespace aigw::client

namespace aigw::client {

absl::Status WithGatewayErrorCode(absl::Status status,
                                  const std::string& code) {
  if (!code.empty()) status.SetPayload(kErrorCodeUrl, absl::Cord(code));
  return status;
}

bool FromRemoteUpstream(const absl::Status& status) {
  return status.GetPayload(kSourceUrl).has_value();
}

absl::Status MarkFromRemoteUpstream(absl::Status status) {
  status.SetPayload(kSourceUrl, absl::Cord("upstream"));
  return status;
}

absl::Status MarkUnreachable(absl::Status status) {
  status.SetPayload(kUnreachableUrl, absl::Cord("1"));
  return status;
}

}  // namespace aigw::client
