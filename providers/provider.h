// The one interface every provider adapter implements. The gateway core has
// already validated the request and mapped `request.model` to the upstream
// model name; adapters translate to their upstream's protocol and stream
// canonical chunks back.
#ifndef AIGW_PROVIDERS_PROVIDER_H_
#define AIGW_PROVIDERS_PROVIDER_H_

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "proto/aigw/v1/chat.pb.h"
#include "providers/common/cancel_token.h"

namespace aigw {

// A standing chat context: text prepended as the first system message of
// every request (used by the gateway core, not by adapters).
struct ContextConfig {
  std::string file;
  std::string url;  // http(s), fetched in the background
  absl::Duration refresh = absl::Seconds(60);
  bool empty() const { return file.empty() && url.empty(); }
};

// What an adapter does with a request field its upstream cannot express
// when the client sent a value that would change the answer (`n: 2`,
// `seed`): leave it out and report it (x-aigw-dropped-params), or answer
// 400 naming it. Neutral values (`n: 1`, zero penalties) are never either.
enum class UnsupportedParams { kDrop, kReject };

// One `providers:` entry of the config, validated and with ${VAR} expanded.
struct ProviderConfig {
  std::string name;
  std::string type;
  std::string base_url;  // "" = the type's public default
  std::vector<std::string> api_keys;
  std::vector<std::pair<std::string, std::string>> model_mapping;  // in order
  std::vector<std::string> models;
  absl::Duration connect_timeout = absl::Seconds(10);
  absl::Duration read_timeout = absl::Seconds(300);  // max silence ("idle")
  // Enforced by the gateway core; zero = none. A whole call (a stream
  // included) is bounded by default: an endless upstream stream must not
  // hold a client and an upstream connection forever.
  absl::Duration first_byte_timeout = absl::ZeroDuration();
  absl::Duration total_timeout = absl::Minutes(30);
  ContextConfig context;
  std::string ca_file;  // extra CA bundle for TLS verification
  std::map<std::string, std::string> options;  // type-specific scalar keys
  // The provider's own `unsupported_params`, else the global one.
  UnsupportedParams unsupported_params = UnsupportedParams::kDrop;
};

class ChunkSink {
 public:
  virtual ~ChunkSink() = default;
  // Delivers one chunk; false means the consumer is gone and the provider
  // must stop (and release its upstream connection).
  virtual bool Write(v1::ChatCompletionChunk chunk) = 0;
};

struct CallContext {
  CancelToken* cancel = nullptr;  // never null inside a provider call
  // Filled by the adapter, read by the front door once the call is made:
  // request fields left out under `unsupported_params: drop`, and upstream
  // response headers worth relaying to the client (x-ratelimit-*).
  std::vector<std::string> dropped_params;
  std::vector<std::pair<std::string, std::string>> upstream_headers;
};

class Provider {
 public:
  virtual ~Provider() = default;
  // Streams the answer chunk by chunk: the role in the first chunk, exactly
  // one finish_reason per choice, and a last chunk carrying usage (the core
  // strips it when the client did not ask for it).
  virtual absl::Status Stream(const v1::ChatCompletionRequest& request,
                              CallContext& ctx, ChunkSink& sink) = 0;
  virtual absl::StatusOr<v1::ChatCompletion> Complete(
      const v1::ChatCompletionRequest& request, CallContext& ctx) = 0;
  // Embeddings, always as floats (the REST front door encodes base64).
  // Providers without an embeddings API keep this default: a clear 400.
  virtual absl::StatusOr<v1::EmbeddingsResponse> Embed(
      const v1::EmbeddingsRequest& request, CallContext& ctx);
};

}  // namespace aigw

#endif  // AIGW_PROVIDERS_PROVIDER_H_
