// aigw-cli over the OpenAI-compatible REST API, with cpp-httplib.
#include <httplib.h>

#include <nlohmann/json.hpp>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "client/cli/gateway.h"
#include "client/status.h"
#include "providers/common/sse_framer.h"

namespace aigw::cli {

namespace {

using nlohmann::json;

constexpr char kDefaultTarget[] = "http://127.0.0.1:8080";

absl::StatusCode CodeForHttp(int status) {
  switch (status) {
    case 400:
    case 422:
      return absl::StatusCode::kInvalidArgument;
    case 401:
      return absl::StatusCode::kUnauthenticated;
    case 403:
      return absl::StatusCode::kPermissionDenied;
    case 404:
      return absl::StatusCode::kNotFound;
    case 408:
    case 504:
      return absl::StatusCode::kDeadlineExceeded;
    case 413:
      return absl::StatusCode::kOutOfRange;
    case 429:
      return absl::StatusCode::kResourceExhausted;
    case 499:
      return absl::StatusCode::kCancelled;
    case 500:
      return absl::StatusCode::kInternal;
    default:
      return status >= 500 ? absl::StatusCode::kUnavailable
                           : absl::StatusCode::kUnknown;
  }
}

// An OpenAI error object ({"message","type","code"}) as a status.
absl::Status ErrorFromJson(absl::StatusCode code, const json& error,
                           absl::string_view fallback) {
  std::string message(fallback);
  std::string error_code;
  if (error.is_object()) {
    if (error.contains("message") && error["message"].is_string()) {
      message = error["message"].get<std::string>();
    }
    if (error.contains("code") && error["code"].is_string()) {
      error_code = error["code"].get<std::string>();
    }
  }
  return client::WithGatewayErrorCode(absl::Status(code, message), error_code);
}

// The class of an error event inside a stream, from its type and code, so
// that exit codes match what the same failure gives over gRPC.
absl::StatusCode CodeForStreamError(const json& error) {
  std::string type = error.is_object() ? error.value("type", "") : "";
  std::string code = error.is_object() && error["code"].is_string()
                         ? error.value("code", "")
                         : "";
  if (type == "timeout_error" || code == "timeout") {
    return absl::StatusCode::kDeadlineExceeded;
  }
  if (type == "rate_limit_error" || type == "requests" || type == "tokens" ||
      code == "rate_limit_exceeded" || code == "budget_exhausted") {
    return absl::StatusCode::kResourceExhausted;
  }
  if (type == "authentication_error" || code == "invalid_api_key") {
    return absl::StatusCode::kUnauthenticated;
  }
  if (type == "invalid_request_error")
    return absl::StatusCode::kInvalidArgument;
  return absl::StatusCode::kUnavailable;
}

// A non-2xx answer: its OpenAI error body, or its text.
absl::Status HttpError(int status, const std::string& body) {
  json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
  std::string fallback =
      body.empty() ? absl::StrCat("HTTP ", status) : body.substr(0, 500);
  if (parsed.is_object() && parsed.contains("error")) {
    return ErrorFromJson(CodeForHttp(status), parsed["error"], fallback);
  }
  return absl::Status(CodeForHttp(status), fallback);
}

absl::Status TransportError(httplib::Error error, bool connected) {
  std::string what = httplib::to_string(error);
  if (error == httplib::Error::Connection) what = "the connection failed";
  if (!connected && (error == httplib::Error::Connection ||
                     error == httplib::Error::SSLConnection ||
                     error == httplib::Error::ConnectionTimeout)) {
    return client::MarkUnreachable(absl::UnavailableError(what));
  }
  return absl::UnavailableError(
      absl::StrCat("the connection to the gateway failed: ", what));
}

class RestGateway : public Gateway {
 public:
  explicit RestGateway(const CliOptions& options)
      : target_(options.target.empty() ? kDefaultTarget : options.target),
        client_(Origin(target_)),
        prefix_(PathPrefix(target_)) {
    client_.set_connection_timeout(10, 0);
    client_.set_read_timeout(300, 0);
    client_.set_write_timeout(60, 0);
    if (!options.ca_file.empty()) client_.set_ca_cert_path(options.ca_file);
    if (!options.api_key.empty()) {
      headers_.emplace("Authorization", "Bearer " + options.api_key);
    }
  }

  absl::Status Chat(const CliOptions& options, const std::string& prompt,
                    std::FILE* out) override {
    json body = {{"model", options.model}, {"messages", json::array()}};
    if (!options.system.empty()) {
      body["messages"].push_back(
          {{"role", "system"}, {"content", options.system}});
    }
    body["messages"].push_back({{"role", "user"}, {"content", prompt}});
    if (options.max_tokens) body["max_tokens"] = *options.max_tokens;
    if (options.no_stream) {
      absl::StatusOr<json> answer = PostJson("/chat/completions", body);
      if (!answer.ok()) return answer.status();
      if (options.json) {
        WriteNow(out, answer->dump() + "\n");
      } else {
        WriteNow(out, ContentOf((*answer)["choices"], "message") + "\n");
      }
      return absl::OkStatus();
    }
    body["stream"] = true;
    if (options.json) body["stream_options"] = {{"include_usage", true}};
    return PostStream(body, options.json, out);
  }

  absl::Status Models(const CliOptions& options, std::FILE* out) override {
    httplib::Result result = client_.Get(prefix_ + "/models", headers_);
    if (!result) return TransportError(result.error(), false);
    if (result->status / 100 != 2)
      return HttpError(result->status, result->body);
    if (options.json) {
      WriteNow(out, result->body + "\n");
      return absl::OkStatus();
    }
    json list = json::parse(result->body, nullptr, false);
    if (!list.is_object() || !list["data"].is_array()) {
      return absl::DataLossError("the gateway's model list is not JSON");
    }
    for (const json& model : list["data"]) {
      WriteNow(out, absl::StrCat(model.value("id", ""), "\t",
                                 model.value("owned_by", ""), "\n"));
    }
    return absl::OkStatus();
  }

  absl::Status Embed(const CliOptions& options,
                     const std::vector<std::string>& texts,
                     std::FILE* out) override {
    json body = {{"model", options.model}, {"input", texts}};
    absl::StatusOr<json> answer = PostJson("/embeddings", body);
    if (!answer.ok()) return answer.status();
    if (options.json) {
      WriteNow(out, answer->dump() + "\n");
      return absl::OkStatus();
    }
    for (const json& item : (*answer)["data"]) {
      WriteNow(out, item["embedding"].dump() + "\n");
    }
    return absl::OkStatus();
  }

 private:
  static std::string Origin(const std::string& target) {
    size_t scheme = target.find("://");
    size_t path =
        target.find('/', scheme == std::string::npos ? 0 : scheme + 3);
    return path == std::string::npos ? target : target.substr(0, path);
  }

  // The API's path: "/v1", or the target's own path when it names one
  // (http://host/gateway/v1).
  static std::string PathPrefix(const std::string& target) {
    std::string origin = Origin(target);
    std::string path = target.substr(origin.size());
    while (absl::EndsWith(path, "/")) path.pop_back();
    if (!absl::EndsWith(path, "/v1")) path += "/v1";
    return path;
  }

  static std::string ContentOf(const json& choices, const char* field) {
    if (!choices.is_array() || choices.empty()) return "";
    const json& message = choices[0][field];
    if (message.is_object() && message.contains("content") &&
        message["content"].is_string()) {
      return message["content"].get<std::string>();
    }
    return "";
  }

  absl::StatusOr<json> PostJson(const std::string& path, const json& body) {
    httplib::Result result =
        client_.Post(prefix_ + path, headers_, body.dump(), "application/json");
    if (!result) return TransportError(result.error(), false);
    if (result->status / 100 != 2)
      return HttpError(result->status, result->body);
    json answer = json::parse(result->body, nullptr, false);
    if (!answer.is_object()) {
      return absl::DataLossError("the gateway's answer is not JSON");
    }
    return answer;
  }

  absl::Status PostStream(const json& body, bool raw, std::FILE* out) {
    httplib::Request request;
    request.method = "POST";
    request.path = prefix_ + "/chat/completions";
    request.headers = headers_;
    request.headers.emplace("Accept", "text/event-stream");
    request.set_header("Content-Type", "application/json");
    request.body = body.dump();
    int status = 0;
    std::string error_body;
    absl::Status failure;
    bool done = false;
    bool ended_line = true;
    SseFramer framer;
    std::vector<SseEvent> events;
    request.response_handler = [&](const httplib::Response& response) {
      status = response.status;
      return true;
    };
    request.content_receiver = [&](const char* data, size_t size, uint64_t,
                                   uint64_t) {
      if (status / 100 != 2) {
        error_body.append(data, size);
        return error_body.size() < (1 << 20);
      }
      events.clear();
      framer.Feed(absl::string_view(data, size), &events);
      for (const SseEvent& event : events) {
        if (event.data.empty()) continue;
        if (event.data == "[DONE]") {
          done = true;
          continue;
        }
        json chunk = json::parse(event.data, nullptr, false);
        if (!chunk.is_object()) continue;
        if (chunk.contains("error")) {
          failure = ErrorFromJson(CodeForStreamError(chunk["error"]),
                                  chunk["error"], "the stream failed");
          return false;
        }
        if (raw) {
          WriteNow(out, event.data + "\n");
          continue;
        }
        std::string text = ContentOf(chunk["choices"], "delta");
        if (!text.empty()) {
          WriteNow(out, text);
          ended_line = text.back() == '\n';
        }
      }
      return true;
    };
    httplib::Response response;
    httplib::Error error = httplib::Error::Success;
    bool sent = client_.send(request, response, error);
    if (!raw && !ended_line) WriteNow(out, "\n");
    if (!failure.ok()) return failure;
    if (!sent) {
      if (status / 100 != 2 && status != 0 && !error_body.empty()) {
        return HttpError(status, error_body);
      }
      return TransportError(error, status != 0);
    }
    if (status / 100 != 2) return HttpError(status, error_body);
    if (!done) {
      return absl::UnavailableError("the stream ended before [DONE]");
    }
    return absl::OkStatus();
  }

  std::string target_;
  httplib::Client client_;
  std::string prefix_;
  httplib::Headers headers_;
};

}  // namespace

void WriteNow(std::FILE* out, const std::string& text) {
  std::fwrite(text.data(), 1, text.size(), out);
  std::fflush(out);
}

absl::StatusOr<std::unique_ptr<Gateway>> NewRestGateway(
    const CliOptions& options) {
  std::string target = options.target.empty() ? kDefaultTarget : options.target;
  if (!absl::StartsWith(target, "http://") &&
      !absl::StartsWith(target, "https://")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--target '", target,
        "' must start with http:// or https:// (or add --grpc for host:port)"));
  }
  return std::make_unique<RestGateway>(options);
}

}  // namespace aigw::cli
