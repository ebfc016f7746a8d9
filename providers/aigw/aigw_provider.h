// The `aigw` provider: another aigw, or any server of aigw.v1.ChatCompletions,
// reached over gRPC. The canonical request goes as it is (the model
// mapped); the data plane (server/net/grpc_upstream) makes the call with
// the client library, so an adapter can run as its own process or pod and
// be routed to like any provider.
//
//   - {name: remote, type: aigw, target: "10.0.0.5:9090", tls: false,
//      api_keys: ["${REMOTE_KEY}"]}
#ifndef AIGW_PROVIDERS_AIGW_AIGW_PROVIDER_H_
#define AIGW_PROVIDERS_AIGW_AIGW_PROVIDER_H_

#include <memory>
#include <string>

#include "client/aigw_client.h"
#include "providers/common/key_ring.h"
#include "providers/provider.h"

namespace aigw {

class AigwProvider : public Provider {
 public:
  AigwProvider(std::unique_ptr<client::Client> client,
               std::unique_ptr<KeyRing> keys);

  // Not an HTTP upstream: grpc_client() is how it is called.
  const UpstreamEndpoint* endpoint() const override { return nullptr; }
  client::Client* grpc_client() override { return client_.get(); }
  KeyRing* keys() override { return keys_.get(); }

 private:
  const std::unique_ptr<client::Client> client_;
  const std::unique_ptr<KeyRing> keys_;
};

// The provider for one `type: aigw` config entry. Errors name the key.
absl::StatusOr<std::unique_ptr<Provider>> CreateAigwProvider(
    const ProviderConfig& config);

}  // namespace aigw

#endif  // AIGW_PROVIDERS_AIGW_AIGW_PROVIDER_H_
