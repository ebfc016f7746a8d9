// The OpenAI-compatible REST front door. It only translates: JSON to the
// canonical proto, one call into the Gateway, the answer back to JSON/SSE.
// The connections are the data plane's (server/net/http_server).
#ifndef AIGW_SERVER_REST_SERVER_H_
#define AIGW_SERVER_REST_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "server/drain.h"
#include "server/gateway.h"
#include "server/net/http_server.h"
#include "server/net/io_loops.h"
#include "server/observability/request_observer.h"

namespace aigw {

struct AnswerCodec;  // rest_server.cc

class RestServer : public HttpHandler {
 public:
  RestServer(Gateway* gateway, IoLoops* loops, Drain* drain,
             ProtectionState* protection, Metrics* metrics,
             const RequestObserver* observer);
  ~RestServer() override;

  absl::StatusOr<int> Bind(const std::string& host_port);
  void Start();
  // Closes the listening socket; requests in flight go on (SIGTERM).
  void StopAccepting();
  // Also waits for every connection to finish.
  void Stop();
  // Every connection is done (after StopAccepting).
  bool stopped() const { return server_.stopped(); }

  // HttpHandler:
  boost::asio::awaitable<void> Handle(HttpRequest& request,
                                      HttpResponder& responder) override;
  size_t MaxBodyBytes() override;
  std::shared_ptr<const ProtectionConfig> Protection() override;
  HttpResponse Refusal(int status, absl::string_view message) override;
  boost::asio::awaitable<void> Refuse(HttpRequest& request,
                                      HttpResponder& responder, int status,
                                      absl::string_view message,
                                      absl::Duration retry_after) override;

 protected:
  // Each answers the request and returns its result (for the access log
  // and the metrics); `ctx` is the request's from Handle. Virtual for
  // tests only: one that throws stands in for a bug in a handler.
  virtual boost::asio::awaitable<absl::Status> Route(HttpRequest& request,
                                                     HttpResponder& responder,
                                                     RequestContext& ctx);

 private:
  boost::asio::awaitable<absl::Status> HandleChat(HttpRequest& request,
                                                  HttpResponder& responder,
                                                  RequestContext& ctx,
                                                  HttpHeaders cors);
  boost::asio::awaitable<absl::Status> StreamChat(
      v1::ChatCompletionRequest chat, HttpResponder& responder,
      RequestContext& ctx, HttpHeaders cors);
  boost::asio::awaitable<absl::Status> HandleEmbeddings(
      HttpRequest& request, HttpResponder& responder, RequestContext& ctx,
      HttpHeaders cors);
  // Anthropic Messages (server/codecs/anthropic): POST /v1/messages and
  // /v1/messages/count_tokens.
  boost::asio::awaitable<absl::Status> HandleMessages(HttpRequest& request,
                                                      HttpResponder& responder,
                                                      RequestContext& ctx,
                                                      HttpHeaders cors);
  // OpenAI Responses (server/codecs/openai_responses): POST /v1/responses.
  boost::asio::awaitable<absl::Status> HandleResponses(HttpRequest& request,
                                                       HttpResponder& responder,
                                                       RequestContext& ctx,
                                                       HttpHeaders cors);
  // Answers `chat` in another protocol's shapes (a whole answer, or its
  // stream events): the Messages and Responses front doors.
  boost::asio::awaitable<absl::Status> AnswerEncoded(
      v1::ChatCompletionRequest chat, HttpResponder& responder,
      RequestContext& ctx, HttpHeaders cors, const AnswerCodec& codec);
  boost::asio::awaitable<absl::Status> HandleCountTokens(
      HttpRequest& request, HttpResponder& responder, RequestContext& ctx,
      HttpHeaders cors);
  // `anthropic`: the list in Anthropic's shape (the client sent
  // anthropic-version).
  HttpResponse HandleModels(RequestContext& ctx, bool anthropic,
                            absl::Status* result);
  HttpResponse HandleModel(RequestContext& ctx, const std::string& id,
                           bool anthropic, absl::Status* result);
  // The Origin check and CORS headers (into `cors`); an answer when it
  // answers the request itself (a preflight, or 403 for an origin not
  // allowed).
  std::optional<HttpResponse> HandleOrigin(const HttpRequest& request,
                                           HttpHeaders* cors);
  // A body that does not parse: its error, unless the caller has no valid
  // key, who learns only that (401), as from OpenAI.
  absl::Status UnlessUnknownCaller(const RequestContext& ctx,
                                   absl::Status body_error) const;

  Gateway* const gateway_;
  Drain* const drain_;
  const RequestObserver* const observer_;
  HttpServer server_;
};

}  // namespace aigw

#endif  // AIGW_SERVER_REST_SERVER_H_
