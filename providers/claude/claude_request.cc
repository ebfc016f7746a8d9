#include "providers/claude/claude_request.h"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "providers/common/api_error.h"
#include "providers/common/json_struct.h"
#include "providers/common/param_policy.h"
#include "providers/common/reasoning_blocks.h"

namespace aigw {
namespace {

using nlohmann::json;

constexpr char kNoSuchField[] = "Claude's Messages API has no such field";

absl::Status Unsupported(absl::string_view param, absl::string_view why) {
  return UnsupportedParam(param, "the claude provider", why);
}

// Fields aigw does not model cannot be sent to Claude's own protocol; the
// ones that change nothing are left out, the others go through the policy.
absl::Status UnknownExtra(const google::protobuf::Struct& extra,
                          FieldScope scope, absl::string_view path,
                          ParamPolicy& policy) {
  return UnknownFields(extra, scope, path, kNoSuchField, policy);
}

// Anthropic's prompt-caching hint, which LiteLLM-style clients put on
// OpenAI content parts, goes onto the block it marks.
absl::Status ContentPartExtra(const v1::ContentPart& part,
                              const std::string& path, json* block,
                              ParamPolicy& policy) {
  google::protobuf::Struct rest = part.extra();
  auto cache = rest.fields().find("cache_control");
  if (cache != rest.fields().end()) {
    (*block)["cache_control"] = ValueToJson(cache->second);
    rest.mutable_fields()->erase("cache_control");
  }
  return UnknownExtra(rest, FieldScope::kContentPart, path, policy);
}

// data:<media type>[;param]*;base64,<data> becomes a base64 source, an
// http(s) URL a url source. Claude picks the resolution itself, so
// image_url.detail (a hint) has nothing to map to.
absl::StatusOr<json> ImageBlock(const v1::ImageUrl& image,
                                const std::string& param) {
  absl::string_view url = image.url();
  if (absl::StartsWith(url, "data:")) {
    size_t comma = url.find(',');
    absl::string_view meta =
        url.substr(5, comma == absl::string_view::npos ? 0 : comma - 5);
    size_t semicolon = meta.find(';');
    if (comma == absl::string_view::npos || !absl::EndsWith(meta, ";base64") ||
        semicolon == 0) {
      return InvalidRequest(
          absl::StrCat("'", param,
                       "' must be an http(s) URL or a base64 data URL "
                       "(data:<media type>;base64,<data>)"),
          param, "invalid_value");
    }
    return json{{"type", "image"},
                {"source",
                 {{"type", "base64"},
                  {"media_type", std::string(meta.substr(0, semicolon))},
                  {"data", std::string(url.substr(comma + 1))}}}};
  }
  if (absl::StartsWith(url, "https://") || absl::StartsWith(url, "http://")) {
    return json{{"type", "image"},
                {"source", {{"type", "url"}, {"url", std::string(url)}}}};
  }
  return InvalidRequest(
      absl::StrCat("'", param, "' must be an http(s) URL or a data URL"), param,
      "invalid_value");
}

// Appends the message's text and images as content blocks. Claude rejects
// empty text blocks, so empty text adds nothing.
absl::Status AppendContent(const v1::Message& message, const std::string& path,
                           ParamPolicy& policy, json* blocks) {
  if (message.parts().empty()) {
    if (!message.content().empty()) {
      blocks->push_back({{"type", "text"}, {"text", message.content()}});
    }
    return absl::OkStatus();
  }
  for (int i = 0; i < message.parts_size(); ++i) {
    const v1::ContentPart& part = message.parts(i);
    std::string p = absl::StrCat(path, ".content[", i, "]");
    if (part.type() == "text") {
      if (part.text().empty()) continue;
      json block = {{"type", "text"}, {"text", part.text()}};
      AIGW_RETURN_IF_ERROR(ContentPartExtra(part, p, &block, policy));
      blocks->push_back(std::move(block));
    } else if (part.type() == "image_url") {
      absl::StatusOr<json> image =
          ImageBlock(part.image_url(), p + ".image_url.url");
      if (!image.ok()) return image.status();
      AIGW_RETURN_IF_ERROR(ContentPartExtra(part, p, &*image, policy));
      blocks->push_back(std::move(*image));
    } else {
      return Unsupported(p + ".type",
                         absl::StrCat("content parts of type '", part.type(),
                                      "' (text and image_url are)"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<json> ToolUseBlock(const v1::ToolCall& call,
                                  const std::string& path) {
  if (!call.type().empty() && call.type() != "function") {
    return Unsupported(path + ".type", "only function tool calls exist");
  }
  if (call.id().empty()) {
    return InvalidRequest(absl::StrCat("'", path, ".id' is required"),
                          path + ".id", "missing_required");
  }
  json input = json::object();
  if (!call.function().arguments().empty()) {
    input = json::parse(call.function().arguments(), nullptr, false);
    if (input.is_discarded() || !input.is_object()) {
      std::string param = path + ".function.arguments";
      return InvalidRequest(
          absl::StrCat("'", param,
                       "' must be a JSON object (Claude takes "
                       "tool input as an object)"),
          param, "invalid_value");
    }
  }
  return json{{"type", "tool_use"},
              {"id", call.id()},
              {"name", call.function().name()},
              {"input", std::move(input)}};
}

// A role "tool" message: a tool_result block inside a user turn.
absl::StatusOr<json> ToolResultBlock(const v1::Message& message,
                                     const std::string& path,
                                     ParamPolicy& policy) {
  if (message.tool_call_id().empty()) {
    return InvalidRequest(absl::StrCat("'", path, ".tool_call_id' is required"),
                          path + ".tool_call_id", "missing_required");
  }
  json block = {{"type", "tool_result"},
                {"tool_use_id", message.tool_call_id()}};
  if (!message.parts().empty()) {
    json content = json::array();
    AIGW_RETURN_IF_ERROR(AppendContent(message, path, policy, &content));
    block["content"] = std::move(content);
  } else if (!message.content().empty()) {
    block["content"] = message.content();
  }
  return block;
}

// Translates one non-system message into the blocks of a Claude turn.
// `thinking`: the request enables thinking, so signed thinking of earlier
// turns goes back as Claude's thinking blocks (Claude requires them before
// the tool_use blocks of the turn that a tool result answers).
absl::Status MessageBlocks(const v1::Message& message, const std::string& path,
                           bool thinking, ParamPolicy& policy, json* blocks) {
  const std::string& role = message.role();
  if (role == "user") return AppendContent(message, path, policy, blocks);
  if (role == "tool") {
    absl::StatusOr<json> result = ToolResultBlock(message, path, policy);
    if (!result.ok()) return result.status();
    blocks->push_back(std::move(*result));
    return absl::OkStatus();
  }
  if (role != "assistant") {
    return Unsupported(path + ".role", absl::StrCat("the '", role,
                                                    "' role (use 'tool' for "
                                                    "tool results)"));
  }
  // Unsigned reasoning (another provider's) is not sent back: Claude
  // cannot accept thinking without its signature. Each signed block goes
  // back where it was among the turn's text and tool_use blocks.
  std::vector<v1::ReasoningBlock> reasoning;
  if (thinking) reasoning = ReasoningBlocksOf(message);
  auto add_thinking_in = [&](int slot) {
    for (const v1::ReasoningBlock& block : reasoning) {
      if (block.signature().empty()) continue;
      if (ReasoningSlot(block, message.tool_calls_size()) != slot) continue;
      blocks->push_back({{"type", "thinking"},
                         {"thinking", block.text()},
                         {"signature", block.signature()}});
    }
  };
  add_thinking_in(0);
  AIGW_RETURN_IF_ERROR(AppendContent(message, path, policy, blocks));
  // A refusal the model gave earlier is what it said in that turn.
  if (message.content().empty() && message.parts().empty() &&
      !message.refusal().empty()) {
    blocks->push_back({{"type", "text"}, {"text", message.refusal()}});
  }
  add_thinking_in(1);
  for (int j = 0; j < message.tool_calls_size(); ++j) {
    absl::StatusOr<json> use = ToolUseBlock(
        message.tool_calls(j), absl::StrCat(path, ".tool_calls[", j, "]"));
    if (!use.ok()) return use.status();
    blocks->push_back(std::move(*use));
    add_thinking_in(j + 2);
  }
  // Claude ends no message with thinking (it never writes one so): a block
  // after everything else in the turn is left out.
  auto is_thinking = [](const json& block) {
    return block.value("type", "") == "thinking";
  };
  if (std::any_of(blocks->begin(), blocks->end(),
                  [&](const json& block) { return !is_thinking(block); })) {
    while (is_thinking(blocks->back())) blocks->erase(blocks->end() - 1);
  }
  return absl::OkStatus();
}

json CacheControlJson(const v1::CacheControl& hint) {
  json out = {{"type", hint.type().empty() ? "ephemeral" : hint.type()}};
  if (!hint.ttl().empty()) out["ttl"] = hint.ttl();
  return out;
}

// A message's caching hint on its last block that takes one (thinking
// blocks take none).
void MarkCacheEnd(const v1::Message& message, json* blocks) {
  if (!message.has_cache_control()) return;
  for (auto block = blocks->rbegin(); block != blocks->rend(); ++block) {
    if (block->value("type", "") == "thinking") continue;
    (*block)["cache_control"] = CacheControlJson(message.cache_control());
    return;
  }
}

// System and developer messages go to the top-level `system` (text only);
// the others become alternating user/assistant turns, consecutive messages
// of one role merged because Claude requires alternation.
absl::Status TranslateMessages(const v1::ChatCompletionRequest& request,
                               ParamPolicy& policy, json* body) {
  json system = json::array();
  json turns = json::array();
  for (int i = 0; i < request.messages_size(); ++i) {
    const v1::Message& message = request.messages(i);
    std::string path = absl::StrCat("messages[", i, "]");
    // `name` (a participant label) has no place in Claude's turns and does
    // not change what was said: left out.
    AIGW_RETURN_IF_ERROR(
        UnknownExtra(message.extra(), FieldScope::kMessage, path, policy));
    if (message.role() == "system" || message.role() == "developer") {
      json blocks = json::array();
      AIGW_RETURN_IF_ERROR(AppendContent(message, path, policy, &blocks));
      for (const json& block : blocks) {
        if (block.value("type", "") != "text") {
          return Unsupported(path + ".content",
                             "Claude's system prompt is text only");
        }
      }
      MarkCacheEnd(message, &blocks);
      system.insert(system.end(), blocks.begin(), blocks.end());
      continue;
    }
    json blocks = json::array();
    AIGW_RETURN_IF_ERROR(
        MessageBlocks(message, path, ThinkingEnabled(*body), policy, &blocks));
    MarkCacheEnd(message, &blocks);
    if (blocks.empty()) {
      return InvalidRequest(
          absl::StrCat("'", path, ".content' must not be empty for Claude"),
          path + ".content", "invalid_value");
    }
    const char* role = message.role() == "assistant" ? "assistant" : "user";
    if (!turns.empty() && turns.back()["role"] == role) {
      json& content = turns.back()["content"];
      content.insert(content.end(), blocks.begin(), blocks.end());
    } else {
      turns.push_back({{"role", role}, {"content", std::move(blocks)}});
    }
  }
  if (!system.empty()) (*body)["system"] = std::move(system);
  (*body)["messages"] = std::move(turns);
  return absl::OkStatus();
}

absl::Status TranslateTools(const v1::ChatCompletionRequest& request,
                            ParamPolicy& policy, json* body) {
  json tools = json::array();
  for (int i = 0; i < request.tools_size(); ++i) {
    const v1::Tool& tool = request.tools(i);
    std::string path = absl::StrCat("tools[", i, "]");
    AIGW_RETURN_IF_ERROR(
        UnknownExtra(tool.extra(), FieldScope::kTool, path, policy));
    if (tool.type() != "function") {
      return Unsupported(path + ".type", "only function tools are");
    }
    const v1::FunctionDefinition& fn = tool.function();
    json schema = StructToJson(fn.parameters());
    // OpenAI allows a function without parameters; Claude needs a schema.
    if (schema.empty()) {
      schema = {{"type", "object"}, {"properties", json::object()}};
    }
    json out = {{"name", fn.name()}, {"input_schema", std::move(schema)}};
    if (!fn.description().empty()) out["description"] = fn.description();
    if (fn.strict()) out["strict"] = true;
    if (tool.has_cache_control()) {
      out["cache_control"] = CacheControlJson(tool.cache_control());
    }
    tools.push_back(std::move(out));
  }
  if (!tools.empty()) (*body)["tools"] = std::move(tools);

  const v1::ToolChoice& tc = request.tool_choice();
  json choice;
  if (!tc.function_name().empty()) {
    choice = {{"type", "tool"}, {"name", tc.function_name()}};
  } else if (tc.mode() == "auto") {
    choice = {{"type", "auto"}};
  } else if (tc.mode() == "required") {
    choice = {{"type", "any"}};
  } else if (tc.mode() == "none") {
    choice = {{"type", "none"}};
  } else if (!tc.mode().empty()) {
    return InvalidRequest(
        absl::StrCat("Invalid value for 'tool_choice': '", tc.mode(),
                     "'. Supported values are: 'none', 'auto' and "
                     "'required'."),
        "tool_choice", "invalid_value");
  }
  // Claude only takes tool_choice with tools; without tools there are no
  // parallel calls to disable.
  if (request.has_parallel_tool_calls() && !request.parallel_tool_calls() &&
      !request.tools().empty()) {
    if (choice.is_null()) choice = {{"type", "auto"}};
    if (choice["type"] != "none") choice["disable_parallel_tool_use"] = true;
  }
  if (!choice.is_null()) (*body)["tool_choice"] = std::move(choice);
  return absl::OkStatus();
}

absl::Status TranslateResponseFormat(const v1::ResponseFormat& format,
                                     ParamPolicy& policy, json* body) {
  if (format.type().empty() || format.type() == "text") {
    return absl::OkStatus();
  }
  if (format.type() == "json_object") {
    return policy.Unsupported(
        Unsupported("response_format.type",
                    "Claude has no schema-less JSON mode; use "
                    "'json_schema' with a schema"));
  }
  if (format.type() != "json_schema") {
    return InvalidRequest(
        absl::StrCat("Invalid value for 'response_format.type': '",
                     format.type(), "'."),
        "response_format.type", "invalid_value");
  }
  const v1::JsonSchema& schema = format.json_schema();
  // json_schema.name is only a label; the description would steer the
  // answer and Claude has no place for it.
  if (!schema.description().empty()) {
    AIGW_RETURN_IF_ERROR(policy.Unsupported(
        Unsupported("response_format.json_schema.description",
                    "Claude's output format takes only a schema")));
  }
  if (!schema.has_schema()) {
    return InvalidRequest(
        "'response_format.json_schema.schema' is required for Claude",
        "response_format.json_schema.schema", "missing_required");
  }
  (*body)["output_config"]["format"] = {
      {"type", "json_schema"}, {"schema", StructToJson(schema.schema())}};
  return absl::OkStatus();
}

// Claude refuses enabled thinking when the ongoing tool-use turn (its
// assistant turn spans the tool loops after the last user message) does
// not start with its signed thinking (a client that did not keep the
// signature, or another provider's turn), and when tool_choice forces a
// tool. Earlier turns' thinking is optional.
bool ThinkingPossible(const v1::ChatCompletionRequest& request) {
  int start = request.messages_size();
  while (start > 0 && request.messages(start - 1).role() != "user") --start;
  const v1::Message* first = nullptr;
  bool tool_use = false;
  for (int i = start; i < request.messages_size(); ++i) {
    const v1::Message& message = request.messages(i);
    if (message.role() != "assistant") continue;
    if (first == nullptr) first = &message;
    tool_use = tool_use || message.tool_calls_size() > 0;
  }
  if (tool_use) {
    bool starts_signed = false;
    for (const v1::ReasoningBlock& block : ReasoningBlocksOf(*first)) {
      starts_signed = starts_signed ||
                      (!block.signature().empty() &&
                       ReasoningSlot(block, first->tool_calls_size()) == 0);
    }
    if (!starts_signed) return false;
  }
  const v1::ToolChoice& choice = request.tool_choice();
  return choice.function_name().empty() && choice.mode() != "required";
}

// Claude's own request keys a client may send through the OpenAI API (the
// SDKs' extra body): extended thinking and top_k; OpenAI's reasoning_effort
// becomes a thinking budget. The rest go through the policy.
// `*budget_from_effort` tells whether the thinking budget came from
// reasoning_effort (OpenAI's meaning: on top of the answer's max_tokens).
absl::Status TranslateExtra(const v1::ChatCompletionRequest& request,
                            ParamPolicy& policy, json* body,
                            bool* budget_from_effort) {
  google::protobuf::Struct rest = request.extra();
  auto& fields = *rest.mutable_fields();
  auto thinking = fields.find("thinking");
  if (thinking != fields.end()) {
    if (!thinking->second.has_struct_value()) {
      return InvalidRequest(
          "'thinking' must be an object, e.g. "
          R"({"type":"enabled","budget_tokens":2048})",
          "thinking", "invalid_type");
    }
    json config = ValueToJson(thinking->second);
    auto type = config.find("type");
    if (type != config.end() && !type->is_string()) {
      return InvalidRequest("'thinking.type' must be a string", "thinking.type",
                            "invalid_type");
    }
    auto budget = config.find("budget_tokens");
    if (budget != config.end() &&
        (!budget->is_number() || budget->get<double>() < 0 ||
         budget->get<double>() > INT32_MAX ||
         std::floor(budget->get<double>()) != budget->get<double>())) {
      return InvalidRequest(
          "'thinking.budget_tokens' must be a non-negative integer",
          "thinking.budget_tokens", "invalid_type");
    }
    (*body)["thinking"] = std::move(config);
    fields.erase(thinking);
  }
  auto effort = fields.find("reasoning_effort");
  if (effort != fields.end()) {
    absl::StatusOr<int> budget = ReasoningBudgetTokens(effort->second);
    if (!budget.ok()) return budget.status();
    // An explicit `thinking` says more than the effort level.
    if (*budget > 0 && !body->contains("thinking")) {
      if (ThinkingPossible(request)) {
        (*body)["thinking"] = {{"type", "enabled"}, {"budget_tokens", *budget}};
        *budget_from_effort = true;
      } else {
        AIGW_RETURN_IF_ERROR(policy.Unsupported(Unsupported(
            "reasoning_effort",
            "Claude cannot think in a tool-use conversation without the "
            "signed thinking of its earlier turns, nor with a forced "
            "tool_choice")));
      }
    }
    fields.erase(effort);
  }
  // A budget in tokens (an Anthropic client's own thinking.budget_tokens)
  // keeps Claude's meaning: inside max_tokens.
  if (request.has_reasoning_budget_tokens() && !body->contains("thinking")) {
    if (request.reasoning_budget_tokens() == 0) {
      (*body)["thinking"] = {{"type", "disabled"}};
    } else if (request.reasoning_adaptive()) {
      // The model decides: it may skip thinking, tool turns included.
      (*body)["thinking"] = {{"type", "adaptive"}};
    } else if (ThinkingPossible(request)) {
      (*body)["thinking"] = {
          {"type", "enabled"},
          {"budget_tokens", request.reasoning_budget_tokens()}};
    } else {
      AIGW_RETURN_IF_ERROR(policy.Unsupported(Unsupported(
          "thinking",
          "Claude cannot think in a tool-use conversation without the "
          "signed thinking of its earlier turns, nor with a forced "
          "tool_choice")));
    }
  }
  auto top_k = fields.find("top_k");
  if (top_k != fields.end()) {
    double k = top_k->second.number_value();
    if (!top_k->second.has_number_value() || k < 0 || k > 1e9 ||
        std::floor(k) != k) {
      return InvalidRequest("'top_k' must be a non-negative integer", "top_k",
                            "invalid_type");
    }
    (*body)["top_k"] = static_cast<int64_t>(top_k->second.number_value());
    fields.erase(top_k);
  }
  return UnknownExtra(rest, FieldScope::kRequest, "", policy);
}

// Sampling and limits. Values that mean "the default" (n 1, zero
// penalties, top_p 1) are left out: newer Claude models reject
// temperature and top_p together, and NextChat always sends top_p 1.
absl::Status TranslateSampling(const v1::ChatCompletionRequest& request,
                               bool budget_from_effort, ParamPolicy& policy,
                               json* body) {
  const bool thinking = ThinkingEnabled(*body);
  if (request.has_n() && request.n() != 1) {
    AIGW_RETURN_IF_ERROR(policy.Unsupported(
        Unsupported("n", "Claude returns one choice per request")));
  }
  if (request.has_seed()) {
    AIGW_RETURN_IF_ERROR(policy.Unsupported(
        Unsupported("seed", "Claude has no seeded sampling")));
  }
  if (request.has_presence_penalty() && request.presence_penalty() != 0) {
    AIGW_RETURN_IF_ERROR(policy.Unsupported(
        Unsupported("presence_penalty", "Claude has no penalties")));
  }
  if (request.has_frequency_penalty() && request.frequency_penalty() != 0) {
    AIGW_RETURN_IF_ERROR(policy.Unsupported(
        Unsupported("frequency_penalty", "Claude has no penalties")));
  }
  int max_tokens = kClaudeDefaultMaxTokens;
  if (request.has_max_completion_tokens()) {
    max_tokens = request.max_completion_tokens();
  } else if (request.has_max_tokens()) {
    max_tokens = request.max_tokens();
  }
  // Claude counts thinking inside max_tokens. With reasoning_effort the
  // client's limit was meant for the answer: the budget comes on top,
  // within the smallest output limit of current models (the budget shrinks
  // to fit). An explicit `thinking` is Claude's own meaning, unless it
  // leaves no room at all.
  if (thinking) {
    constexpr int64_t kMaxOutputTokens = 32000;
    constexpr int64_t kMinBudget = 1024;
    json& config = (*body)["thinking"];
    int64_t budget = config.value("budget_tokens", int64_t{0});
    const bool from_effort = budget_from_effort;
    if (from_effort) {
      budget =
          std::max(kMinBudget, std::min(budget, kMaxOutputTokens - max_tokens));
      config["budget_tokens"] = budget;
    }
    if ((from_effort || budget >= max_tokens) &&
        budget < INT32_MAX - max_tokens) {
      max_tokens += static_cast<int>(budget);
    }
  }
  (*body)["max_tokens"] = max_tokens;
  if (request.has_temperature() && request.temperature() > 1) {
    // OpenAI's range is 0-2, Claude's 0-1.
    AIGW_RETURN_IF_ERROR(
        policy.Unsupported(Unsupported("temperature", "Claude takes 0 to 1")));
  } else if (request.has_temperature()) {
    if (thinking && request.temperature() != 1) {
      AIGW_RETURN_IF_ERROR(policy.Unsupported(Unsupported(
          "temperature", "Claude takes only 1 while thinking is enabled")));
    } else {
      (*body)["temperature"] = request.temperature();
    }
  }
  if (request.has_top_p() && request.top_p() != 1) {
    if (thinking && request.top_p() < 0.95) {
      AIGW_RETURN_IF_ERROR(policy.Unsupported(Unsupported(
          "top_p", "Claude takes 0.95 to 1 while thinking is enabled")));
    } else {
      (*body)["top_p"] = request.top_p();
    }
  }
  if (thinking && body->contains("top_k")) {
    body->erase("top_k");
    AIGW_RETURN_IF_ERROR(policy.Unsupported(
        Unsupported("top_k", "Claude takes no top_k while thinking")));
  }
  if (!request.stop().empty()) {
    (*body)["stop_sequences"] = json(
        std::vector<std::string>(request.stop().begin(), request.stop().end()));
  }
  if (!request.user().empty()) {
    (*body)["metadata"]["user_id"] = request.user();
  }
  return absl::OkStatus();
}

}  // namespace

bool ThinkingEnabled(const json& body) {
  auto thinking = body.find("thinking");
  if (thinking == body.end()) return false;
  const std::string type = StringAt(*thinking, "type");
  return type == "enabled" || type == "adaptive";
}

absl::StatusOr<json> ClaudeRequestJson(const v1::ChatCompletionRequest& request,
                                       ParamPolicy& policy) {
  json body = json::object();
  body["model"] = request.model();
  bool budget_from_effort = false;
  AIGW_RETURN_IF_ERROR(
      TranslateExtra(request, policy, &body, &budget_from_effort));
  AIGW_RETURN_IF_ERROR(TranslateMessages(request, policy, &body));
  AIGW_RETURN_IF_ERROR(
      TranslateSampling(request, budget_from_effort, policy, &body));
  AIGW_RETURN_IF_ERROR(TranslateTools(request, policy, &body));
  AIGW_RETURN_IF_ERROR(
      TranslateResponseFormat(request.response_format(), policy, &body));
  return body;
}

UpstreamRequest ClaudeHttpRequest(absl::string_view path_prefix,
                                  absl::string_view api_key,
                                  absl::string_view anthropic_version,
                                  std::string body, bool stream) {
  UpstreamRequest request;
  request.path = absl::StrCat(path_prefix, "/v1/messages");
  request.headers.emplace("x-api-key", std::string(api_key));
  request.headers.emplace("anthropic-version", std::string(anthropic_version));
  request.headers.emplace("content-type", "application/json");
  request.headers.emplace("accept",
                          stream ? "text/event-stream" : "application/json");
  request.body = std::move(body);
  return request;
}

}  // namespace aigw
