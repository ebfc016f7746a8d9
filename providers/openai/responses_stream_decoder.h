// Decodes an OpenAI Responses API answer (the typed `response.*` SSE
// events, or a whole `response` object) into canonical chunks, for a
// Responses client passed through to OpenAI: the client gets the upstream's
// own events (kept on the chunks as passthrough_events) while the gateway
// reads text, tool calls and usage for its limits and metrics.
#ifndef AIGW_PROVIDERS_OPENAI_RESPONSES_STREAM_DECODER_H_
#define AIGW_PROVIDERS_OPENAI_RESPONSES_STREAM_DECODER_H_

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "providers/common/sse_framer.h"
#include "providers/provider.h"

namespace aigw {

class ResponsesStreamDecoder final : public StreamDecoder {
 public:
  explicit ResponsesStreamDecoder(ChunkSink& sink) : sink_(sink) {}

  bool Feed(absl::string_view bytes) override;
  absl::Status Finish() override;
  const absl::Status& error() const override { return error_; }
  bool client_gone() const override { return client_gone_; }

 private:
  bool HandleSse(const SseEvent& event);
  bool HandleEvent(const nlohmann::json& event);
  bool Emit(v1::ChatCompletionChunk chunk);
  v1::ChatCompletionChunk NewChunk() const;
  bool Fail(absl::Status status);

  ChunkSink& sink_;
  SseFramer framer_;
  std::vector<SseEvent> events_;
  std::string pending_events_;
  std::string id_;
  std::string model_;
  std::map<int, int> tools_;  // output_index -> tool-call index
  bool done_ = false;
  absl::Status error_;
  bool client_gone_ = false;
};

// A whole `response` object as a canonical answer.
absl::StatusOr<v1::ChatCompletion> ChatCompletionFromResponse(
    const nlohmann::json& response);

}  // namespace aigw

#endif  // AIGW_PROVIDERS_OPENAI_RESPONSES_STREAM_DECODER_H_
