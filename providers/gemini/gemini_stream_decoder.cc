#include "providers/gemini/gemini_stream_decoder.h"

#include <algorithm>
#include <cstdint>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "providers/common/api_error.h"
#include "providers/common/json_struct.h"

namespace aigw {
namespace {

using nlohmann::json;

constexpr size_t kMaxEventBytes = 8 << 20;

std::string FinishReason(const std::string& gemini, bool called_functions) {
  if (gemini == "MAX_TOKENS") return "length";
  if (gemini == "SAFETY" || gemini == "RECITATION" || gemini == "BLOCKLIST" ||
      gemini == "PROHIBITED_CONTENT" || gemini == "SPII" ||
      gemini == "IMAGE_SAFETY") {
    return "content_filter";
  }
  // STOP and the rest (OTHER, LANGUAGE, MALFORMED_FUNCTION_CALL, ...): the
  // model stopped; OpenAI clients look for "tool_calls" to run the calls.
  return called_functions ? "tool_calls" : "stop";
}

// Counts are read as int64 and saturated at INT32_MAX: absurd upstream
// values must not overflow the sums below (signed overflow is UB).
int64_t Count(const json& usage, const char* key) {
  auto it = usage.find(key);
  if (it == usage.end() || !it->is_number_integer()) return 0;
  if (it->is_number_unsigned()) {
    return static_cast<int64_t>(
        std::min<uint64_t>(it->get<uint64_t>(), INT32_MAX));
  }
  return std::clamp<int64_t>(it->get<int64_t>(), 0, INT32_MAX);
}

int32_t Saturate(int64_t n) {
  return static_cast<int32_t>(std::min<int64_t>(n, INT32_MAX));
}

// OpenAI's completion_tokens include reasoning; Gemini counts thoughts apart
// from candidates (and tool-use prompt tokens apart from the prompt).
v1::Usage UsageFromMetadata(const json& metadata) {
  v1::Usage usage;
  if (!metadata.is_object()) return usage;
  int64_t thoughts = Count(metadata, "thoughtsTokenCount");
  int64_t prompt = Count(metadata, "promptTokenCount") +
                   Count(metadata, "toolUsePromptTokenCount");
  int64_t completion = Count(metadata, "candidatesTokenCount") + thoughts;
  usage.set_prompt_tokens(Saturate(prompt));
  usage.set_completion_tokens(Saturate(completion));
  int64_t total = Count(metadata, "totalTokenCount");
  usage.set_total_tokens(Saturate(total != 0 ? total : prompt + completion));
  usage.mutable_prompt_tokens_details()->set_cached_tokens(
      Saturate(Count(metadata, "cachedContentTokenCount")));
  usage.mutable_completion_tokens_details()->set_reasoning_tokens(
      Saturate(thoughts));
  return usage;
}

// {"error":{"code":503,"message":"...","status":"UNAVAILABLE"}} sent after
// the 200 status: mapped like the same body with that HTTP status.
absl::Status StreamErrorEvent(const json& response) {
  const json& error = response["error"];
  int code = 500;
  if (error.is_object() && error.contains("code") &&
      error["code"].is_number_integer()) {
    int sent = error["code"].get<int>();
    if (sent >= 400 && sent <= 599) code = sent;
  }
  return StatusFromUpstreamHttp(code, response.dump());
}

// The prompt itself was blocked: Azure OpenAI answers this case with a 400
// whose code is "content_filter", which OpenAI clients already handle.
absl::Status PromptBlocked(const json& feedback) {
  ApiErrorSpec spec;
  spec.code = absl::StatusCode::kInvalidArgument;
  spec.http_status = 400;
  spec.param = "messages";
  spec.error_code = "content_filter";
  spec.message = absl::StrCat("Gemini blocked the prompt (blockReason: ",
                              feedback["blockReason"].get<std::string>(), ")");
  auto detail = feedback.find("blockReasonMessage");
  if (detail != feedback.end() && detail->is_string()) {
    absl::StrAppend(&spec.message, ": ", detail->get<std::string>());
  }
  absl::StrAppend(&spec.message, ".");
  return MakeApiError(spec);
}

std::string RandomId() {
  std::random_device random;
  return absl::StrFormat("%08x%08x", random(), random());
}

// One token of Gemini's logprobsResult as OpenAI writes one: the token,
// its log probability and its UTF-8 bytes.
json TokenLogprob(const json& candidate) {
  std::string token = candidate.is_object() && candidate.contains("token") &&
                              candidate["token"].is_string()
                          ? candidate["token"].get<std::string>()
                          : "";
  double logprob = 0;
  if (candidate.is_object() && candidate.contains("logProbability") &&
      candidate["logProbability"].is_number()) {
    logprob = candidate["logProbability"].get<double>();
  }
  json bytes = json::array();
  for (unsigned char c : token) bytes.push_back(static_cast<int>(c));
  return {{"token", token}, {"logprob", logprob}, {"bytes", std::move(bytes)}};
}

// {"chosenCandidates":[...], "topCandidates":[{"candidates":[...]}]} ->
// {"content":[{token, logprob, bytes, top_logprobs:[...]}], "refusal":null}.
json LogprobsFromGemini(const json& result) {
  json content = json::array();
  auto chosen = result.find("chosenCandidates");
  auto top = result.find("topCandidates");
  if (chosen == result.end() || !chosen->is_array()) {
    return {{"content", content}, {"refusal", nullptr}};
  }
  for (size_t i = 0; i < chosen->size(); ++i) {
    json entry = TokenLogprob((*chosen)[i]);
    json alternatives = json::array();
    if (top != result.end() && top->is_array() && i < top->size() &&
        (*top)[i].is_object()) {
      auto list = (*top)[i].find("candidates");
      if (list != (*top)[i].end() && list->is_array()) {
        for (const json& alternative : *list) {
          alternatives.push_back(TokenLogprob(alternative));
        }
      }
    }
    entry["top_logprobs"] = std::move(alternatives);
    content.push_back(std::move(entry));
  }
  return {{"content", std::move(content)}, {"refusal", nullptr}};
}

}  // namespace

GeminiStreamDecoder::GeminiStreamDecoder(ChunkSink& sink, std::string model)
    : sink_(sink),
      model_(std::move(model)),
      created_(absl::ToUnixSeconds(absl::Now())) {}

bool GeminiStreamDecoder::Feed(absl::string_view bytes) {
  framer_.Feed(bytes, &events_);
  if (framer_.buffered_bytes() > kMaxEventBytes) {
    return Fail(MalformedUpstream("a stream event exceeds 8 MiB"));
  }
  return Drain();
}

bool GeminiStreamDecoder::FeedWhole(absl::string_view body) {
  json response = json::parse(body, nullptr, false);
  if (response.is_discarded()) {
    return Fail(MalformedUpstream("the answer is not JSON"));
  }
  return HandleResponse(response);
}

absl::Status GeminiStreamDecoder::Finish() {
  framer_.Finish(&events_);
  Drain();
  if (!error_.ok() || client_gone_) return error_;
  if (started_.empty()) {
    return MalformedUpstream("the answer has no candidates");
  }
  for (int index : started_) {
    if (finished_.count(index) == 0) {
      return MalformedUpstream("the stream ended before a finishReason");
    }
  }
  v1::ChatCompletionChunk chunk = NewChunk();
  *chunk.mutable_usage() = UsageFromMetadata(usage_);
  Emit(std::move(chunk));
  return absl::OkStatus();
}

bool GeminiStreamDecoder::Drain() {
  bool keep_going = error_.ok() && !client_gone_;
  for (const SseEvent& event : events_) {
    if (!keep_going || event.data.empty()) continue;
    json response = json::parse(event.data, nullptr, false);
    keep_going = response.is_discarded()
                     ? Fail(MalformedUpstream("a stream event is not JSON"))
                     : HandleResponse(response);
  }
  events_.clear();
  return keep_going;
}

bool GeminiStreamDecoder::HandleResponse(const json& response) {
  if (!response.is_object()) {
    return Fail(MalformedUpstream("a response is not a JSON object"));
  }
  if (response.contains("error")) return Fail(StreamErrorEvent(response));
  if (id_.empty()) {
    auto id = response.find("responseId");
    id_ = absl::StrCat("chatcmpl-", id != response.end() && id->is_string()
                                        ? id->get<std::string>()
                                        : RandomId());
  }
  auto version = response.find("modelVersion");
  if (version != response.end() && version->is_string()) {
    model_ = version->get<std::string>();
  }
  auto usage = response.find("usageMetadata");
  if (usage != response.end() && usage->is_object()) usage_ = *usage;
  auto candidates = response.find("candidates");
  if (candidates == response.end() || !candidates->is_array() ||
      candidates->empty()) {
    auto feedback = response.find("promptFeedback");
    if (feedback != response.end() && feedback->is_object() &&
        feedback->contains("blockReason") &&
        (*feedback)["blockReason"].is_string()) {
      return Fail(PromptBlocked(*feedback));
    }
    return true;  // e.g. an event with usage only
  }
  for (size_t i = 0; i < candidates->size(); ++i) {
    if (!HandleCandidate((*candidates)[i], static_cast<int>(i))) return false;
  }
  return true;
}

bool GeminiStreamDecoder::HandleCandidate(const json& candidate, int position) {
  if (!candidate.is_object()) {
    return Fail(MalformedUpstream("a candidate is not a JSON object"));
  }
  auto index_it = candidate.find("index");
  int index = index_it != candidate.end() && index_it->is_number_integer()
                  ? index_it->get<int>()
                  : position;
  // One event becomes chunks as OpenAI streams them: role, text and
  // logprobs first, then each function call in its own chunk (clients such
  // as NextChat read one call per chunk), the finish_reason on the last.
  std::vector<v1::ChatCompletionChunk> chunks;
  auto add_chunk = [&]() -> v1::ChunkChoice* {
    chunks.push_back(NewChunk());
    v1::ChunkChoice* choice = chunks.back().add_choices();
    choice->set_index(index);
    return choice;
  };
  v1::ChunkChoice* first = add_chunk();
  v1::Message* delta = first->mutable_delta();
  bool changed = false;
  if (started_.insert(index).second) {
    delta->set_role("assistant");
    changed = true;
  }
  std::string text;
  std::string thought;
  std::vector<v1::ToolCall> calls;
  static const json kNoParts = json::array();
  const json* parts = &kNoParts;
  auto content = candidate.find("content");
  if (content != candidate.end() && content->is_object()) {
    auto it = content->find("parts");
    if (it != content->end() && it->is_array()) parts = &*it;
  }
  for (const json& part : *parts) {
    if (!part.is_object()) {
      return Fail(MalformedUpstream("a content part is not a JSON object"));
    }
    auto call = part.find("functionCall");
    auto part_text = part.find("text");
    if (call != part.end()) {
      if (!call->is_object() || !call->contains("name") ||
          !(*call)["name"].is_string()) {
        return Fail(MalformedUpstream("a functionCall has no name"));
      }
      auto args = call->find("args");
      auto id = call->find("id");
      v1::ToolCall& tool_call = calls.emplace_back();
      tool_call.set_index(next_call_[index]++);
      // Gemini's API gives no ids; generated ones must not repeat across
      // the turns of a conversation (clients key tool results by id).
      tool_call.set_id(id != call->end() && id->is_string() && !id->empty()
                           ? id->get<std::string>()
                           : absl::StrCat("call_", RandomId(), RandomId()));
      tool_call.set_type("function");
      tool_call.mutable_function()->set_name(
          (*call)["name"].get<std::string>());
      tool_call.mutable_function()->set_arguments(
          args != call->end() && args->is_object() ? args->dump() : "{}");
      called_.insert(index);
    } else if (part_text != part.end() && part_text->is_string()) {
      auto is_thought = part.find("thought");
      bool thinking = is_thought != part.end() && is_thought->is_boolean() &&
                      is_thought->get<bool>();
      (thinking ? thought : text) += part_text->get<std::string>();
    }
    // Other parts (a bare thoughtSignature, executable code of tools aigw
    // never enables) carry nothing the canonical message can hold.
  }
  if (!text.empty()) {
    delta->set_content(std::move(text));
    changed = true;
  }
  if (!thought.empty()) {
    delta->set_reasoning_content(std::move(thought));
    changed = true;
  }
  auto logprobs = candidate.find("logprobsResult");
  if (logprobs != candidate.end() && logprobs->is_object()) {
    json openai = LogprobsFromGemini(*logprobs);
    if (!openai["content"].empty()) {
      JsonObjectToStruct(openai, first->mutable_logprobs());
      changed = true;
    }
  }
  if (!changed) chunks.pop_back();
  for (v1::ToolCall& call : calls) {
    *add_chunk()->mutable_delta()->add_tool_calls() = std::move(call);
  }
  auto reason = candidate.find("finishReason");
  if (reason != candidate.end() && reason->is_string() &&
      !reason->get<std::string>().empty() &&
      *reason != "FINISH_REASON_UNSPECIFIED" &&
      finished_.insert(index).second) {
    v1::ChunkChoice* last =
        chunks.empty() ? add_chunk() : chunks.back().mutable_choices(0);
    last->set_finish_reason(
        FinishReason(reason->get<std::string>(), called_.count(index) > 0));
  }
  for (v1::ChatCompletionChunk& chunk : chunks) {
    if (!Emit(std::move(chunk))) return false;
  }
  return true;
}

bool GeminiStreamDecoder::Fail(absl::Status status) {
  error_ = std::move(status);
  return false;
}

bool GeminiStreamDecoder::Emit(v1::ChatCompletionChunk chunk) {
  if (!sink_.Write(std::move(chunk))) {
    client_gone_ = true;
    return false;
  }
  return true;
}

v1::ChatCompletionChunk GeminiStreamDecoder::NewChunk() const {
  v1::ChatCompletionChunk chunk;
  chunk.set_id(id_.empty() ? "chatcmpl-gemini" : id_);
  chunk.set_object("chat.completion.chunk");
  chunk.set_created(created_);
  chunk.set_model(model_);
  return chunk;
}

}  // namespace aigw
