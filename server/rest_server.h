// The OpenAI-compatible REST front door. It only translates: JSON to the
// canonical proto, one call into the Gateway, the answer back to JSON/SSE.
#ifndef AIGW_SERVER_REST_SERVER_H_
#define AIGW_SERVER_REST_SERVER_H_

#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "httplib.h"
#include "server/disconnect_watch.h"
#include "server/gateway.h"

namespace aigw {

class RestServer {
 public:
  RestServer(Gateway* gateway, DisconnectWatch* disconnect_watch);
  ~RestServer();

  absl::StatusOr<int> Bind(const std::string& host_port);
  void Start();  // serves on a background thread
  void Stop();

 private:
  void HandleChat(const httplib::Request& req, httplib::Response& res);
  void HandleModels(const httplib::Request& req, httplib::Response& res);
  void HandleEmbeddings(const httplib::Request& req, httplib::Response& res);
  void StreamChat(const httplib::Request& req,
                  v1::ChatCompletionRequest request, httplib::Response& res);

  Gateway* const gateway_;
  DisconnectWatch* const disconnect_watch_;
  httplib::Server server_;
  std::thread thread_;
};

}  // namespace aigw

#endif  // AIGW_SERVER_REST_SERVER_H_
