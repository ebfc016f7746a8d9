// Binds a cpp-httplib server to HOST:PORT with a real listen backlog: the
// library compiles in a backlog of 5, which resets bursts of connects.
#ifndef AIGW_SERVER_HTTP_LISTENER_H_
#define AIGW_SERVER_HTTP_LISTENER_H_

#include <string>

#include "absl/status/statusor.h"
#include "httplib.h"

namespace aigw {

// Returns the bound port (useful when the config asked for port 0).
absl::StatusOr<int> BindHttpServer(httplib::Server& server,
                                   const std::string& host_port);

// Splits "HOST:PORT" ("[::1]:80" too).
bool SplitHostPort(const std::string& host_port, std::string* host, int* port);

}  // namespace aigw

#endif  // AIGW_SERVER_HTTP_LISTENER_H_
