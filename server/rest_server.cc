#include "server/rest_server.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <thread>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "providers/common/api_error.h"
#include "providers/common/log.h"
#include "providers/common/openai_embeddings_json.h"
#include "providers/common/openai_request_json.h"
#include "providers/common/openai_response_json.h"
#include "server/codecs/anthropic/messages_request.h"
#include "server/codecs/anthropic/messages_response.h"
#include "server/codecs/openai_responses/passthrough_body.h"
#include "server/codecs/openai_responses/responses.h"
#include "server/filters/cors/cors.h"
#include "server/filters/rate_limit/estimator.h"
#include "server/model_catalog.h"
#include "server/observability/request_id.h"

namespace aigw {

// Canonical chunks -> another protocol's SSE events.
class ChunkEncoder {
 public:
  virtual ~ChunkEncoder() = default;
  virtual std::string Encode(const v1::ChatCompletionChunk& chunk) = 0;
  virtual std::string Finish(const absl::Status& status) = 0;
};

template <typename Encoder>
class EncoderOf : public ChunkEncoder {
 public:
  explicit EncoderOf(Encoder encoder) : encoder_(std::move(encoder)) {}
  std::string Encode(const v1::ChatCompletionChunk& chunk) override {
    return encoder_.Encode(chunk);
  }
  std::string Finish(const absl::Status& status) override {
    return encoder_.Finish(status);
  }

 private:
  Encoder encoder_;
};

// How a front door other than OpenAI's chat answers: its error responses,
// its whole-answer body and its stream encoder.
struct AnswerCodec {
  std::function<HttpResponse(const absl::Status&, HttpHeaders)> error;
  std::function<std::string(const v1::ChatCompletion&)> body;
  std::function<std::unique_ptr<ChunkEncoder>()> encoder;
};
namespace {

namespace asio = boost::asio;

constexpr char kJson[] = "application/json";

// Who is calling: the key of `Authorization: Bearer` (OpenAI SDKs),
// `api-key` (Azure SDKs) or `x-api-key` (Anthropic SDKs), and from where.
RequestContext ContextOf(const HttpRequest& req) {
  RequestContext ctx;
  ctx.peer = req.client_ip == req.peer_ip
                 ? absl::StrCat(req.peer_ip, ":", req.peer_port)
                 : req.client_ip;
  ctx.method = std::string(req.method());
  ctx.path = std::string(req.path());
  ctx.bytes_in = req.body().size();
  absl::string_view authorization = req.header("Authorization");
  if (absl::StartsWithIgnoreCase(authorization, "bearer ")) {
    ctx.api_key = std::string(
        absl::StripAsciiWhitespace(authorization.substr(strlen("bearer "))));
  }
  for (const char* header : {"api-key", "x-api-key"}) {
    if (!ctx.api_key.empty()) break;
    ctx.api_key = std::string(req.header(header));
  }
  return ctx;
}

// Tells the client which provider answered, after how many upstream calls
// (retries and fallbacks show here), which fields it left out, the
// upstream's rate-limit headers and the gateway's own (x-ratelimit-* of a
// limited consumer, which win over the upstream's).
void AddCallHeaders(const RequestContext& ctx, HttpHeaders* headers) {
  const CallInfo& info = ctx.info;
  if (!info.provider.empty()) {
    headers->emplace_back("x-aigw-provider", info.provider);
  }
  if (info.attempts > 0) {
    headers->emplace_back("x-aigw-attempts", std::to_string(info.attempts));
  }
  if (!info.dropped_params.empty()) {
    headers->emplace_back("x-aigw-dropped-params",
                          absl::StrJoin(info.dropped_params, ","));
  }
  // A limited consumer sees its own limits only, never the provider
  // account's behind the gateway.
  bool own_limits = false;
  for (const auto& [name, value] : ctx.response_headers) {
    own_limits = own_limits || absl::StartsWithIgnoreCase(name, "x-ratelimit-");
  }
  for (const auto& [name, value] : info.upstream_headers) {
    if (own_limits && absl::StartsWithIgnoreCase(name, "x-ratelimit-")) {
      continue;
    }
    headers->emplace_back(name, value);
  }
  for (const auto& [name, value] : ctx.response_headers) {
    headers->emplace_back(name, value);
  }
}

HttpResponse JsonResponse(int status, std::string body, HttpHeaders headers) {
  HttpResponse response;
  response.status = status;
  response.headers = std::move(headers);
  response.headers.emplace_back("Content-Type", kJson);
  response.body = std::move(body);
  return response;
}

HttpResponse ErrorResponse(const absl::Status& status, HttpHeaders headers) {
  ErrorDetails details = GetErrorDetails(status);
  if (details.retry_after_ms >= 0) {
    headers.emplace_back("Retry-After",
                         std::to_string(RetryAfterSeconds(details)));
  }
  return JsonResponse(details.http_status, ErrorBodyJson(status),
                      std::move(headers));
}

// An error in Anthropic's shape, for the Messages front door.
HttpResponse AnthropicErrorResponse(const absl::Status& status,
                                    HttpHeaders headers) {
  ErrorDetails details = GetErrorDetails(status);
  if (details.retry_after_ms >= 0) {
    headers.emplace_back("Retry-After",
                         std::to_string(RetryAfterSeconds(details)));
  }
  return JsonResponse(anthropic::HttpStatusOf(status),
                      anthropic::ErrorBodyJson(status), std::move(headers));
}

// One model as Anthropic shows it.
nlohmann::json AnthropicModelJson(const v1::Model& model) {
  return {{"type", "model"},
          {"id", model.id()},
          {"display_name", model.id()},
          {"created_at", "2024-01-01T00:00:00Z"}};
}

// GET /v1/models as Anthropic lists models.
std::string AnthropicModelsJson(const v1::ListModelsResponse& models) {
  nlohmann::json data = nlohmann::json::array();
  for (const v1::Model& model : models.data()) {
    data.push_back(AnthropicModelJson(model));
  }
  nlohmann::json list = {{"data", data}, {"has_more", false}};
  list["first_id"] = data.empty() ? nlohmann::json() : data.front()["id"];
  list["last_id"] = data.empty() ? nlohmann::json() : data.back()["id"];
  return list.dump();
}

absl::Status PlainError(int http_status, absl::string_view message,
                        absl::string_view code) {
  ApiErrorSpec spec;
  spec.code = http_status == 403   ? absl::StatusCode::kPermissionDenied
              : http_status == 404 ? absl::StatusCode::kNotFound
              : http_status == 405 ? absl::StatusCode::kUnimplemented
              : http_status == 408 ? absl::StatusCode::kDeadlineExceeded
              : http_status == 429 ? absl::StatusCode::kResourceExhausted
              : http_status == 503 ? absl::StatusCode::kUnavailable
              : http_status >= 500 ? absl::StatusCode::kInternal
                                   : absl::StatusCode::kInvalidArgument;
  spec.http_status = http_status;
  spec.type = http_status == 429   ? "requests"
              : http_status >= 500 ? "server_error"
                                   : "invalid_request_error";
  spec.message = std::string(message);
  spec.error_code = std::string(code);
  return MakeApiError(spec);
}

// The methods each path answers: the Allow header of 405s and OPTIONS, and
// a preflight's Access-Control-Allow-Methods. "" for unknown paths.
std::string AllowedMethods(absl::string_view path) {
  if (path == "/v1/chat/completions" || path == "/v1/embeddings" ||
      path == "/v1/messages" || path == "/v1/messages/count_tokens" ||
      path == "/v1/responses") {
    return "POST, OPTIONS";
  }
  if (path == "/v1/models" ||
      (absl::StartsWith(path, "/v1/models/") && path.size() > 11)) {
    return "GET, HEAD, OPTIONS";
  }
  return "";
}

std::string SseData(absl::string_view payload) {
  return absl::StrCat("data: ", payload, "\n\n");
}

// %XX escapes of a path segment decoded (a model id may carry '/').
std::string PercentDecode(absl::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    int hi = 0, lo = 0;
    auto hex = [](char c, int* v) {
      if (c >= '0' && c <= '9')
        *v = c - '0';
      else if (c >= 'a' && c <= 'f')
        *v = c - 'a' + 10;
      else if (c >= 'A' && c <= 'F')
        *v = c - 'A' + 10;
      else
        return false;
      return true;
    };
    if (in[i] == '%' && i + 2 < in.size() && hex(in[i + 1], &hi) &&
        hex(in[i + 2], &lo)) {
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}

// What every handler answers through: each response carries the request's
// x-request-id, and what was sent (status, bytes, the time the client took
// to accept it) is counted for the access log and the overhead figure.
class ObservedResponder : public HttpResponder {
 public:
  ObservedResponder(HttpResponder& inner, RequestContext& ctx)
      : inner_(inner), ctx_(ctx) {}

  asio::awaitable<bool> Send(HttpResponse response) override {
    Stamp(response);
    ctx_.bytes_out += response.body.size();
    absl::Time from = absl::Now();
    bool sent = co_await inner_.Send(std::move(response));
    ctx_.client_wait += absl::Now() - from;
    co_return sent;
  }
  asio::awaitable<bool> StartChunked(HttpResponse head) override {
    Stamp(head);
    chunked_open_ = true;
    ctx_.bytes_out += head.body.size();
    absl::Time from = absl::Now();
    bool sent = co_await inner_.StartChunked(std::move(head));
    ctx_.client_wait += absl::Now() - from;
    co_return sent;
  }
  asio::awaitable<bool> WriteChunk(absl::string_view data) override {
    ctx_.bytes_out += data.size();
    absl::Time from = absl::Now();
    bool sent = co_await inner_.WriteChunk(data);
    ctx_.client_wait += absl::Now() - from;
    co_return sent;
  }
  asio::awaitable<bool> EndChunked(absl::string_view last) override {
    chunked_open_ = false;
    ctx_.bytes_out += last.size();
    absl::Time from = absl::Now();
    bool sent = co_await inner_.EndChunked(last);
    ctx_.client_wait += absl::Now() - from;
    co_return sent;
  }
  asio::io_context& loop() override { return inner_.loop(); }
  const std::shared_ptr<CancelToken>& cancel() override {
    return inner_.cancel();
  }

  int sent_status() const { return sent_status_; }
  // A chunked response was started and not ended.
  bool chunked_open() const { return chunked_open_; }

 private:
  void Stamp(HttpResponse& response) {
    sent_status_ = response.status;
    response.headers.emplace_back("x-request-id", ctx_.request_id);
  }

  HttpResponder& inner_;
  RequestContext& ctx_;
  int sent_status_ = 0;
  bool chunked_open_ = false;
};

// The operation a path serves, for requests answered before the gateway.
Operation OperationOf(absl::string_view path) {
  if (path == "/v1/chat/completions" || path == "/v1/messages" ||
      path == "/v1/responses") {
    return Operation::kChat;
  }
  if (path == "/v1/embeddings") return Operation::kEmbeddings;
  if (absl::StartsWith(path, "/v1/models")) return Operation::kListModels;
  return Operation::kOther;
}

// Streams chat chunks to the client as SSE: the head goes out with the
// first chunks, in one write; each later batch is one write.
class SseWriter : public StreamWriter {
 public:
  SseWriter(HttpResponder& responder, const RequestContext& ctx,
            const HttpHeaders& cors)
      : responder_(responder), ctx_(ctx), cors_(cors) {}

  asio::awaitable<bool> Write(
      std::vector<v1::ChatCompletionChunk>& chunks) override {
    std::string out;
    for (const v1::ChatCompletionChunk& chunk : chunks) {
      absl::StrAppend(&out, "data: ", ChatChunkToJsonString(chunk), "\n\n");
    }
    if (started_) co_return co_await responder_.WriteChunk(out);
    started_ = true;
    HttpResponse head;
    head.headers = cors_;
    AddCallHeaders(ctx_, &head.headers);
    head.headers.emplace_back("Content-Type", "text/event-stream");
    head.headers.emplace_back("Cache-Control", "no-cache");
    head.headers.emplace_back("X-Accel-Buffering", "no");
    head.body = std::move(out);
    co_return co_await responder_.StartChunked(std::move(head));
  }

  bool started() const { return started_; }

 private:
  HttpResponder& responder_;
  const RequestContext& ctx_;
  const HttpHeaders& cors_;
  bool started_ = false;
};

// Streams chat chunks as the events of another protocol: the encoder (the
// Anthropic Messages or OpenAI Responses codec) turns chunks into SSE text.
class EncodedSseWriter : public StreamWriter {
 public:
  EncodedSseWriter(HttpResponder& responder, const RequestContext& ctx,
                   const HttpHeaders& cors,
                   std::unique_ptr<ChunkEncoder> encoder)
      : responder_(responder),
        ctx_(ctx),
        cors_(cors),
        encoder_(std::move(encoder)) {}

  asio::awaitable<bool> Write(
      std::vector<v1::ChatCompletionChunk>& chunks) override {
    std::string out;
    for (const v1::ChatCompletionChunk& chunk : chunks) {
      out += encoder_->Encode(chunk);
    }
    co_return co_await Send(std::move(out));
  }

  // The last events (the protocol's end, or an error event).
  asio::awaitable<bool> End(const absl::Status& status) {
    std::string out = encoder_->Finish(status);
    if (!started_) {
      co_return co_await Send(std::move(out));
    }
    co_return co_await responder_.EndChunked(out);
  }

  bool started() const { return started_; }

 private:
  asio::awaitable<bool> Send(std::string out) {
    if (started_) co_return co_await responder_.WriteChunk(out);
    started_ = true;
    HttpResponse head;
    head.headers = cors_;
    AddCallHeaders(ctx_, &head.headers);
    head.headers.emplace_back("Content-Type", "text/event-stream");
    head.headers.emplace_back("Cache-Control", "no-cache");
    head.headers.emplace_back("X-Accel-Buffering", "no");
    head.body = std::move(out);
    co_return co_await responder_.StartChunked(std::move(head));
  }

  HttpResponder& responder_;
  const RequestContext& ctx_;
  const HttpHeaders& cors_;
  std::unique_ptr<ChunkEncoder> encoder_;
  bool started_ = false;
};

}  // namespace

RestServer::RestServer(Gateway* gateway, IoLoops* loops, Drain* drain,
                       ProtectionState* protection, Metrics* metrics,
                       const RequestObserver* observer)
    : gateway_(gateway),
      drain_(drain),
      observer_(observer),
      server_(*loops, this, protection, metrics) {}

RestServer::~RestServer() { Stop(); }

absl::StatusOr<int> RestServer::Bind(const std::string& host_port) {
  return server_.Bind(host_port);
}

void RestServer::Start() { server_.Start(); }

void RestServer::StopAccepting() { server_.StopAccepting(); }

void RestServer::Stop() {
  server_.StopAccepting();
  while (!server_.stopped()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

size_t RestServer::MaxBodyBytes() {
  return gateway_->snapshot()->config.limits.max_body_bytes;
}

std::shared_ptr<const ProtectionConfig> RestServer::Protection() {
  std::shared_ptr<const GatewaySnapshot> snapshot = gateway_->snapshot();
  return std::shared_ptr<const ProtectionConfig>(snapshot,
                                                 &snapshot->config.protection);
}

namespace {

// The error of a request the HTTP server refuses itself.
absl::Status RefusalError(int status, absl::string_view message) {
  absl::string_view code = status == 408   ? "request_timeout"
                           : status == 429 ? "rate_limit_exceeded"
                           : status == 503 ? "overloaded"
                           : status == 413 ? "request_too_large"
                           : status == 431 ? "request_header_fields_too_large"
                           : status >= 500 ? "internal_error"
                                           : "invalid_request";
  return PlainError(status, message, code);
}

}  // namespace

HttpResponse RestServer::Refusal(int status, absl::string_view message) {
  // Refused before it was read: its id is a new one.
  return ErrorResponse(RefusalError(status, message),
                       {{"x-request-id", NewRequestId()}});
}

asio::awaitable<void> RestServer::Refuse(HttpRequest& request,
                                         HttpResponder& responder, int status,
                                         absl::string_view message,
                                         absl::Duration retry_after) {
  RequestContext ctx = ContextOf(request);
  ctx.operation = OperationOf(request.path());
  observer_->Begin(ctx, request.header("x-request-id"),
                   request.header("traceparent"), request.header("tracestate"));
  ObservedResponder observed(responder, ctx);
  absl::Status error = RefusalError(status, message);
  int64_t seconds = std::max<int64_t>(
      1, absl::ToInt64Seconds(absl::Ceil(retry_after, absl::Seconds(1))));
  HttpResponse answer =
      ErrorResponse(error, {{"Retry-After", std::to_string(seconds)}});
  co_await observed.Send(std::move(answer));
  observer_->Finish(ctx, error, observed.sent_status());
}

std::optional<HttpResponse> RestServer::HandleOrigin(const HttpRequest& req,
                                                     HttpHeaders* cors) {
  std::string origin(req.header("Origin"));
  std::string methods = AllowedMethods(req.path());
  bool options = req.method() == "OPTIONS";
  if (origin.empty()) {
    if (!options || methods.empty()) return std::nullopt;
    // Not a browser preflight: say what the path answers.
    HttpResponse response;
    response.status = 204;
    response.headers.emplace_back("Allow", methods);
    return response;
  }
  std::shared_ptr<const GatewaySnapshot> snapshot = gateway_->snapshot();
  const CorsConfig& config = snapshot->config.cors;
  if (!CorsOriginAllowed(config, origin)) {
    return ErrorResponse(PlainError(403,
                                    absl::StrCat("Origin ", origin,
                                                 " is not allowed; list it in "
                                                 "cors.allow_origins."),
                                    "origin_not_allowed"),
                         {});
  }
  for (const auto& [name, value] : CorsResponseHeaders(origin)) {
    cors->emplace_back(name, value);
  }
  if (!options || methods.empty()) return std::nullopt;
  HttpResponse response;
  response.status = 204;
  response.headers = *cors;
  for (const auto& [name, value] : CorsPreflightHeaders(
           config, methods,
           std::string(req.header("Access-Control-Request-Headers")))) {
    response.headers.emplace_back(name, value);
  }
  return response;
}

asio::awaitable<void> RestServer::Handle(HttpRequest& request,
                                         HttpResponder& responder) {
  RequestContext ctx = ContextOf(request);
  ctx.operation = OperationOf(request.path());
  observer_->Begin(ctx, request.header("x-request-id"),
                   request.header("traceparent"), request.header("tracestate"));
  ObservedResponder observed(responder, ctx);
  absl::Status result;
  std::string failure;  // what a handler threw
  try {
    result = co_await Route(request, observed, ctx);
  } catch (const std::exception& e) {
    failure = e.what();
    if (failure.empty()) failure = "unknown exception";
  }
  if (!failure.empty()) {
    // Answered as any error is, with the request's id, and recorded.
    Log(LogLevel::kError,
        absl::StrCat("internal error serving ", request.method(), " ",
                     request.path(), ": ", failure),
        {{"method", request.method()},
         {"path", request.path()},
         {"request_id", ctx.request_id},
         {"error", failure}});
    result = PlainError(500, "Internal error.", "internal_error");
    if (observed.chunked_open()) {
      // A stream under way ends with an error event instead of [DONE].
      std::string last = SseData(ErrorBodyJson(result));
      co_await observed.EndChunked(last);
    } else if (observed.sent_status() == 0) {
      HttpResponse answer = ErrorResponse(result, {});
      answer.close = true;
      co_await observed.Send(std::move(answer));
    }
  }
  observer_->Finish(ctx, result, observed.sent_status());
}

asio::awaitable<absl::Status> RestServer::Route(HttpRequest& request,
                                                HttpResponder& responder,
                                                RequestContext& ctx) {
  HttpHeaders cors;
  if (std::optional<HttpResponse> answered = HandleOrigin(request, &cors)) {
    ctx.operation = Operation::kOther;  // a preflight is no GenAI operation
    absl::Status result =
        answered->status == 403
            ? absl::PermissionDeniedError("origin not allowed")
            : absl::OkStatus();
    co_await responder.Send(std::move(*answered));
    co_return result;
  }
  absl::string_view path = request.path();
  absl::string_view method = request.method();
  std::string allowed = AllowedMethods(path);
  if (allowed.empty()) {
    absl::Status error = PlainError(
        404, absl::StrCat("Unknown request URL: ", method, " ", path),
        "unknown_url");
    HttpResponse answer = ErrorResponse(error, cors);
    co_await responder.Send(std::move(answer));
    co_return error;
  }
  bool post = method == "POST";
  bool get = method == "GET" || method == "HEAD";
  bool post_path = absl::StartsWith(allowed, "POST");
  if ((post_path && !post) || (!post_path && !get)) {
    ctx.operation = Operation::kOther;
    HttpHeaders headers = cors;
    headers.emplace_back("Allow", allowed);
    absl::Status error = PlainError(
        405, absl::StrCat("Method ", method, " is not allowed on ", path),
        "method_not_allowed");
    HttpResponse answer = ErrorResponse(error, std::move(headers));
    co_await responder.Send(std::move(answer));
    co_return error;
  }
  if (path == "/v1/chat/completions") {
    co_return co_await HandleChat(request, responder, ctx, std::move(cors));
  }
  if (path == "/v1/embeddings") {
    co_return co_await HandleEmbeddings(request, responder, ctx,
                                        std::move(cors));
  }
  if (path == "/v1/messages") {
    co_return co_await HandleMessages(request, responder, ctx, std::move(cors));
  }
  if (path == "/v1/responses") {
    co_return co_await HandleResponses(request, responder, ctx,
                                       std::move(cors));
  }
  if (path == "/v1/messages/count_tokens") {
    co_return co_await HandleCountTokens(request, responder, ctx,
                                         std::move(cors));
  }
  absl::Status result;
  bool anthropic = !request.header("anthropic-version").empty();
  HttpResponse response =
      path == "/v1/models"
          ? HandleModels(ctx, anthropic, &result)
          : HandleModel(ctx, PercentDecode(path.substr(strlen("/v1/models/"))),
                        anthropic, &result);
  response.headers.insert(response.headers.begin(), cors.begin(), cors.end());
  co_await responder.Send(std::move(response));
  co_return result;
}

HttpResponse RestServer::HandleModels(RequestContext& ctx, bool anthropic,
                                      absl::Status* result) {
  absl::StatusOr<v1::ListModelsResponse> models = gateway_->ListModels(&ctx);
  *result = models.status();
  if (!models.ok()) {
    if (anthropic) return AnthropicErrorResponse(models.status(), {});
    return ErrorResponse(models.status(), {});
  }
  if (anthropic) return JsonResponse(200, AnthropicModelsJson(*models), {});
  return JsonResponse(200, ListModelsToJson(*models).dump(), {});
}

HttpResponse RestServer::HandleModel(RequestContext& ctx, const std::string& id,
                                     bool anthropic, absl::Status* result) {
  absl::StatusOr<v1::Model> model = gateway_->FindModel(id, &ctx);
  *result = model.status();
  if (!model.ok()) {
    if (anthropic) return AnthropicErrorResponse(model.status(), {});
    return ErrorResponse(model.status(), {});
  }
  if (anthropic) {
    return JsonResponse(200, AnthropicModelJson(*model).dump(), {});
  }
  // The list's own writer, so both endpoints show a model alike.
  v1::ListModelsResponse one;
  *one.add_data() = *model;
  return JsonResponse(200, ListModelsToJson(one)["data"][0].dump(), {});
}

absl::Status RestServer::UnlessUnknownCaller(const RequestContext& ctx,
                                             absl::Status body_error) const {
  absl::Status caller = gateway_->Authenticate(ctx);
  return caller.ok() ? body_error : caller;
}

asio::awaitable<absl::Status> RestServer::HandleEmbeddings(
    HttpRequest& req, HttpResponder& responder, RequestContext& ctx,
    HttpHeaders cors) {
  absl::StatusOr<v1::EmbeddingsRequest> request =
      ParseEmbeddingsRequest(req.body());
  if (!request.ok()) {
    absl::Status error = UnlessUnknownCaller(ctx, request.status());
    HttpResponse answer = ErrorResponse(error, std::move(cors));
    co_await responder.Send(std::move(answer));
    co_return error;
  }
  bool base64 = request->encoding_format() == "base64";
  std::shared_ptr<CancelToken> cancel = responder.cancel();
  std::unique_ptr<Drain::Registration> drained = drain_->Track(cancel);
  absl::StatusOr<v1::EmbeddingsResponse> response = co_await gateway_->Embed(
      std::move(*request), responder.loop(), cancel.get(), &ctx);
  drained.reset();
  HttpHeaders headers = std::move(cors);
  AddCallHeaders(ctx, &headers);
  if (EndedByShutdown(*cancel)) {
    response = ServerShutdownError();
  }
  if (!response.ok()) {
    HttpResponse answer = ErrorResponse(response.status(), headers);
    co_await responder.Send(std::move(answer));
    co_return response.status();
  }
  HttpResponse answer = JsonResponse(
      200, EmbeddingsResponseToJsonString(*response, base64), headers);
  co_await responder.Send(std::move(answer));
  co_return absl::OkStatus();
}

asio::awaitable<absl::Status> RestServer::HandleChat(HttpRequest& req,
                                                     HttpResponder& responder,
                                                     RequestContext& ctx,
                                                     HttpHeaders cors) {
  absl::StatusOr<v1::ChatCompletionRequest> request =
      ParseChatRequest(req.body());
  if (!request.ok()) {
    absl::Status error = UnlessUnknownCaller(ctx, request.status());
    HttpResponse answer = ErrorResponse(error, std::move(cors));
    co_await responder.Send(std::move(answer));
    co_return error;
  }
  if (request->stream()) {
    co_return co_await StreamChat(std::move(*request), responder, ctx,
                                  std::move(cors));
  }
  std::shared_ptr<CancelToken> cancel = responder.cancel();
  std::unique_ptr<Drain::Registration> drained = drain_->Track(cancel);
  absl::StatusOr<v1::ChatCompletion> completion = co_await gateway_->Create(
      std::move(*request), responder.loop(), cancel.get(), &ctx);
  drained.reset();
  HttpHeaders headers = std::move(cors);
  AddCallHeaders(ctx, &headers);
  if (EndedByShutdown(*cancel)) completion = ServerShutdownError();
  if (!completion.ok()) {
    HttpResponse answer = ErrorResponse(completion.status(), headers);
    co_await responder.Send(std::move(answer));
    co_return completion.status();
  }
  HttpResponse answer = JsonResponse(
      200,
      ChatCompletionToJson(*completion)
          .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
      headers);
  co_await responder.Send(std::move(answer));
  co_return absl::OkStatus();
}

asio::awaitable<absl::Status> RestServer::StreamChat(
    v1::ChatCompletionRequest chat, HttpResponder& responder,
    RequestContext& ctx, HttpHeaders cors) {
  std::shared_ptr<CancelToken> cancel = responder.cancel();
  std::unique_ptr<Drain::Registration> drained = drain_->Track(cancel);
  // Until the first chunk the status line is not sent, so an early failure
  // is still a plain HTTP error.
  SseWriter writer(responder, ctx, cors);
  absl::Status status = co_await gateway_->Stream(
      std::move(chat), writer, responder.loop(), cancel.get(), &ctx);
  drained.reset();
  // Ended by a shutdown whose grace ran out, the client is still there and
  // gets an error; otherwise a cancelled stream's client left.
  bool shutdown = EndedByShutdown(*cancel);
  if (cancel->cancelled() && !shutdown) {
    co_return absl::CancelledError("the client left");
  }
  if (shutdown) status = ServerShutdownError();
  if (!writer.started()) {
    HttpHeaders headers = cors;
    AddCallHeaders(ctx, &headers);
    if (!status.ok()) {
      HttpResponse answer = ErrorResponse(status, headers);
      co_await responder.Send(std::move(answer));
      co_return status;
    }
    HttpResponse empty;
    empty.headers = headers;
    empty.headers.emplace_back("Content-Type", "text/event-stream");
    empty.body = SseData("[DONE]");
    co_await responder.Send(std::move(empty));
    co_return status;
  }
  // A failure after the first byte ends the stream with an error event
  // instead of [DONE].
  // (Named, not a temporary in the co_await: GCC 12 mishandles those.)
  std::string last = SseData(status.ok() ? "[DONE]" : ErrorBodyJson(status));
  co_await responder.EndChunked(last);
  co_return status;
}

namespace {

// The Anthropic protocol headers a claude provider gets with the body.
void KeepAnthropicHeaders(const HttpRequest& req,
                          v1::ChatCompletionRequest& request) {
  for (const char* name : {"anthropic-beta", "anthropic-version"}) {
    absl::string_view value = req.header(name);
    if (!value.empty()) {
      (*request.mutable_passthrough_headers())[name] = std::string(value);
    }
  }
}

}  // namespace

asio::awaitable<absl::Status> RestServer::HandleMessages(
    HttpRequest& req, HttpResponder& responder, RequestContext& ctx,
    HttpHeaders cors) {
  absl::StatusOr<v1::ChatCompletionRequest> request =
      anthropic::ParseMessagesRequest(req.body());
  if (!request.ok()) {
    absl::Status error = UnlessUnknownCaller(ctx, request.status());
    HttpResponse answer = AnthropicErrorResponse(error, std::move(cors));
    co_await responder.Send(std::move(answer));
    co_return error;
  }
  // A claude provider gets the client's own body and headers.
  request->set_passthrough_protocol("anthropic");
  request->set_passthrough_body(req.body());
  KeepAnthropicHeaders(req, *request);
  std::string model = request->model();
  AnswerCodec codec;
  codec.error = AnthropicErrorResponse;
  codec.body = [model](const v1::ChatCompletion& completion) {
    return anthropic::AnswerBody(completion, model);
  };
  const int64_t input_estimate = EstimatePromptTokens(*request);
  codec.encoder = [model, input_estimate]() -> std::unique_ptr<ChunkEncoder> {
    return std::make_unique<EncoderOf<anthropic::StreamEncoder>>(
        anthropic::StreamEncoder(model, input_estimate));
  };
  co_return co_await AnswerEncoded(std::move(*request), responder, ctx,
                                   std::move(cors), codec);
}

asio::awaitable<absl::Status> RestServer::AnswerEncoded(
    v1::ChatCompletionRequest chat, HttpResponder& responder,
    RequestContext& ctx, HttpHeaders cors, const AnswerCodec& codec) {
  std::shared_ptr<CancelToken> cancel = responder.cancel();
  std::unique_ptr<Drain::Registration> drained = drain_->Track(cancel);
  if (!chat.stream()) {
    absl::StatusOr<v1::ChatCompletion> completion = co_await gateway_->Create(
        std::move(chat), responder.loop(), cancel.get(), &ctx);
    drained.reset();
    HttpHeaders headers = std::move(cors);
    AddCallHeaders(ctx, &headers);
    if (EndedByShutdown(*cancel)) completion = ServerShutdownError();
    if (!completion.ok()) {
      HttpResponse answer = codec.error(completion.status(), headers);
      co_await responder.Send(std::move(answer));
      co_return completion.status();
    }
    HttpResponse answer = JsonResponse(200, codec.body(*completion), headers);
    co_await responder.Send(std::move(answer));
    co_return absl::OkStatus();
  }
  // Both protocols' last event carries the usage: always asked for.
  chat.mutable_stream_options()->set_include_usage(true);
  EncodedSseWriter writer(responder, ctx, cors, codec.encoder());
  absl::Status status = co_await gateway_->Stream(
      std::move(chat), writer, responder.loop(), cancel.get(), &ctx);
  drained.reset();
  bool shutdown = EndedByShutdown(*cancel);
  if (cancel->cancelled() && !shutdown) {
    co_return absl::CancelledError("the client left");
  }
  if (shutdown) status = ServerShutdownError();
  if (!writer.started() && !status.ok()) {
    HttpHeaders headers = cors;
    AddCallHeaders(ctx, &headers);
    HttpResponse answer = codec.error(status, headers);
    co_await responder.Send(std::move(answer));
    co_return status;
  }
  co_await writer.End(status);
  co_return status;
}

// A claude provider counts (the body goes to its count_tokens as sent);
// any other answers the gateway's estimate. Auth and limits apply as to
// any call; counting spends no tokens.
asio::awaitable<absl::Status> RestServer::HandleCountTokens(
    HttpRequest& req, HttpResponder& responder, RequestContext& ctx,
    HttpHeaders cors) {
  absl::StatusOr<v1::ChatCompletionRequest> request =
      anthropic::ParseMessagesRequest(req.body(), /*count_tokens=*/true);
  if (!request.ok()) {
    absl::Status error = UnlessUnknownCaller(ctx, request.status());
    HttpResponse answer = AnthropicErrorResponse(error, std::move(cors));
    co_await responder.Send(std::move(answer));
    co_return error;
  }
  request->clear_stream();  // a count is one JSON answer
  request->set_passthrough_protocol(std::string(kAnthropicCountTokens));
  request->set_passthrough_body(req.body());
  KeepAnthropicHeaders(req, *request);
  AnswerCodec codec;
  codec.error = AnthropicErrorResponse;
  codec.body = [](const v1::ChatCompletion& completion) {
    return completion.passthrough_body();
  };
  co_return co_await AnswerEncoded(std::move(*request), responder, ctx,
                                   std::move(cors), codec);
}

asio::awaitable<absl::Status> RestServer::HandleResponses(
    HttpRequest& req, HttpResponder& responder, RequestContext& ctx,
    HttpHeaders cors) {
  responses::RequestEcho echo;
  echo.owner = responses::ItemOwner(ctx.api_key);
  absl::StatusOr<v1::ChatCompletionRequest> request =
      responses::ParseResponsesRequest(req.body(), &echo);
  // An OpenAI provider gets the client's own body (less what only this
  // gateway knows).
  absl::StatusOr<std::string> passthrough =
      request.ok() ? responses::PassthroughBody(req.body(), echo.owner)
                   : absl::StatusOr<std::string>(request.status());
  if (!passthrough.ok()) {
    absl::Status error = UnlessUnknownCaller(ctx, passthrough.status());
    HttpResponse answer = ErrorResponse(error, std::move(cors));
    co_await responder.Send(std::move(answer));
    co_return error;
  }
  request->set_passthrough_protocol("openai_responses");
  request->set_passthrough_body(std::move(*passthrough));
  AnswerCodec codec;
  codec.error = ErrorResponse;
  codec.body = [echo](const v1::ChatCompletion& completion) {
    return responses::AnswerBody(completion, echo);
  };
  codec.encoder = [echo]() -> std::unique_ptr<ChunkEncoder> {
    return std::make_unique<EncoderOf<responses::StreamEncoder>>(
        responses::StreamEncoder(echo));
  };
  co_return co_await AnswerEncoded(std::move(*request), responder, ctx,
                                   std::move(cors), codec);
}

}  // namespace aigw
