// One request as the pipeline sees it. A front door (REST, gRPC) fills in
// who is calling and how; the filters and the router fill in what they
// decided and learned; the front door then tells its client (headers,
// metadata) from it.
#ifndef AIGW_SERVER_REQUEST_CONTEXT_H_
#define AIGW_SERVER_REQUEST_CONTEXT_H_

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "proto/aigw/v1/chat.pb.h"
#include "server/filters/auth/consumer.h"

namespace aigw {

using HeaderPairs = std::vector<std::pair<std::string, std::string>>;

// kOther: a request the front door answers itself (an unknown URL).
enum class Operation { kChat, kEmbeddings, kListModels, kOther };

// W3C trace context of a request: the trace it belongs to, aigw's own span
// in it, and the caller's span (the parent) if the caller sent one.
struct RequestTrace {
  std::array<uint8_t, 16> trace_id{};
  std::array<uint8_t, 8> span_id{};
  std::array<uint8_t, 8> parent_span_id{};  // zero: no parent
  bool sampled = false;                     // spans are exported
  std::string tracestate;                   // passed on as received
};

// One upstream call, for its span.
struct AttemptRecord {
  std::array<uint8_t, 8> span_id{};  // sent upstream as traceparent's parent
  absl::Time start;
  absl::Time end;
  std::string provider;       // config name
  std::string provider_type;  // adapter type
  std::string upstream_model;
  std::string origin;  // "https://host:port"; "" for a local provider
  absl::Status status;
};

// What a front door may tell its client about how a request was served.
struct CallInfo {
  std::string provider;        // the provider that answered ("" if none did)
  std::string provider_type;   // its adapter type
  std::string upstream_model;  // the model it was asked for
  // The upstream model as a metric label: as configured, or "other" when
  // a pattern derived it from the client's text.
  std::string upstream_model_label;
  int attempts = 0;                            // upstream calls made
  std::vector<AttemptRecord> attempt_records;  // one per upstream call
  // Request fields the answering adapter left out (unsupported_params:
  // drop), and upstream headers to relay (x-ratelimit-*). Set with
  // `provider`, before a stream's first chunk.
  std::vector<std::string> dropped_params;
  HeaderPairs upstream_headers;
  v1::Usage usage;  // as the upstream reported it (empty if it did not)
  bool has_usage = false;
  // A whole (non-streamed) answer without usage: its text's estimate.
  int64_t answer_tokens_estimate = 0;
};

struct RequestContext {
  // Set by the front door.
  std::string peer;     // "ip:port" of the client
  std::string api_key;  // the credential presented; "" if none. Never logged
  absl::Time start = absl::Now();
  std::string request_id;  // the client's x-request-id, or a generated one
  RequestTrace trace;
  const char* protocol = "http";  // "http" | "grpc"
  std::string method;             // "POST", or the gRPC method's full name
  std::string path;               // "" for gRPC
  // The client's deadline (gRPC's grpc-timeout), passed on to gRPC
  // upstreams; infinite when it set none.
  absl::Time deadline = absl::InfiniteFuture();
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  // Time spent waiting for the client to take bytes (the front door's
  // writes); with `upstream_wait` it is what aigw's overhead excludes.
  absl::Duration client_wait;

  // Set by the gateway before the filters run.
  Operation operation = Operation::kChat;
  bool stream = false;
  std::string model;                                  // as requested
  const v1::ChatCompletionRequest* chat = nullptr;    // kChat
  const v1::EmbeddingsRequest* embeddings = nullptr;  // kEmbeddings
  // `model` as a metric label: a configured name, or "other".
  std::string model_label = "other";
  // The standing contexts the first provider of the plan will prepend, as
  // estimated tokens: the request's cost includes them.
  int64_t context_tokens = 0;

  // Set by the filters. `consumer` (and `chat`, `embeddings`) point into
  // the call's snapshot and request: valid only until the gateway returns;
  // `consumer_name` stays.
  const Consumer* consumer = nullptr;  // the authenticated caller
  std::string consumer_name;
  // Headers every answer to this request carries, errors included
  // (x-ratelimit-*); gRPC sends them as metadata.
  HeaderPairs response_headers;

  // What the call learned.
  CallInfo info;
  // When the first chunk went to the client (InfinitePast: none did), and
  // the time spent waiting for upstreams (connect, send, every read).
  absl::Time first_chunk = absl::InfinitePast();
  absl::Duration upstream_wait;
};

}  // namespace aigw

#endif  // AIGW_SERVER_REQUEST_CONTEXT_H_
