#include "providers/echo/echo_provider.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "providers/registry.h"

namespace aigw {
namespace {

std::vector<std::string> Words(absl::string_view text) {
  return absl::StrSplit(text, absl::ByAnyChar(" \t\r\n"), absl::SkipEmpty());
}

std::string MessageText(const v1::Message& message) {
  if (message.parts_size() == 0) return message.content();
  std::string text;
  for (const v1::ContentPart& part : message.parts()) {
    if (part.type() != "text") continue;
    if (!text.empty()) text += " ";
    text += part.text();
  }
  return text;
}

int CountPromptTokens(const v1::ChatCompletionRequest& request) {
  int tokens = 0;
  for (const v1::Message& message : request.messages()) {
    tokens += static_cast<int>(Words(MessageText(message)).size());
  }
  return tokens;
}

absl::StatusOr<std::unique_ptr<Provider>> CreateEcho(
    const ProviderConfig& config) {
  int delay_ms = 0;
  for (const auto& [key, value] : config.options) {
    if (key != "delay_ms") {
      return absl::InvalidArgumentError(
          absl::StrCat(key, ": not a key of the echo provider"));
    }
    if (!absl::SimpleAtoi(value, &delay_ms) || delay_ms < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("delay_ms: '", value, "' is not a number of ms"));
    }
  }
  return std::make_unique<EchoProvider>(absl::Milliseconds(delay_ms));
}

const ProviderRegistration kRegistration("echo", CreateEcho);

}  // namespace

absl::StatusOr<LocalAnswer> EchoProvider::LocalChat(
    const v1::ChatCompletionRequest& request) {
  LocalAnswer answer;
  std::vector<v1::ChatCompletionChunk>& out = answer.chunks;
  std::string text;
  for (const v1::Message& message : request.messages()) {
    if (message.role() == "user") text = MessageText(message);
  }
  std::vector<std::string> words = Words(text);
  int64_t limit = request.has_max_completion_tokens()
                      ? request.max_completion_tokens()
                      : (request.has_max_tokens() ? request.max_tokens() : -1);
  bool truncated = limit >= 0 && static_cast<int64_t>(words.size()) > limit;
  if (truncated) words.resize(limit);

  v1::ChatCompletionChunk base;
  base.set_id(absl::StrCat("chatcmpl-echo-", next_id_.fetch_add(1)));
  base.set_object("chat.completion.chunk");
  base.set_created(absl::ToUnixSeconds(absl::Now()));
  base.set_model(request.model());

  auto delta_chunk = [&base]() {
    v1::ChatCompletionChunk chunk = base;
    chunk.add_choices()->set_index(0);
    return chunk;
  };

  v1::ChatCompletionChunk first = delta_chunk();
  first.mutable_choices(0)->mutable_delta()->set_role("assistant");
  first.mutable_choices(0)->mutable_delta()->set_content("");
  out.push_back(std::move(first));

  for (size_t i = 0; i < words.size(); ++i) {
    v1::ChatCompletionChunk chunk = delta_chunk();
    chunk.mutable_choices(0)->mutable_delta()->set_content(
        i == 0 ? words[i] : absl::StrCat(" ", words[i]));
    answer.delays.resize(out.size(), absl::ZeroDuration());
    answer.delays.push_back(delay_);
    out.push_back(std::move(chunk));
  }

  v1::ChatCompletionChunk last = delta_chunk();
  last.mutable_choices(0)->set_finish_reason(truncated ? "length" : "stop");
  out.push_back(std::move(last));

  v1::ChatCompletionChunk usage = base;
  int prompt = CountPromptTokens(request);
  int completion = static_cast<int>(words.size());
  usage.mutable_usage()->set_prompt_tokens(prompt);
  usage.mutable_usage()->set_completion_tokens(completion);
  usage.mutable_usage()->set_total_tokens(prompt + completion);
  out.push_back(std::move(usage));
  return answer;
}

}  // namespace aigw
