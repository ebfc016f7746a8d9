#include "providers/common/chat_assembler.h"

#include "providers/common/reasoning_blocks.h"

namespace aigw {
namespace {

// Stream pieces of a JSON object, folded: lists (logprobs' content,
// annotations) are concatenated, anything else is the latest value.
void MergePiece(const google::protobuf::Struct& piece,
                google::protobuf::Struct* whole) {
  for (const auto& [key, value] : piece.fields()) {
    // A null piece ("annotations": null) adds nothing to what came before.
    if (value.kind_case() == google::protobuf::Value::kNullValue &&
        whole->fields().count(key) > 0) {
      continue;
    }
    google::protobuf::Value& target = (*whole->mutable_fields())[key];
    if (value.has_list_value() && target.has_list_value()) {
      for (const google::protobuf::Value& item : value.list_value().values()) {
        *target.mutable_list_value()->add_values() = item;
      }
    } else {
      target = value;
    }
  }
}

}  // namespace

bool ChatAssembler::Write(v1::ChatCompletionChunk chunk) {
  if (completion_.id().empty()) completion_.set_id(chunk.id());
  if (completion_.created() == 0) completion_.set_created(chunk.created());
  if (completion_.model().empty()) completion_.set_model(chunk.model());
  if (completion_.system_fingerprint().empty()) {
    completion_.set_system_fingerprint(chunk.system_fingerprint());
  }
  if (completion_.service_tier().empty()) {
    completion_.set_service_tier(chunk.service_tier());
  }
  if (chunk.has_usage()) *completion_.mutable_usage() = chunk.usage();
  for (const v1::ChunkChoice& delta : chunk.choices()) {
    v1::Choice& choice = choices_[delta.index()];
    choice.set_index(delta.index());
    v1::Message* message = choice.mutable_message();
    const v1::Message& d = delta.delta();
    if (!d.role().empty()) message->set_role(d.role());
    if (d.has_content()) {
      message->set_content(message->content() + d.content());
    }
    // Each signed block keeps its own text (see reasoning_blocks).
    ToolCalls& calls = tool_calls_[delta.index()];
    AddReasoningDelta(d, static_cast<int>(calls.calls.size()), message);
    if (d.has_refusal()) {
      message->set_refusal(message->refusal() + d.refusal());
    }
    if (d.has_extra()) MergePiece(d.extra(), message->mutable_extra());
    if (delta.has_logprobs()) {
      MergePiece(delta.logprobs(), choice.mutable_logprobs());
    }
    for (int i = 0; i < d.tool_calls_size(); ++i) {
      const v1::ToolCall& part = d.tool_calls(i);
      int index = part.has_index() ? part.index() : i;
      auto known = calls.by_index.find(index);
      // A new call: an index not seen, or another id at that index (some
      // upstreams repeat the id on every fragment of one call).
      if (known == calls.by_index.end() ||
          (!part.id().empty() && !calls.calls[known->second].id().empty() &&
           part.id() != calls.calls[known->second].id())) {
        calls.by_index[index] = calls.calls.size();
        calls.calls.emplace_back();
      }
      v1::ToolCall& call = calls.calls[calls.by_index[index]];
      if (!part.id().empty()) call.set_id(part.id());
      if (!part.type().empty()) call.set_type(part.type());
      if (!part.function().name().empty()) {
        call.mutable_function()->set_name(call.function().name() +
                                          part.function().name());
      }
      call.mutable_function()->set_arguments(call.function().arguments() +
                                             part.function().arguments());
    }
    if (!delta.finish_reason().empty()) {
      choice.set_finish_reason(delta.finish_reason());
    }
  }
  return true;
}

v1::ChatCompletion ChatAssembler::Build() const {
  v1::ChatCompletion out = completion_;
  out.set_object("chat.completion");
  for (const auto& [index, choice] : choices_) {
    v1::Choice* c = out.add_choices();
    *c = choice;
    if (c->message().role().empty())
      c->mutable_message()->set_role("assistant");
    auto calls = tool_calls_.find(index);
    if (calls == tool_calls_.end()) continue;
    for (const v1::ToolCall& call : calls->second.calls) {
      v1::ToolCall* out_call = c->mutable_message()->add_tool_calls();
      *out_call = call;
      out_call->clear_index();
      if (out_call->type().empty()) out_call->set_type("function");
    }
  }
  return out;
}

}  // namespace aigw
