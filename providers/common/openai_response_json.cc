#include "providers/common/openai_response_json.h"

#include "absl/strings/str_cat.h"
#include "providers/common/api_error.h"
#include "providers/common/json_struct.h"
#include "providers/common/openai_request_json.h"

namespace aigw {
namespace {

using nlohmann::json;

std::string StringOr(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

// Upstream counters and timestamps; anything odd (floats, huge or negative
// values) reads as 0 rather than an undefined conversion.
int64_t IntOr(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) return 0;
  if (it->is_number_unsigned()) {
    uint64_t value = it->get<uint64_t>();
    return value <= INT32_MAX ? static_cast<int64_t>(value) : 0;
  }
  if (it->is_number_integer()) {
    int64_t value = it->get<int64_t>();
    return value >= 0 && value <= INT32_MAX ? value : 0;
  }
  return 0;
}

json DeltaToJson(const v1::Message& delta) {
  json out = json::object();
  if (!delta.role().empty()) out["role"] = delta.role();
  if (delta.has_content()) out["content"] = delta.content();
  if (delta.has_reasoning_content()) {
    out["reasoning_content"] = delta.reasoning_content();
  }
  if (delta.tool_calls_size() > 0) {
    json calls = json::array();
    for (const v1::ToolCall& call : delta.tool_calls()) {
      calls.push_back(ToolCallToJson(call));
    }
    out["tool_calls"] = std::move(calls);
  }
  if (delta.has_refusal()) out["refusal"] = delta.refusal();
  // What aigw does not model (annotations with url citations, audio)
  // reaches the client as the upstream sent it.
  MergeStructInto(delta.extra(), &out);
  return out;
}

json FinishReason(const std::string& reason) {
  return reason.empty() ? json(nullptr) : json(reason);
}

// OpenAI sends "logprobs": null unless they were asked for.
json LogprobsToJson(bool present, const google::protobuf::Struct& logprobs) {
  return present ? StructToJson(logprobs) : json(nullptr);
}

// The choice's logprobs object; null when it has none.
const json* LogprobsIn(const json& choice) {
  auto it = choice.find("logprobs");
  return it != choice.end() && it->is_object() ? &*it : nullptr;
}

// Cached prompt tokens where OpenAI-compatible providers put them when not
// in prompt_tokens_details: Moonshot's usage.cached_tokens, DeepSeek's
// usage.prompt_cache_hit_tokens.
int64_t CachedTokensExtension(const json& usage) {
  int64_t moonshot = IntOr(usage, "cached_tokens");
  return moonshot != 0 ? moonshot : IntOr(usage, "prompt_cache_hit_tokens");
}

}  // namespace

absl::StatusOr<v1::Usage> UsageFromJson(const json& j) {
  if (!j.is_object()) return MalformedUpstream("usage is not an object");
  v1::Usage usage;
  usage.set_prompt_tokens(IntOr(j, "prompt_tokens"));
  usage.set_completion_tokens(IntOr(j, "completion_tokens"));
  usage.set_total_tokens(IntOr(j, "total_tokens"));
  auto prompt = j.find("prompt_tokens_details");
  if (prompt != j.end() && prompt->is_object()) {
    auto* d = usage.mutable_prompt_tokens_details();
    d->set_cached_tokens(IntOr(*prompt, "cached_tokens"));
    d->set_audio_tokens(IntOr(*prompt, "audio_tokens"));
  }
  if (usage.prompt_tokens_details().cached_tokens() == 0) {
    int64_t cached = CachedTokensExtension(j);
    if (cached != 0) {
      usage.mutable_prompt_tokens_details()->set_cached_tokens(cached);
    }
  }
  auto completion = j.find("completion_tokens_details");
  if (completion != j.end() && completion->is_object()) {
    auto* d = usage.mutable_completion_tokens_details();
    d->set_reasoning_tokens(IntOr(*completion, "reasoning_tokens"));
    d->set_audio_tokens(IntOr(*completion, "audio_tokens"));
    d->set_accepted_prediction_tokens(
        IntOr(*completion, "accepted_prediction_tokens"));
    d->set_rejected_prediction_tokens(
        IntOr(*completion, "rejected_prediction_tokens"));
  }
  return usage;
}

json UsageToJson(const v1::Usage& usage) {
  json out = {{"prompt_tokens", usage.prompt_tokens()},
              {"completion_tokens", usage.completion_tokens()},
              {"total_tokens", usage.total_tokens()}};
  if (usage.has_prompt_tokens_details()) {
    const auto& d = usage.prompt_tokens_details();
    out["prompt_tokens_details"] = {{"cached_tokens", d.cached_tokens()},
                                    {"audio_tokens", d.audio_tokens()}};
  }
  if (usage.has_completion_tokens_details()) {
    const auto& d = usage.completion_tokens_details();
    out["completion_tokens_details"] = {
        {"reasoning_tokens", d.reasoning_tokens()},
        {"audio_tokens", d.audio_tokens()},
        {"accepted_prediction_tokens", d.accepted_prediction_tokens()},
        {"rejected_prediction_tokens", d.rejected_prediction_tokens()}};
  }
  return out;
}

absl::StatusOr<v1::ChatCompletion> ChatCompletionFromJson(const json& j) {
  if (!j.is_object()) return MalformedUpstream("body is not a JSON object");
  v1::ChatCompletion completion;
  completion.set_id(StringOr(j, "id"));
  completion.set_object(StringOr(j, "object"));
  completion.set_created(IntOr(j, "created"));
  completion.set_model(StringOr(j, "model"));
  completion.set_system_fingerprint(StringOr(j, "system_fingerprint"));
  completion.set_service_tier(StringOr(j, "service_tier"));
  auto choices = j.find("choices");
  if (choices == j.end() || !choices->is_array()) {
    return MalformedUpstream("missing choices");
  }
  for (const json& c : *choices) {
    if (!c.is_object()) return MalformedUpstream("choice is not an object");
    v1::Choice* choice = completion.add_choices();
    choice->set_index(static_cast<int32_t>(IntOr(c, "index")));
    choice->set_finish_reason(StringOr(c, "finish_reason"));
    if (const json* logprobs = LogprobsIn(c)) {
      JsonObjectToStruct(*logprobs, choice->mutable_logprobs());
    }
    auto message = c.find("message");
    if (message != c.end() && message->is_object()) {
      absl::StatusOr<v1::Message> m = MessageFromJson(*message, "message");
      if (!m.ok()) return MalformedUpstream(m.status().message());
      *choice->mutable_message() = std::move(*m);
    }
  }
  auto usage = j.find("usage");
  if (usage != j.end() && usage->is_object()) {
    absl::StatusOr<v1::Usage> u = UsageFromJson(*usage);
    if (!u.ok()) return u.status();
    *completion.mutable_usage() = std::move(*u);
  }
  return completion;
}

json ChatCompletionToJson(const v1::ChatCompletion& completion) {
  json choices = json::array();
  for (const v1::Choice& choice : completion.choices()) {
    json message = MessageToJson(choice.message());
    if (!message.contains("refusal")) message["refusal"] = nullptr;
    choices.push_back(
        {{"index", choice.index()},
         {"message", std::move(message)},
         {"logprobs", LogprobsToJson(choice.has_logprobs(), choice.logprobs())},
         {"finish_reason", FinishReason(choice.finish_reason())}});
  }
  json out = {{"id", completion.id()},
              {"object", "chat.completion"},
              {"created", completion.created()},
              {"model", completion.model()},
              {"choices", std::move(choices)}};
  if (completion.has_usage()) out["usage"] = UsageToJson(completion.usage());
  if (!completion.system_fingerprint().empty()) {
    out["system_fingerprint"] = completion.system_fingerprint();
  }
  if (!completion.service_tier().empty()) {
    out["service_tier"] = completion.service_tier();
  }
  return out;
}

absl::StatusOr<v1::ChatCompletionChunk> ChatChunkFromJson(const json& j) {
  if (!j.is_object())
    return MalformedUpstream("stream chunk is not a JSON object");
  v1::ChatCompletionChunk chunk;
  chunk.set_id(StringOr(j, "id"));
  chunk.set_object(StringOr(j, "object"));
  chunk.set_created(IntOr(j, "created"));
  chunk.set_model(StringOr(j, "model"));
  chunk.set_system_fingerprint(StringOr(j, "system_fingerprint"));
  chunk.set_service_tier(StringOr(j, "service_tier"));
  auto choices = j.find("choices");
  if (choices != j.end() && choices->is_array()) {
    for (const json& c : *choices) {
      if (!c.is_object())
        return MalformedUpstream("chunk choice is not an object");
      v1::ChunkChoice* choice = chunk.add_choices();
      choice->set_index(static_cast<int32_t>(IntOr(c, "index")));
      choice->set_finish_reason(StringOr(c, "finish_reason"));
      if (const json* logprobs = LogprobsIn(c)) {
        JsonObjectToStruct(*logprobs, choice->mutable_logprobs());
      }
      auto delta = c.find("delta");
      if (delta != c.end() && delta->is_object()) {
        absl::StatusOr<v1::Message> m = MessageFromJson(*delta, "delta");
        if (!m.ok()) return MalformedUpstream(m.status().message());
        *choice->mutable_delta() = std::move(*m);
      }
    }
  }
  const json* usage = nullptr;
  if (auto it = j.find("usage"); it != j.end() && it->is_object()) {
    usage = &*it;
  } else if (choices != j.end() && choices->is_array() && !choices->empty() &&
             (*choices)[0].is_object() && (*choices)[0].contains("usage") &&
             (*choices)[0]["usage"].is_object()) {
    usage = &(*choices)[0]["usage"];  // Moonshot's place for the final usage
  }
  if (usage != nullptr) {
    absl::StatusOr<v1::Usage> u = UsageFromJson(*usage);
    if (!u.ok()) return u.status();
    *chunk.mutable_usage() = std::move(*u);
  }
  return chunk;
}

std::string ChatChunkToJsonString(const v1::ChatCompletionChunk& chunk) {
  json choices = json::array();
  for (const v1::ChunkChoice& choice : chunk.choices()) {
    choices.push_back(
        {{"index", choice.index()},
         {"delta", DeltaToJson(choice.delta())},
         {"logprobs", LogprobsToJson(choice.has_logprobs(), choice.logprobs())},
         {"finish_reason", FinishReason(choice.finish_reason())}});
  }
  json out = {{"id", chunk.id()},
              {"object", "chat.completion.chunk"},
              {"created", chunk.created()},
              {"model", chunk.model()},
              {"choices", std::move(choices)}};
  if (chunk.has_usage()) out["usage"] = UsageToJson(chunk.usage());
  if (!chunk.system_fingerprint().empty()) {
    out["system_fingerprint"] = chunk.system_fingerprint();
  }
  if (!chunk.service_tier().empty()) out["service_tier"] = chunk.service_tier();
  return out.dump(-1, ' ', false, json::error_handler_t::replace);
}

json ListModelsToJson(const v1::ListModelsResponse& models) {
  json data = json::array();
  for (const v1::Model& model : models.data()) {
    data.push_back({{"id", model.id()},
                    {"object", "model"},
                    {"created", model.created()},
                    {"owned_by", model.owned_by()}});
  }
  return {{"object", "list"}, {"data", std::move(data)}};
}

}  // namespace aigw
