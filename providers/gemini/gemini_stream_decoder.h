// Decodes Gemini GenerateContentResponse objects into canonical chunks: the
// SSE stream of `streamGenerateContent?alt=sse` (events separated by
// "\r\n\r\n", fed split anywhere) and, through the same code, the single JSON
// body of `generateContent`.
//
// Per candidate (= choice): the role first, text and thought parts as
// content / reasoning_content deltas, each functionCall as one complete tool
// call delta ("call_<n>" unless Gemini gave an id), one finish_reason. Gemini
// repeats the cumulative usageMetadata on every event; the last one is sent
// once, in a final chunk with empty choices.
#ifndef AIGW_PROVIDERS_GEMINI_GEMINI_STREAM_DECODER_H_
#define AIGW_PROVIDERS_GEMINI_GEMINI_STREAM_DECODER_H_

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "providers/common/sse_framer.h"
#include "providers/provider.h"

namespace aigw {

class GeminiStreamDecoder final : public StreamDecoder {
 public:
  // `model` names the model in chunks until Gemini reports its modelVersion.
  GeminiStreamDecoder(ChunkSink& sink, std::string model);

  // Decodes the SSE events completed by `bytes`; false means stop reading
  // (an error, or the sink's consumer is gone).
  bool Feed(absl::string_view bytes) override;
  // Decodes a whole non-streaming answer (one GenerateContentResponse).
  bool FeedWhole(absl::string_view body);
  // Call at the end of the body: flushes an unterminated last event, fails
  // if a started choice never finished, then sends the usage chunk.
  absl::Status Finish() override;

  const absl::Status& error() const override { return error_; }
  bool client_gone() const override { return client_gone_; }

 private:
  bool Drain();
  bool HandleResponse(const nlohmann::json& response);
  bool HandleCandidate(const nlohmann::json& candidate, int position);
  bool Fail(absl::Status status);
  bool Emit(v1::ChatCompletionChunk chunk);
  v1::ChatCompletionChunk NewChunk() const;

  ChunkSink& sink_;
  std::string model_;
  std::string id_;  // set from the first response
  int64_t created_;
  SseFramer framer_;
  std::vector<SseEvent> events_;
  absl::Status error_;
  bool client_gone_ = false;
  std::set<int> started_;         // choices whose role was sent
  std::set<int> finished_;        // choices whose finish_reason was sent
  std::set<int> called_;          // choices that produced function calls
  std::map<int, int> next_call_;  // choice -> next tool call index
  nlohmann::json usage_;          // the latest usageMetadata
};

}  // namespace aigw

#endif  // AIGW_PROVIDERS_GEMINI_GEMINI_STREAM_DECODER_H_
