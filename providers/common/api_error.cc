#include "providers/common/api_error.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace aigw {
namespace {

constexpr absl::string_view kPayloadUrl = "type.aigw.dev/ErrorDetails";

int DefaultHttpStatus(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
      return 400;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kAborted:
      return 409;
    case absl::StatusCode::kResourceExhausted:
      return 429;
    case absl::StatusCode::kCancelled:
      return 499;
    case absl::StatusCode::kUnimplemented:
      return 501;
    case absl::StatusCode::kUnavailable:
      return 502;
    case absl::StatusCode::kDeadlineExceeded:
      return 504;
    default:
      return 500;
  }
}

std::string DefaultType(int http_status) {
  switch (http_status) {
    case 401:
      return "authentication_error";
    case 403:
      return "permission_error";
    case 429:
      return "rate_limit_error";
    case 502:
    case 503:
      return "upstream_error";
    case 504:
      return "timeout_error";
    default:
      return http_status >= 500 ? "server_error" : "invalid_request_error";
  }
}

absl::StatusCode CodeForUpstreamStatus(int http_status) {
  switch (http_status) {
    case 401:
      return absl::StatusCode::kUnauthenticated;
    case 403:
      return absl::StatusCode::kPermissionDenied;
    case 404:
      return absl::StatusCode::kNotFound;
    case 408:
      return absl::StatusCode::kDeadlineExceeded;
    case 429:
      return absl::StatusCode::kResourceExhausted;
    default:
      return http_status >= 500 ? absl::StatusCode::kUnavailable
                                : absl::StatusCode::kInvalidArgument;
  }
}

std::string JsonString(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_integer()) return std::to_string(it->get<long long>());
  return "";
}

// Some upstreams (DashScope) answer a failed streaming request with an SSE
// body (`event:error`, `data:{"code","message"}`): the JSON of its first
// `data:` line is the error. Discarded when there is none.
nlohmann::json SseErrorJson(absl::string_view body) {
  for (absl::string_view line : absl::StrSplit(body, absl::ByAnyChar("\r\n"))) {
    if (absl::ConsumePrefix(&line, "data:")) {
      absl::ConsumePrefix(&line, " ");
      return nlohmann::json::parse(line, nullptr, false);
    }
  }
  return nlohmann::json(nlohmann::json::value_t::discarded);
}

}  // namespace

int64_t RetryAfterSeconds(const ErrorDetails& details) {
  return (std::max<int64_t>(details.retry_after_ms, 0) + 999) / 1000;
}

absl::Status MakeApiError(const ApiErrorSpec& spec) {
  absl::Status status(spec.code, spec.message);
  nlohmann::json details = {
      {"http_status",
       spec.http_status != 0 ? spec.http_status : DefaultHttpStatus(spec.code)},
      {"type", spec.type},
      {"param", spec.param},
      {"code", spec.error_code},
      {"retry_after_ms", spec.retry_after_ms}};
  status.SetPayload(kPayloadUrl, absl::Cord(details.dump()));
  return status;
}

absl::Status InvalidRequest(absl::string_view message, absl::string_view param,
                            absl::string_view error_code) {
  ApiErrorSpec spec;
  spec.code = absl::StatusCode::kInvalidArgument;
  spec.message = std::string(message);
  spec.param = std::string(param);
  spec.error_code = std::string(error_code);
  return MakeApiError(spec);
}

ErrorDetails GetErrorDetails(const absl::Status& status) {
  ErrorDetails details;
  details.http_status = DefaultHttpStatus(status.code());
  auto payload = status.GetPayload(kPayloadUrl);
  if (payload.has_value()) {
    nlohmann::json j =
        nlohmann::json::parse(std::string(*payload), nullptr, false);
    if (j.is_object()) {
      details.http_status = j.value("http_status", details.http_status);
      details.type = j.value("type", "");
      details.param = j.value("param", "");
      details.code = j.value("code", "");
      details.retry_after_ms = j.value("retry_after_ms", int64_t{-1});
    }
  }
  if (details.type.empty()) details.type = DefaultType(details.http_status);
  return details;
}

std::string ErrorBodyJson(const absl::Status& status) {
  ErrorDetails details = GetErrorDetails(status);
  nlohmann::json error = {
      {"message", std::string(status.message())},
      {"type", details.type},
      {"param", details.param.empty() ? nlohmann::json(nullptr)
                                      : nlohmann::json(details.param)},
      {"code", details.code.empty() ? nlohmann::json(nullptr)
                                    : nlohmann::json(details.code)}};
  return nlohmann::json{{"error", std::move(error)}}.dump(
      -1, ' ', false, nlohmann::json::error_handler_t::replace);
}

absl::Status StatusFromUpstreamHttp(int http_status, absl::string_view body,
                                    int64_t retry_after_ms) {
  // A redirect (or any other non-error, non-2xx answer) is the upstream
  // failing to answer: aigw never follows or relays one, since a 3xx
  // would send the client (and its key) elsewhere.
  if (http_status < 400) {
    ApiErrorSpec spec;
    spec.code = absl::StatusCode::kUnavailable;
    spec.http_status = 502;
    spec.type = "upstream_error";
    spec.message = absl::StrCat("upstream answered HTTP ", http_status,
                                " instead of a result (redirects are not "
                                "followed; check base_url)");
    return MakeApiError(spec);
  }
  ApiErrorSpec spec;
  spec.retry_after_ms = retry_after_ms;
  spec.code = CodeForUpstreamStatus(http_status);
  spec.http_status = http_status >= 500 ? 502 : http_status;
  nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded()) j = SseErrorJson(body);
  const nlohmann::json* error = nullptr;
  if (j.is_object()) {
    auto it = j.find("error");
    if (it != j.end() && it->is_object()) error = &*it;
    if (it != j.end() && it->is_string()) spec.message = it->get<std::string>();
    if (error == nullptr && j.contains("message")) error = &j;
  } else if (j.is_array() && !j.empty() && j[0].is_object() &&
             j[0].contains("error")) {
    error = &j[0]["error"];  // some upstreams wrap errors in a list
  }
  if (error != nullptr) {
    spec.message = JsonString(*error, "message");
    spec.type = JsonString(*error, "type");
    spec.param = JsonString(*error, "param");
    spec.error_code = JsonString(*error, "code");
    if (spec.type.empty()) spec.type = JsonString(*error, "status");
  }
  if (spec.message.empty()) {
    std::string text(body.substr(0, 512));
    spec.message = text.empty()
                       ? absl::StrCat("upstream returned HTTP ", http_status)
                       : text;
  }
  if (http_status >= 500) {
    spec.message =
        absl::StrCat("upstream error (HTTP ", http_status, "): ", spec.message);
    spec.type = "upstream_error";
  }
  return MakeApiError(spec);
}

absl::Status UpstreamUnreachable(absl::string_view detail) {
  ApiErrorSpec spec;
  spec.code = absl::StatusCode::kUnavailable;
  spec.http_status = 502;
  spec.message = absl::StrCat("upstream unreachable: ", detail);
  spec.type = "upstream_error";
  return MakeApiError(spec);
}

absl::Status UpstreamTimeout(absl::string_view detail) {
  ApiErrorSpec spec;
  spec.code = absl::StatusCode::kDeadlineExceeded;
  spec.http_status = 504;
  spec.message = absl::StrCat("upstream timed out: ", detail);
  spec.type = "timeout_error";
  return MakeApiError(spec);
}

absl::Status MalformedUpstream(absl::string_view what) {
  ApiErrorSpec spec;
  spec.code = absl::StatusCode::kUnavailable;
  spec.http_status = 502;
  spec.type = "upstream_error";
  spec.message = absl::StrCat("upstream sent a malformed answer: ", what);
  return MakeApiError(spec);
}

namespace {

// Replaces every occurrence of a secret in `text`; true if any was found.
bool Redact(const std::vector<std::string>& secrets, std::string* text) {
  constexpr absl::string_view kRedacted = "[redacted]";
  bool changed = false;
  for (const std::string& secret : secrets) {
    if (secret.size() < 4) continue;
    // The search resumes past the replacement, which may contain the
    // secret itself.
    for (size_t pos = text->find(secret); pos != std::string::npos;
         pos = text->find(secret, pos + kRedacted.size())) {
      text->replace(pos, secret.size(), kRedacted.data(), kRedacted.size());
      changed = true;
    }
    // An upstream text cut at a length limit may end in a key's first part.
    for (size_t n = std::min(secret.size() - 1, text->size()); n >= 4; --n) {
      if (absl::EndsWith(*text, absl::string_view(secret).substr(0, n))) {
        text->replace(text->size() - n, n, kRedacted.data(), kRedacted.size());
        changed = true;
        break;
      }
    }
  }
  return changed;
}

}  // namespace

absl::Status RedactSecrets(const absl::Status& status,
                           const std::vector<std::string>& secrets) {
  if (status.ok()) return status;
  // The message and every payload (the error's type, param and code come
  // from the upstream too) reach clients and logs.
  std::string message(status.message());
  bool changed = Redact(secrets, &message);
  std::vector<std::pair<std::string, std::string>> payloads;
  status.ForEachPayload([&](absl::string_view url, const absl::Cord& payload) {
    std::string text(payload);
    changed = Redact(secrets, &text) || changed;
    payloads.emplace_back(std::string(url), std::move(text));
  });
  if (!changed) return status;
  absl::Status redacted(status.code(), message);
  for (const auto& [url, text] : payloads) {
    redacted.SetPayload(url, absl::Cord(text));
  }
  return redacted;
}

}  // namespace aigw
