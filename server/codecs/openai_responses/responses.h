// The OpenAI Responses API (POST /v1/responses), stateless core, as the
// openai SDK's responses.create/stream and the AI SDK's default
// `openai(model)` use it: requests -> the canonical ChatCompletionRequest,
// canonical answers -> a `response` object or its typed `response.*`
// stream events.
//
// Input items: messages (system/developer/user/assistant, input_text,
// input_image, output_text), function_call, function_call_output,
// reasoning (its summary kept as reasoning text) and item_reference to an
// item this gateway produced (ItemStore). `instructions`, function tools,
// tool_choice, text.format (text / json_object / json_schema),
// max_output_tokens, temperature, top_p, parallel_tool_calls, user and
// reasoning.effort map; `previous_response_id` and `conversation` are a
// 400 (no conversation state is kept); built-in tools are a 400.
#ifndef AIGW_SERVER_CODECS_OPENAI_RESPONSES_RESPONSES_H_
#define AIGW_SERVER_CODECS_OPENAI_RESPONSES_RESPONSES_H_

#include <list>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "proto/aigw/v1/chat.pb.h"

namespace aigw::responses {

// Output items this process produced, by id, so that a client that sends
// `{"type":"item_reference","id":...}` (the AI SDK does for earlier
// assistant turns) gets them back. Bounded by count and bytes: the oldest
// go first. Each replica keeps its own: a reference another replica made
// is unknown here (a 400 naming it, unless the body goes to OpenAI). Each
// caller (API key) reads only its own items; ids are 128 random bits.
class ItemStore {
 public:
  static constexpr size_t kMaxItems = 20000;
  static constexpr size_t kMaxBytes = 64 << 20;

  static ItemStore& Global();
  // `owner`: who made the response (RequestEcho::owner); only the same
  // owner reads the item back.
  void Put(absl::string_view owner, absl::string_view id,
           const nlohmann::json& item);
  bool Get(absl::string_view owner, absl::string_view id,
           nlohmann::json* item) const;

 private:
  mutable absl::Mutex mu_;
  std::list<std::string> order_ ABSL_GUARDED_BY(mu_);
  // Kept as JSON text: a third of the memory of a parsed tree.
  std::unordered_map<std::string, std::string> items_ ABSL_GUARDED_BY(mu_);
  size_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
};

// What marks a reasoning item's encrypted_content as a signature aigw
// relayed (Claude's), so it is never confused with OpenAI's own encrypted
// reasoning (which only OpenAI can read, and Claude would refuse).
inline constexpr absl::string_view kSignaturePrefix = "aigw-signature:";

// What marks the ids this gateway mints (resp_aigw..., msg_aigw...): items
// of other providers' answers, which OpenAI does not know.
inline constexpr absl::string_view kMintedIdMarker = "_aigw";
inline bool IsMintedId(absl::string_view id) {
  return absl::StrContains(id, kMintedIdMarker);
}

// What a response echoes of its request (tools, text format, ...).
struct RequestEcho {
  std::string model;  // as the client sent it
  // Whose items the response's are (a digest of the caller's API key):
  // item_references resolve only to the same caller's items.
  std::string owner;
  nlohmann::json fields = nlohmann::json::object();
};

absl::StatusOr<v1::ChatCompletionRequest> ParseResponsesRequest(
    absl::string_view body, RequestEcho* echo);

// A non-streamed answer as a `response` object.
nlohmann::json ResponseJson(const v1::ChatCompletion& completion,
                            const RequestEcho& echo);
// The body answering a non-streamed request: the upstream's own (model
// replaced) when it was a passthrough, else ResponseJson.
std::string AnswerBody(const v1::ChatCompletion& completion,
                       const RequestEcho& echo);

// {"error":{"message","type","param","code"}}, as OpenAI answers.
std::string ErrorBodyJson(const absl::Status& status);

// The ItemStore owner of a caller presenting `api_key` ("" for none).
std::string ItemOwner(absl::string_view api_key);

// Canonical chunks -> the typed events of a streamed response.
class StreamEncoder {
 public:
  explicit StreamEncoder(RequestEcho echo);

  std::string Encode(const v1::ChatCompletionChunk& chunk);
  // response.completed (or .incomplete), or an `error` event.
  std::string Finish(const absl::Status& status);

 private:
  enum class Kind { kNone, kMessage, kReasoning, kFunctionCall };
  // A passthrough chunk: the upstream's own events, the model replaced.
  std::string Relay(const std::string& events);
  void Event(const char* type, nlohmann::json data, std::string& out);
  void Begin(std::string& out);
  void Open(Kind kind, nlohmann::json item, std::string& out);
  void Close(std::string& out);        // the open message or reasoning item
  void OpenSummary(std::string& out);  // the open reasoning item's summary
  void CloseCalls(std::string& out);   // every open function call
  nlohmann::json Response(const char* status) const;

  RequestEcho echo_;
  std::string id_;
  int64_t created_at_ = 0;
  bool begun_ = false;
  bool relayed_ = false;
  int sequence_ = 0;
  Kind open_ = Kind::kNone;
  nlohmann::json item_;        // the open message or reasoning item
  int item_index_ = -1;        // its output_index
  std::string text_;           // its text
  std::string signature_;      // a reasoning item's signature
  bool summary_open_ = false;  // the reasoning item's summary part began
  int next_index_ = 0;         // the output_index of the next item
  struct Call {
    int index = 0;  // output_index
    std::string call_id;
    nlohmann::json item;
    std::string arguments;
    bool open = false;
  };
  std::map<int, Call> calls_;               // tool-call index -> call
  std::map<int, nlohmann::json> finished_;  // output_index -> final item
  std::string finish_reason_;
  v1::Usage usage_;
};

}  // namespace aigw::responses

#endif  // AIGW_SERVER_CODECS_OPENAI_RESPONSES_RESPONSES_H_
