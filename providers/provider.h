// The one interface every provider adapter implements: a translator
// without I/O. The adapter builds the upstream request from the canonical
// one and turns upstream bytes into canonical chunks; the data plane
// (server/net) connects, pools, times out, retries and cancels.
#ifndef AIGW_PROVIDERS_PROVIDER_H_
#define AIGW_PROVIDERS_PROVIDER_H_

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "proto/aigw/v1/chat.pb.h"
#include "providers/upstream_request.h"

namespace aigw {

class KeyRing;
namespace client {
class Client;
}  // namespace client

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
  // Delivers one chunk; false means the consumer is gone and the decoder
  // must stop.
  virtual bool Write(v1::ChatCompletionChunk chunk) = 0;
};

// Turns an upstream's streamed body into canonical chunks, whatever the
// byte boundaries.
class StreamDecoder {
 public:
  virtual ~StreamDecoder() = default;
  // The next bytes of the body; false once the sink refused a chunk or the
  // stream carried an error (see error()).
  virtual bool Feed(absl::string_view bytes) = 0;
  // The body ended: OK, or what it lacked (no finish, a cut-off event).
  virtual absl::Status Finish() = 0;
  // An error event inside a 2xx stream (rate limit, bad key): it says more
  // than the HTTP status.
  virtual const absl::Status& error() const = 0;
  virtual bool client_gone() const = 0;
};

// Filled by the adapter while it translates, read by the core once the
// call is made: request fields left out under `unsupported_params: drop`.
struct CallContext {
  // Headers the gateway adds to the upstream request (x-request-id,
  // traceparent): set before the adapter is called.
  std::vector<std::pair<std::string, std::string>> forward_headers;
  std::vector<std::string> dropped_params;
  // Upstream response headers worth relaying to the client (x-ratelimit-*),
  // filled by the data plane.
  std::vector<std::pair<std::string, std::string>> upstream_headers;
  // Time spent waiting for the upstream, filled by the data plane.
  absl::Duration upstream_wait;
  // When the call must be over (the provider's total timeout, the client's
  // own deadline), set by the core: passed on to gRPC upstreams.
  absl::Time deadline = absl::InfiniteFuture();
  // The gateway answered without calling the upstream (a token count's
  // estimate): no upstream attempt, nothing for the provider's breaker.
  bool answered_locally = false;
};

// An answer made without an upstream (the echo provider): its chunks, in
// order, chunk i sent `delays[i]` after the one before (no entry: at once),
// then `status`.
struct LocalAnswer {
  std::vector<v1::ChatCompletionChunk> chunks;
  std::vector<absl::Duration> delays;
  absl::Status status;
};

// The endpoint of a provider's base_url ("" = `default_base_url`; both ""
// is an error). Errors name the config key: "base_url: ...".
absl::StatusOr<UpstreamEndpoint> EndpointFor(
    const ProviderConfig& config, absl::string_view default_base_url);

// passthrough_protocol of an Anthropic count_tokens request: a claude
// provider sends the body to /v1/messages/count_tokens; any other provider
// is not called (the gateway answers its own estimate).
inline constexpr absl::string_view kAnthropicCountTokens =
    "anthropic_count_tokens";

class Provider {
 public:
  virtual ~Provider() = default;

  // Where requests go; null for a provider that answers locally (Local*).
  virtual const UpstreamEndpoint* endpoint() const = 0;
  // A provider reached over aigw.v1 gRPC (type aigw) rather than HTTP:
  // the data plane calls it with this client. Null for every other.
  virtual client::Client* grpc_client() { return nullptr; }
  // The provider's API keys (null: none), leased per attempt by the core.
  virtual KeyRing* keys() { return nullptr; }

  // Whether this adapter sends the client's own body (passthrough_body in
  // the protocol it speaks) rather than translating the canonical fields.
  virtual bool Passthrough(const v1::ChatCompletionRequest&) const {
    return false;
  }
  // Whether this adapter counts an Anthropic count_tokens request with its
  // upstream (ChatRequest and ChatAnswer then speak its counting API);
  // for the others the gateway answers its own estimate.
  virtual bool CountsTokens(const v1::ChatCompletionRequest& request) const {
    return Passthrough(request);
  }

  // Adapters with an upstream implement the Chat* translators (the
  // defaults answer Internal).
  // The upstream request for a chat call with `key` ("" when none is free:
  // a request the upstream cannot take is still a 400). `stream` is what
  // the answer is read as; the adapter always asks for usage.
  virtual absl::StatusOr<UpstreamRequest> ChatRequest(
      const v1::ChatCompletionRequest& request, bool stream,
      absl::string_view key, CallContext& ctx);
  // Whether a non-streamed answer is asked for and read as a stream too
  // (an upstream whose streamed form is the one worth decoding).
  virtual bool completes_by_streaming() const { return false; }
  // The decoder of a streamed chat answer, writing to `sink`. The role in
  // the first chunk, exactly one finish_reason per choice, and a last chunk
  // carrying usage (the core strips it when the client did not ask).
  virtual std::unique_ptr<StreamDecoder> ChatDecoder(
      const v1::ChatCompletionRequest& request, ChunkSink& sink);
  // A non-streamed chat answer's 2xx body.
  virtual absl::StatusOr<v1::ChatCompletion> ChatAnswer(
      const v1::ChatCompletionRequest& request, absl::string_view body);

  // Embeddings, always as floats (the REST front door encodes base64).
  // Providers without an embeddings API keep these defaults: a clear 400.
  virtual absl::StatusOr<UpstreamRequest> EmbeddingsRequest(
      const v1::EmbeddingsRequest& request, absl::string_view key);
  virtual absl::StatusOr<v1::EmbeddingsResponse> EmbeddingsAnswer(
      const v1::EmbeddingsRequest& request, absl::string_view body);

  // For providers without an upstream (endpoint() null).
  virtual absl::StatusOr<LocalAnswer> LocalChat(
      const v1::ChatCompletionRequest& request);
};

}  // namespace aigw

#endif  // AIGW_PROVIDERS_PROVIDER_H_
