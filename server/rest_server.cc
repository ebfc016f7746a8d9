#include "server/rest_server.h"

#include <chrono>
#include <cstring>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "providers/common/api_error.h"
#include "providers/common/openai_embeddings_json.h"
#include "providers/common/openai_request_json.h"
#include "providers/common/openai_response_json.h"
#include "server/elastic_thread_pool.h"
#include "server/filters/cors/cors.h"
#include "server/http_listener.h"
#include "server/model_catalog.h"
#include "server/stream_fiber.h"

namespace aigw {
namespace {

constexpr size_t kMaxConnections = 20000;
constexpr size_t kMaxBodyCeiling = 64 << 20;

// Who is calling: the key of `Authorization: Bearer` (OpenAI SDKs),
// `api-key` (Azure SDKs) or `x-api-key` (Anthropic SDKs), and from where.
RequestContext ContextOf(const httplib::Request& req) {
  RequestContext ctx;
  ctx.peer = absl::StrCat(req.remote_addr, ":", req.remote_port);
  const std::string authorization = req.get_header_value("Authorization");
  if (absl::StartsWithIgnoreCase(authorization, "bearer ")) {
    ctx.api_key = std::string(absl::StripAsciiWhitespace(
        absl::string_view(authorization).substr(strlen("bearer "))));
  }
  for (const char* header : {"api-key", "x-api-key"}) {
    if (!ctx.api_key.empty()) break;
    ctx.api_key = req.get_header_value(header);
  }
  return ctx;
}

// Tells the client which provider answered, after how many upstream calls
// (retries and fallbacks show here), which fields it left out, the
// upstream's rate-limit headers and the gateway's own (x-ratelimit-* of a
// limited consumer, which win over the upstream's).
void SetCallHeaders(httplib::Response& res, const RequestContext& ctx) {
  const CallInfo& info = ctx.info;
  if (!info.provider.empty()) res.set_header("x-aigw-provider", info.provider);
  if (info.attempts > 0) {
    res.set_header("x-aigw-attempts", std::to_string(info.attempts));
  }
  if (!info.dropped_params.empty()) {
    res.set_header("x-aigw-dropped-params",
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
    res.set_header(name, value);
  }
  for (const auto& [name, value] : ctx.response_headers) {
    res.set_header(name, value);
  }
}

void WriteError(httplib::Response& res, const absl::Status& status) {
  ErrorDetails details = GetErrorDetails(status);
  res.status = details.http_status;
  if (details.retry_after_ms >= 0) {
    res.set_header("Retry-After", std::to_string(RetryAfterSeconds(details)));
  }
  res.set_content(ErrorBodyJson(status), "application/json");
}

absl::Status PlainError(int http_status, absl::string_view message,
                        absl::string_view code) {
  ApiErrorSpec spec;
  spec.code = http_status == 403   ? absl::StatusCode::kPermissionDenied
              : http_status == 404 ? absl::StatusCode::kNotFound
              : http_status == 405 ? absl::StatusCode::kUnimplemented
                                   : absl::StatusCode::kInvalidArgument;
  spec.http_status = http_status;
  spec.type = "invalid_request_error";
  spec.message = std::string(message);
  spec.error_code = std::string(code);
  return MakeApiError(spec);
}

absl::Status BodyTooLarge(size_t limit) {
  return PlainError(
      413, absl::StrCat("Request body exceeds the limit of ", limit, " bytes."),
      "request_too_large");
}

// The methods each path answers: the Allow header of 405s and OPTIONS, and
// a preflight's Access-Control-Allow-Methods. "" for unknown paths.
std::string AllowedMethods(const std::string& path) {
  if (path == "/v1/chat/completions" || path == "/v1/embeddings") {
    return "POST, OPTIONS";
  }
  if (path == "/v1/models" || absl::StartsWith(path, "/v1/models/")) {
    return "GET, HEAD, OPTIONS";
  }
  return "";
}

std::string SseData(absl::string_view payload) {
  return absl::StrCat("data: ", payload, "\n\n");
}

// Writes one stream to the client; httplib's content provider callback
// holds it until the response is done.
class SseResponder {
 public:
  SseResponder(std::unique_ptr<DisconnectWatch::Registration> watch,
               std::unique_ptr<Drain::Registration> drained,
               std::unique_ptr<StreamFiber> fiber)
      : watch_(std::move(watch)),
        drained_(std::move(drained)),
        fiber_(std::move(fiber)) {}

  bool Run(httplib::DataSink& sink) {
    absl::Status status =
        fiber_->RunToEnd([&sink](const v1::ChatCompletionChunk& chunk) {
          std::string event = SseData(ChatChunkToJsonString(chunk));
          return sink.write(event.data(), event.size());
        });
    // Ended by a shutdown whose grace ran out, the client is still there and
    // gets an error event; otherwise a cancelled stream's client left.
    bool shutdown = EndedByShutdown(*fiber_->cancel());
    if (fiber_->cancel()->cancelled() && !shutdown) return false;
    if (shutdown) status = ServerShutdownError();
    // A failure after the first byte ends the stream with an error event
    // instead of [DONE].
    std::string last = SseData(status.ok() ? "[DONE]" : ErrorBodyJson(status));
    if (!sink.write(last.data(), last.size())) return false;
    sink.done();
    return true;
  }

 private:
  // Destroyed after the fiber has unwound.
  std::unique_ptr<DisconnectWatch::Registration> watch_;
  std::unique_ptr<Drain::Registration> drained_;
  std::unique_ptr<StreamFiber> fiber_;
};

}  // namespace

RestServer::RestServer(Gateway* gateway, DisconnectWatch* disconnect_watch,
                       Drain* drain)
    : gateway_(gateway), disconnect_watch_(disconnect_watch), drain_(drain) {
  server_.new_task_queue = [] {
    return new ElasticThreadPool(kMaxConnections);
  };
  server_.set_keep_alive_max_count(1 << 30);
  server_.set_keep_alive_timeout(5);
  server_.set_read_timeout(60, 0);
  server_.set_write_timeout(60, 0);
  server_.set_tcp_nodelay(true);
  // limits.max_body_bytes can change on reload, so it is checked per
  // request (below); this is only the ceiling for bodies sent chunked.
  server_.set_payload_max_length(kMaxBodyCeiling);
  server_.set_pre_routing_handler([this](const httplib::Request& req,
                                         httplib::Response& res) {
    if (HandleOrigin(req, res))
      return httplib::Server::HandlerResponse::Handled;
    size_t limit = gateway_->snapshot()->config.limits.max_body_bytes;
    uint64_t length = 0;
    if (!absl::SimpleAtoi(req.get_header_value("Content-Length"), &length) ||
        length <= limit) {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    WriteError(res, BodyTooLarge(limit));
    res.set_header("Connection", "close");  // its body stays unread
    return httplib::Server::HandlerResponse::Handled;
  });

  server_.Post("/v1/chat/completions",
               [this](const httplib::Request& req, httplib::Response& res) {
                 HandleChat(req, res);
               });
  server_.Post("/v1/embeddings",
               [this](const httplib::Request& req, httplib::Response& res) {
                 HandleEmbeddings(req, res);
               });
  server_.Get("/v1/models",
              [this](const httplib::Request& req, httplib::Response& res) {
                HandleModels(req, res);
              });
  server_.Get(R"(/v1/models/(.+))",
              [this](const httplib::Request& req, httplib::Response& res) {
                HandleModel(req, res);
              });
  auto method_not_allowed = [](const httplib::Request& req,
                               httplib::Response& res) {
    res.set_header("Allow", AllowedMethods(req.path));
    WriteError(res, PlainError(405,
                               absl::StrCat("Method ", req.method,
                                            " is not allowed on ", req.path),
                               "method_not_allowed"));
  };
  server_.Get("/v1/chat/completions", method_not_allowed);
  server_.Get("/v1/embeddings", method_not_allowed);
  server_.Post("/v1/models", method_not_allowed);
  server_.Post(R"(/v1/models/(.+))", method_not_allowed);
  for (const char* path : {"/v1/chat/completions", "/v1/embeddings",
                           "/v1/models", R"(/v1/models/(.+))"}) {
    server_.Put(path, method_not_allowed);
    server_.Delete(path, method_not_allowed);
    server_.Patch(path, method_not_allowed);
  }
  // Errors httplib produces itself (unknown path, body too large, bad
  // request line) get OpenAI's error body too.
  server_.set_error_handler([this](const httplib::Request& req,
                                   httplib::Response& res) {
    if (!res.body.empty()) return;
    if (res.status == 404) {
      WriteError(res, PlainError(404,
                                 absl::StrCat("Unknown request URL: ",
                                              req.method, " ", req.path),
                                 "unknown_url"));
    } else if (res.status == 413) {
      size_t limit = gateway_->snapshot()->config.limits.max_body_bytes;
      uint64_t length = 0;
      bool within_limit =
          absl::SimpleAtoi(req.get_header_value("Content-Length"), &length) &&
          length <= limit;
      // httplib caps form-encoded bodies on its own (curl -d without a
      // content type): say what is really wrong.
      WriteError(res, within_limit
                          ? PlainError(413,
                                       "The request body could not be read: "
                                       "send it as JSON with Content-Type: "
                                       "application/json.",
                                       "invalid_body")
                          : BodyTooLarge(limit));
    } else {
      WriteError(res, PlainError(res.status,
                                 absl::StrCat("HTTP error ", res.status), ""));
    }
  });
}

RestServer::~RestServer() { Stop(); }

absl::StatusOr<int> RestServer::Bind(const std::string& host_port) {
  return BindHttpServer(server_, host_port);
}

void RestServer::Start() {
  thread_ = std::thread([this] {
    server_.listen_after_bind();
    stopped_.store(true);
  });
  // httplib's stop() does nothing before its accept loop runs: a Stop()
  // right after Start() (another listener failed to bind) would hang.
  while (!server_.is_running() && !stopped_.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

void RestServer::StopAccepting() { server_.stop(); }

void RestServer::Stop() {
  server_.stop();
  if (thread_.joinable()) thread_.join();
}

bool RestServer::HandleOrigin(const httplib::Request& req,
                              httplib::Response& res) {
  std::string origin = req.get_header_value("Origin");
  std::string methods = AllowedMethods(req.path);
  if (origin.empty()) {
    if (req.method != "OPTIONS") return false;
    // Not a browser preflight: say what the path answers.
    if (methods.empty()) return false;  // 404 as for any unknown path
    res.status = 204;
    res.set_header("Allow", methods);
    return true;
  }
  std::shared_ptr<const GatewaySnapshot> snapshot = gateway_->snapshot();
  const CorsConfig& cors = snapshot->config.cors;
  if (!CorsOriginAllowed(cors, origin)) {
    WriteError(res, PlainError(403,
                               absl::StrCat("Origin ", origin,
                                            " is not allowed; list it in "
                                            "cors.allow_origins."),
                               "origin_not_allowed"));
    return true;
  }
  for (const auto& [name, value] : CorsResponseHeaders(origin)) {
    res.set_header(name, value);
  }
  if (req.method != "OPTIONS") return false;
  if (methods.empty()) return false;
  for (const auto& [name, value] : CorsPreflightHeaders(
           cors, methods,
           req.get_header_value("Access-Control-Request-Headers"))) {
    res.set_header(name, value);
  }
  res.status = 204;
  return true;
}

void RestServer::HandleModels(const httplib::Request& req,
                              httplib::Response& res) {
  RequestContext ctx = ContextOf(req);
  absl::StatusOr<v1::ListModelsResponse> models = gateway_->ListModels(&ctx);
  if (!models.ok()) return WriteError(res, models.status());
  res.set_content(ListModelsToJson(*models).dump(), "application/json");
}

void RestServer::HandleModel(const httplib::Request& req,
                             httplib::Response& res) {
  RequestContext ctx = ContextOf(req);
  absl::StatusOr<v1::Model> model =
      gateway_->FindModel(req.matches[1].str(), &ctx);
  if (!model.ok()) return WriteError(res, model.status());
  // The list's own writer, so both endpoints show a model alike.
  v1::ListModelsResponse one;
  *one.add_data() = *model;
  res.set_content(ListModelsToJson(one)["data"][0].dump(), "application/json");
}

absl::Status RestServer::UnlessUnknownCaller(const RequestContext& ctx,
                                             absl::Status body_error) const {
  absl::Status caller = gateway_->Authenticate(ctx);
  return caller.ok() ? body_error : caller;
}

void RestServer::HandleEmbeddings(const httplib::Request& req,
                                  httplib::Response& res) {
  size_t limit = gateway_->snapshot()->config.limits.max_body_bytes;
  if (req.body.size() > limit) return WriteError(res, BodyTooLarge(limit));
  RequestContext ctx = ContextOf(req);
  absl::StatusOr<v1::EmbeddingsRequest> request =
      ParseEmbeddingsRequest(req.body);
  if (!request.ok())
    return WriteError(res, UnlessUnknownCaller(ctx, request.status()));
  bool base64 = request->encoding_format() == "base64";
  auto cancel = std::make_shared<CancelToken>();
  std::unique_ptr<DisconnectWatch::Registration> watch =
      disconnect_watch_->WatchHttp(req, [cancel] { cancel->Cancel(); });
  std::unique_ptr<Drain::Registration> drained = drain_->Track(cancel);
  absl::StatusOr<v1::EmbeddingsResponse> response =
      gateway_->Embed(std::move(*request), cancel.get(), &ctx);
  SetCallHeaders(res, ctx);
  if (EndedByShutdown(*cancel)) return WriteError(res, ServerShutdownError());
  if (!response.ok()) return WriteError(res, response.status());
  res.set_content(EmbeddingsResponseToJsonString(*response, base64),
                  "application/json");
}

void RestServer::HandleChat(const httplib::Request& req,
                            httplib::Response& res) {
  size_t limit = gateway_->snapshot()->config.limits.max_body_bytes;
  if (req.body.size() > limit) return WriteError(res, BodyTooLarge(limit));
  absl::StatusOr<v1::ChatCompletionRequest> request =
      ParseChatRequest(req.body);
  if (!request.ok()) {
    return WriteError(res,
                      UnlessUnknownCaller(ContextOf(req), request.status()));
  }
  if (request->stream()) return StreamChat(req, std::move(*request), res);

  auto cancel = std::make_shared<CancelToken>();
  std::unique_ptr<DisconnectWatch::Registration> watch =
      disconnect_watch_->WatchHttp(req, [cancel] { cancel->Cancel(); });
  std::unique_ptr<Drain::Registration> drained = drain_->Track(cancel);
  RequestContext ctx = ContextOf(req);
  absl::StatusOr<v1::ChatCompletion> completion =
      gateway_->Create(std::move(*request), cancel.get(), &ctx);
  SetCallHeaders(res, ctx);
  if (EndedByShutdown(*cancel)) return WriteError(res, ServerShutdownError());
  if (!completion.ok()) return WriteError(res, completion.status());
  res.set_content(
      ChatCompletionToJson(*completion)
          .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
      "application/json");
}

void RestServer::StreamChat(const httplib::Request& req,
                            v1::ChatCompletionRequest request,
                            httplib::Response& res) {
  auto fiber = std::make_unique<StreamFiber>(gateway_, std::move(request),
                                             ContextOf(req));
  // Until the first chunk the status line is not sent, so an early failure
  // is still a plain HTTP error. A client that leaves meanwhile, or later
  // while the upstream is silent, cancels the upstream call.
  std::unique_ptr<DisconnectWatch::Registration> watch =
      disconnect_watch_->WatchHttp(
          req, [cancel = fiber->cancel()] { cancel->Cancel(); });
  std::unique_ptr<Drain::Registration> drained = drain_->Track(fiber->cancel());
  bool streaming = fiber->RunToFirstChunk();
  SetCallHeaders(res, fiber->context());
  if (!streaming) {
    if (EndedByShutdown(*fiber->cancel())) {
      return WriteError(res, ServerShutdownError());
    }
    if (!fiber->status().ok()) return WriteError(res, fiber->status());
    res.set_content(SseData("[DONE]"), "text/event-stream");
    return;
  }
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");
  auto responder = std::make_shared<SseResponder>(
      std::move(watch), std::move(drained), std::move(fiber));
  res.set_chunked_content_provider(
      "text/event-stream", [responder](size_t, httplib::DataSink& sink) {
        return responder->Run(sink);
      });
}

}  // namespace aigw
