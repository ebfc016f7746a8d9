// The OpenAI-compatible REST front door. It only translates: JSON to the
// canonical proto, one call into the Gateway, the answer back to JSON/SSE.
#ifndef AIGW_SERVER_REST_SERVER_H_
#define AIGW_SERVER_REST_SERVER_H_

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "httplib.h"
#include "server/disconnect_watch.h"
#include "server/drain.h"
#include "server/gateway.h"

namespace aigw {

class RestServer {
 public:
  RestServer(Gateway* gateway, DisconnectWatch* disconnect_watch, Drain* drain);
  ~RestServer();

  absl::StatusOr<int> Bind(const std::string& host_port);
  // Serves on a background thread; returns once it accepts connections.
  void Start();
  // Closes the listening socket; requests in flight go on (SIGTERM).
  void StopAccepting();
  // Also waits for every connection to finish.
  void Stop();
  // Every connection is done (after StopAccepting).
  bool stopped() const { return stopped_.load(); }

 private:
  void HandleChat(const httplib::Request& req, httplib::Response& res);
  // A body that does not parse: its error, unless the caller has no valid
  // key, who learns only that (401), as from OpenAI.
  absl::Status UnlessUnknownCaller(const RequestContext& ctx,
                                   absl::Status body_error) const;
  void HandleModels(const httplib::Request& req, httplib::Response& res);
  void HandleModel(const httplib::Request& req, httplib::Response& res);
  // The Origin check and CORS headers; true when it answered the request
  // itself (a preflight, or 403 for an origin not allowed).
  bool HandleOrigin(const httplib::Request& req, httplib::Response& res);
  void HandleEmbeddings(const httplib::Request& req, httplib::Response& res);
  void StreamChat(const httplib::Request& req,
                  v1::ChatCompletionRequest request, httplib::Response& res);

  Gateway* const gateway_;
  DisconnectWatch* const disconnect_watch_;
  Drain* const drain_;
  httplib::Server server_;
  std::thread thread_;
  std::atomic<bool> stopped_{false};
};

}  // namespace aigw

#endif  // AIGW_SERVER_REST_SERVER_H_
