#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "providers/common/api_error.h"
#include "providers/common/reasoning_blocks.h"
#include "server/codecs/event_stream.h"
#include "server/codecs/openai_responses/responses.h"

namespace aigw::responses {

namespace {

using nlohmann::json;

// prefix + "_aigw" + 128 random bits. An id is all it takes to read an
// item back (item_reference), so they come from OpenSSL's CSPRNG, not a
// guessable generator.
std::string NewId(absl::string_view prefix) {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    // No entropy: a one-off id no one can reference (never stored).
    std::random_device device;
    for (unsigned char& byte : bytes) byte = device() & 0xff;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id = absl::StrCat(prefix, kMintedIdMarker);
  for (unsigned char byte : bytes) {
    id += kHex[byte >> 4];
    id += kHex[byte & 15];
  }
  return id;
}

std::string Dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

json UsageJson(const v1::Usage& usage) {
  return {{"input_tokens", usage.prompt_tokens()},
          {"input_tokens_details",
           {{"cached_tokens", usage.prompt_tokens_details().cached_tokens()}}},
          {"output_tokens", usage.completion_tokens()},
          {"output_tokens_details",
           {{"reasoning_tokens",
             usage.completion_tokens_details().reasoning_tokens()}}},
          {"total_tokens",
           usage.total_tokens() > 0
               ? usage.total_tokens()
               : usage.prompt_tokens() + usage.completion_tokens()}};
}

json MessageItem(const std::string& id, const std::string& text,
                 const char* status) {
  json content = json::array();
  if (std::string(status) == "completed") {
    content.push_back({{"type", "output_text"},
                       {"text", text},
                       {"annotations", json::array()},
                       {"logprobs", json::array()}});
  }
  return {{"type", "message"},
          {"id", id},
          {"status", status},
          {"role", "assistant"},
          {"content", content}};
}

// A provider's signature of its thinking (Claude's) travels as the
// item's encrypted_content, which clients send back with the summary.
json ReasoningItem(const std::string& id, const std::string& text,
                   const std::string& signature = "") {
  json summary = json::array();
  if (!text.empty())
    summary.push_back({{"type", "summary_text"}, {"text", text}});
  json item = {{"type", "reasoning"}, {"id", id}, {"summary", summary}};
  if (!signature.empty()) {
    item["encrypted_content"] = absl::StrCat(kSignaturePrefix, signature);
  }
  return item;
}

// The response object around `output`.
json ResponseObject(const std::string& id, int64_t created_at,
                    const RequestEcho& echo, const char* status, json output,
                    const json& usage, const std::string& finish_reason) {
  json response = {{"id", id},
                   {"object", "response"},
                   {"created_at", created_at},
                   {"status", status},
                   {"model", echo.model},
                   {"output", std::move(output)},
                   {"error", nullptr},
                   {"incomplete_details", nullptr},
                   {"previous_response_id", nullptr},
                   {"store", false},
                   {"parallel_tool_calls", true},
                   {"tool_choice", "auto"},
                   {"tools", json::array()},
                   {"text", {{"format", {{"type", "text"}}}}},
                   {"metadata", json::object()},
                   {"usage", usage}};
  for (const auto& [name, value] : echo.fields.items()) response[name] = value;
  if (finish_reason == "length") {
    response["incomplete_details"] = {{"reason", "max_output_tokens"}};
  } else if (finish_reason == "content_filter") {
    response["incomplete_details"] = {{"reason", "content_filter"}};
  }
  return response;
}

const char* StatusFor(const std::string& finish_reason) {
  return finish_reason == "length" || finish_reason == "content_filter"
             ? "incomplete"
             : "completed";
}

void Remember(const json& output, const std::string& owner) {
  for (const json& item : output) {
    if (!item.is_object()) continue;
    auto id = item.find("id");
    if (id == item.end() || !id->is_string()) continue;
    ItemStore::Global().Put(owner, id->get<std::string>(), item);
  }
}

std::string StoreKey(absl::string_view owner, absl::string_view id) {
  return absl::StrCat(owner, "/", id);
}

}  // namespace

ItemStore& ItemStore::Global() {
  static ItemStore* store = new ItemStore();
  return *store;
}

std::string ItemOwner(absl::string_view api_key) {
  if (api_key.empty()) return "";
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(api_key.data()), api_key.size(),
         digest);
  // Half the digest tells callers apart; the key is not recoverable.
  static constexpr char kHex[] = "0123456789abcdef";
  std::string owner;
  for (int i = 0; i < 16; ++i) {
    owner += kHex[digest[i] >> 4];
    owner += kHex[digest[i] & 15];
  }
  return owner;
}

void ItemStore::Put(absl::string_view owner, absl::string_view item_id,
                    const json& item) {
  const std::string id = StoreKey(owner, item_id);
  std::string text = item.dump();
  if (text.size() + id.size() > kMaxBytes) return;
  absl::MutexLock lock(&mu_);
  const size_t size = text.size() + id.size();
  if (!items_.emplace(id, std::move(text)).second) return;
  order_.push_back(id);
  bytes_ += size;
  while (order_.size() > kMaxItems || bytes_ > kMaxBytes) {
    auto oldest = items_.find(order_.front());
    bytes_ -= oldest->second.size() + oldest->first.size();
    items_.erase(oldest);
    order_.pop_front();
  }
}

bool ItemStore::Get(absl::string_view owner, absl::string_view id,
                    json* item) const {
  std::string text;
  {
    absl::MutexLock lock(&mu_);
    auto found = items_.find(StoreKey(owner, id));
    if (found == items_.end()) return false;
    text = found->second;
  }
  *item = json::parse(text, nullptr, false);
  return !item->is_discarded();
}

std::string ErrorBodyJson(const absl::Status& status) {
  return aigw::ErrorBodyJson(status);
}

json ResponseJson(const v1::ChatCompletion& completion,
                  const RequestEcho& echo) {
  json output = json::array();
  std::string finish = "stop";
  if (completion.choices_size() > 0) {
    const v1::Choice& choice = completion.choices(0);
    const v1::Message& message = choice.message();
    finish = choice.finish_reason();
    // Reasoning items where the blocks came: before the message, or
    // between the function calls (interleaved thinking).
    const std::vector<v1::ReasoningBlock> reasoning =
        ReasoningBlocksOf(message);
    auto add_reasoning_in = [&](int slot) {
      for (const v1::ReasoningBlock& block : reasoning) {
        if (block.text().empty() && block.signature().empty()) continue;
        if (ReasoningSlot(block, message.tool_calls_size()) != slot) continue;
        output.push_back(
            ReasoningItem(NewId("rs"), block.text(), block.signature()));
      }
    };
    add_reasoning_in(0);
    std::string text = message.content();
    for (const v1::ContentPart& part : message.parts()) {
      if (part.type() == "text") text += part.text();
    }
    if (!text.empty() || message.tool_calls_size() == 0) {
      output.push_back(MessageItem(NewId("msg"), text, "completed"));
    }
    add_reasoning_in(1);
    for (int i = 0; i < message.tool_calls_size(); ++i) {
      const v1::ToolCall& call = message.tool_calls(i);
      output.push_back({{"type", "function_call"},
                        {"id", NewId("fc")},
                        {"call_id", call.id()},
                        {"name", call.function().name()},
                        {"arguments", call.function().arguments()},
                        {"status", "completed"}});
      add_reasoning_in(i + 2);
    }
  }
  Remember(output, echo.owner);
  return ResponseObject(NewId("resp"), absl::ToUnixSeconds(absl::Now()), echo,
                        StatusFor(finish), std::move(output),
                        UsageJson(completion.usage()), finish);
}

std::string AnswerBody(const v1::ChatCompletion& completion,
                       const RequestEcho& echo) {
  if (!completion.passthrough_body().empty()) {
    json body = json::parse(completion.passthrough_body(), nullptr, false);
    if (body.is_object()) {
      body["model"] = echo.model;
      if (body.contains("output") && body["output"].is_array()) {
        Remember(body["output"], echo.owner);
      }
      return Dump(body);
    }
  }
  return Dump(ResponseJson(completion, echo));
}

StreamEncoder::StreamEncoder(RequestEcho echo)
    : echo_(std::move(echo)),
      id_(NewId("resp")),
      created_at_(absl::ToUnixSeconds(absl::Now())) {}

void StreamEncoder::Event(const char* type, json data, std::string& out) {
  data["type"] = type;
  data["sequence_number"] = sequence_++;
  absl::StrAppend(&out, "event: ", type, "\ndata: ", Dump(data), "\n\n");
}

json StreamEncoder::Response(const char* status) const {
  json output = json::array();
  for (const auto& [index, item] : finished_) output.push_back(item);
  bool done = std::string(status) != "in_progress";
  return ResponseObject(id_, created_at_, echo_, status, std::move(output),
                        done ? UsageJson(usage_) : json(nullptr),
                        done ? finish_reason_ : "");
}

void StreamEncoder::Begin(std::string& out) {
  begun_ = true;
  Event("response.created", {{"response", Response("in_progress")}}, out);
  Event("response.in_progress", {{"response", Response("in_progress")}}, out);
}

void StreamEncoder::Open(Kind kind, json item, std::string& out) {
  Close(out);
  CloseCalls(out);  // a message or reasoning item follows the calls
  open_ = kind;
  item_ = std::move(item);
  text_.clear();
  signature_.clear();
  summary_open_ = false;
  int index = item_index_ = next_index_++;
  Event("response.output_item.added",
        {{"output_index", index}, {"item", item_}}, out);
  const std::string id = item_["id"];
  if (kind == Kind::kMessage) {
    Event("response.content_part.added",
          {{"item_id", id},
           {"output_index", index},
           {"content_index", 0},
           {"part",
            {{"type", "output_text"},
             {"text", ""},
             {"annotations", json::array()}}}},
          out);
  }
}

// A reasoning item's summary part opens with its first text: an item of a
// signature alone has an empty summary, as OpenAI's own do.
void StreamEncoder::OpenSummary(std::string& out) {
  summary_open_ = true;
  Event("response.reasoning_summary_part.added",
        {{"item_id", item_["id"]},
         {"output_index", item_index_},
         {"summary_index", 0},
         {"part", {{"type", "summary_text"}, {"text", ""}}}},
        out);
}

void StreamEncoder::Close(std::string& out) {
  if (open_ == Kind::kNone) return;
  int index = item_index_;
  const std::string id = item_["id"];
  if (open_ == Kind::kMessage) {
    Event("response.output_text.done",
          {{"item_id", id},
           {"output_index", index},
           {"content_index", 0},
           {"text", text_},
           {"logprobs", json::array()}},
          out);
    Event("response.content_part.done",
          {{"item_id", id},
           {"output_index", index},
           {"content_index", 0},
           {"part",
            {{"type", "output_text"},
             {"text", text_},
             {"annotations", json::array()}}}},
          out);
    item_ = MessageItem(id, text_, "completed");
  } else if (open_ == Kind::kReasoning) {
    if (summary_open_) {
      Event("response.reasoning_summary_text.done",
            {{"item_id", id},
             {"output_index", index},
             {"summary_index", 0},
             {"text", text_}},
            out);
      Event("response.reasoning_summary_part.done",
            {{"item_id", id},
             {"output_index", index},
             {"summary_index", 0},
             {"part", {{"type", "summary_text"}, {"text", text_}}}},
            out);
    }
    item_ = ReasoningItem(id, text_, signature_);
  }
  Event("response.output_item.done", {{"output_index", index}, {"item", item_}},
        out);
  finished_[index] = std::move(item_);
  open_ = Kind::kNone;
}

// Function calls stay open until the end or the next message: an upstream
// may interleave the argument fragments of parallel calls.
void StreamEncoder::CloseCalls(std::string& out) {
  for (auto& [tool, call] : calls_) {
    if (!call.open) continue;
    call.open = false;
    const std::string id = call.item["id"];
    Event("response.function_call_arguments.done",
          {{"item_id", id},
           {"output_index", call.index},
           {"arguments", call.arguments}},
          out);
    call.item["arguments"] = call.arguments;
    call.item["status"] = "completed";
    Event("response.output_item.done",
          {{"output_index", call.index}, {"item", call.item}}, out);
    finished_[call.index] = call.item;
  }
}

std::string StreamEncoder::Relay(const std::string& events) {
  relayed_ = true;
  begun_ = true;
  // The events that carry the response object name its model.
  return codecs::EditEventData(events, [this](json& data) {
    // The gateway's own error event continues the upstream's numbering.
    auto number = data.find("sequence_number");
    if (number != data.end() && number->is_number_integer()) {
      sequence_ = std::max(sequence_, number->get<int>() + 1);
    }
    if (!data.contains("response") || !data["response"].is_object()) {
      return false;
    }
    data["response"]["model"] = echo_.model;
    const json& output = data["response"].value("output", json());
    if (output.is_array()) Remember(output, echo_.owner);
    return true;
  });
}

std::string StreamEncoder::Encode(const v1::ChatCompletionChunk& chunk) {
  if (!chunk.passthrough_events().empty()) {
    return Relay(chunk.passthrough_events());
  }
  if (relayed_) return "";
  std::string out;
  if (!begun_) Begin(out);
  if (chunk.has_usage()) usage_ = chunk.usage();
  for (const v1::ChunkChoice& choice : chunk.choices()) {
    if (choice.index() != 0) continue;
    const v1::Message& delta = choice.delta();
    if (!delta.reasoning_content().empty()) {
      // Reasoning after a signature is the next signed block: its own item.
      if (open_ != Kind::kReasoning || !signature_.empty())
        Open(Kind::kReasoning, ReasoningItem(NewId("rs"), ""), out);
      if (!summary_open_) OpenSummary(out);
      text_ += delta.reasoning_content();
      Event("response.reasoning_summary_text.delta",
            {{"item_id", item_["id"]},
             {"output_index", item_index_},
             {"summary_index", 0},
             {"delta", delta.reasoning_content()}},
            out);
    }
    // A signature with no unsigned reasoning item open is an item of its
    // own, its text withheld (Claude's omitted thinking display).
    if (!delta.reasoning_signature().empty()) {
      if (open_ != Kind::kReasoning || !signature_.empty())
        Open(Kind::kReasoning, ReasoningItem(NewId("rs"), ""), out);
      signature_ = delta.reasoning_signature();
    }
    if (!delta.content().empty()) {
      if (open_ != Kind::kMessage)
        Open(Kind::kMessage, MessageItem(NewId("msg"), "", "in_progress"), out);
      text_ += delta.content();
      Event("response.output_text.delta",
            {{"item_id", item_["id"]},
             {"output_index", item_index_},
             {"content_index", 0},
             {"delta", delta.content()},
             {"logprobs", json::array()}},
            out);
    }
    for (const v1::ToolCall& call : delta.tool_calls()) {
      int tool = call.has_index() ? call.index() : 0;
      auto known = calls_.find(tool);
      // A new call: an index not seen, or a different id at that index.
      if (known == calls_.end() ||
          (!call.id().empty() && call.id() != known->second.call_id)) {
        Close(out);
        if (known != calls_.end()) {
          // The index is reused for another call: the old one ends.
          CloseCalls(out);
          calls_[-1 - known->second.index] = known->second;
        }
        Call& fresh = calls_[tool];
        fresh = Call();
        fresh.index = next_index_++;
        fresh.call_id = call.id();
        fresh.open = true;
        fresh.item = {
            {"type", "function_call"}, {"id", NewId("fc")},
            {"call_id", call.id()},    {"name", call.function().name()},
            {"arguments", ""},         {"status", "in_progress"}};
        Event("response.output_item.added",
              {{"output_index", fresh.index}, {"item", fresh.item}}, out);
        known = calls_.find(tool);
      }
      const std::string& fragment = call.function().arguments();
      if (fragment.empty()) continue;
      Call& target = known->second;
      target.arguments += fragment;
      if (target.open) {
        Event("response.function_call_arguments.delta",
              {{"item_id", target.item["id"]},
               {"output_index", target.index},
               {"delta", fragment}},
              out);
      } else {
        finished_[target.index]["arguments"] = target.arguments;
      }
    }
    if (!choice.finish_reason().empty())
      finish_reason_ = choice.finish_reason();
  }
  return out;
}

std::string StreamEncoder::Finish(const absl::Status& status) {
  std::string out;
  if (relayed_ && status.ok()) return out;  // the upstream's end went out
  if (!begun_) Begin(out);
  if (!status.ok()) {
    ErrorDetails details = GetErrorDetails(status);
    Event("error",
          {{"code", details.code.empty() ? json(nullptr) : json(details.code)},
           {"message", std::string(status.message())},
           {"param",
            details.param.empty() ? json(nullptr) : json(details.param)}},
          out);
    return out;
  }
  Close(out);
  CloseCalls(out);
  json output = json::array();
  for (const auto& [index, item] : finished_) output.push_back(item);
  Remember(output, echo_.owner);
  const char* final_status = StatusFor(finish_reason_);
  Event(std::string(final_status) == "completed" ? "response.completed"
                                                 : "response.incomplete",
        {{"response", Response(final_status)}}, out);
  return out;
}

}  // namespace aigw::responses
