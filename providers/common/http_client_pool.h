// Kept-alive, pooled HTTP(S) connections to one upstream origin. One
// httplib client serves one request at a time, so the pool leases a client
// per request and takes it back afterwards: no TLS handshake per request.
#ifndef AIGW_PROVIDERS_COMMON_HTTP_CLIENT_POOL_H_
#define AIGW_PROVIDERS_COMMON_HTTP_CLIENT_POOL_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "httplib.h"
#include "providers/common/cancel_token.h"
#include "providers/provider.h"
#include "providers/upstream_request.h"

namespace aigw {

struct HttpPoolOptions {
  absl::Duration connect_timeout = absl::Seconds(10);
  absl::Duration read_timeout = absl::Seconds(300);
  std::string ca_file;  // added to the system trust store
  size_t max_idle = 512;
};

// The pool options a provider config asks for (timeouts, CA bundle), the
// same for every adapter.
HttpPoolOptions PoolOptionsFor(const ProviderConfig& config);

// One kept-alive upstream connection (defined in http_client_pool.cc).
class UpstreamConnection;

class HttpClientPool {
 public:
  HttpClientPool(UpstreamEndpoint endpoint, HttpPoolOptions options);
  ~HttpClientPool();

  // Sends `request`. A 2xx body is handed to `on_body` piece by piece as it
  // arrives (return false to stop); any other status is read whole and
  // returned as the gateway error for it. Connect failures are 502, silence
  // longer than the read timeout 504. `cancel` aborts the exchange from
  // another thread by shutting the socket down.
  absl::Status Send(const UpstreamRequest& request,
                    const std::function<bool(absl::string_view)>& on_body,
                    CancelToken* cancel);
  // Also hands the response's x-ratelimit-* headers to `rate_limit_headers`.
  absl::Status Send(
      const UpstreamRequest& request,
      const std::function<bool(absl::string_view)>& on_body,
      CancelToken* cancel,
      std::vector<std::pair<std::string, std::string>>* rate_limit_headers);

  // Sends `request` for a non-streamed answer: the whole 2xx body, errors as
  // Send returns them. A body over `max_bytes` is a malformed answer (502),
  // never a truncated one.
  absl::StatusOr<std::string> SendForBody(const UpstreamRequest& request,
                                          CancelToken* cancel,
                                          size_t max_bytes = 64 << 20);

  // Sends a streamed request through `decoder` (an adapter's stream decoder:
  // Feed, error, Finish, client_gone). Returns the decoder's error when it
  // met one, since an error event inside a 2xx stream (rate limit, bad key)
  // says more than the HTTP status; else Send's status; else, unless the
  // client left, decoder.Finish().
  template <typename Decoder>
  absl::Status SendStream(const UpstreamRequest& request, Decoder& decoder,
                          CancelToken* cancel) {
    absl::Status status = Send(
        request, [&](absl::string_view bytes) { return decoder.Feed(bytes); },
        cancel);
    if (!decoder.error().ok()) return decoder.error();
    if (!status.ok() || decoder.client_gone()) return status;
    return decoder.Finish();
  }

  const UpstreamEndpoint& endpoint() const { return endpoint_; }

 private:
  // An idle connection with nothing unread, else a new one.
  std::unique_ptr<UpstreamConnection> Acquire();
  // Pools a connection whose answer was read completely, unless it holds
  // bytes nobody asked for.
  void Release(std::unique_ptr<UpstreamConnection> connection);
  std::unique_ptr<UpstreamConnection> Connect() const;

  const UpstreamEndpoint endpoint_;
  const HttpPoolOptions options_;
  absl::Mutex mu_;
  std::vector<std::unique_ptr<UpstreamConnection>> idle_ ABSL_GUARDED_BY(mu_);
};

// The pool for a provider's base_url ("" = `default_base_url`; both "" is
// an error) with PoolOptionsFor(config). Errors name the config key:
// "base_url: ...".
absl::StatusOr<std::unique_ptr<HttpClientPool>> MakeUpstreamPool(
    const ProviderConfig& config, absl::string_view default_base_url);

}  // namespace aigw

#endif  // AIGW_PROVIDERS_COMMON_HTTP_CLIENT_POOL_H_
