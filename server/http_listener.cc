#include "server/http_listener.h"

#include <sys/socket.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace aigw {

bool SplitHostPort(const std::string& host_port, std::string* host, int* port) {
  size_t colon = host_port.rfind(':');
  if (colon == std::string::npos) return false;
  *host = host_port.substr(0, colon);
  if (host->size() >= 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  return absl::SimpleAtoi(host_port.substr(colon + 1), port) && *port >= 0 &&
         *port <= 65535;
}

absl::StatusOr<int> BindHttpServer(httplib::Server& server,
                                   const std::string& host_port) {
  std::string host;
  int port = 0;
  if (!SplitHostPort(host_port, &host, &port)) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", host_port, "' is not HOST:PORT"));
  }
  int listen_fd = -1;
  server.set_socket_options([&listen_fd](socket_t fd) {
    int yes = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    listen_fd = fd;
  });
  int bound = port;
  if (port == 0) {
    bound = server.bind_to_any_port(host);
  } else if (!server.bind_to_port(host, port)) {
    bound = -1;
  }
  if (bound <= 0 || listen_fd < 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", host_port,
                                               ": address in use or "
                                               "not available"));
  }
  ::listen(listen_fd, SOMAXCONN);
  return bound;
}

}  // namespace aigw
