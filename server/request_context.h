// One request as the pipeline sees it. A front door (REST, gRPC) fills in
// who is calling and how; the filters and the router fill in what they
// decided and learned; the front door then tells its client (headers,
// metadata) from it.
#ifndef AIGW_SERVER_REQUEST_CONTEXT_H_
#define AIGW_SERVER_REQUEST_CONTEXT_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "proto/aigw/v1/chat.pb.h"
#include "server/filters/auth/consumer.h"

namespace aigw {

using HeaderPairs = std::vector<std::pair<std::string, std::string>>;

enum class Operation { kChat, kEmbeddings, kListModels };

// What a front door may tell its client about how a request was served.
struct CallInfo {
  std::string provider;  // the provider that answered ("" if none did)
  int attempts = 0;      // upstream calls made
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

  // Set by the gateway before the filters run.
  Operation operation = Operation::kChat;
  bool stream = false;
  std::string model;                                  // as requested
  const v1::ChatCompletionRequest* chat = nullptr;    // kChat
  const v1::EmbeddingsRequest* embeddings = nullptr;  // kEmbeddings
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
};

}  // namespace aigw

#endif  // AIGW_SERVER_REQUEST_CONTEXT_H_
