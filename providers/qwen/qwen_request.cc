#include "providers/qwen/qwen_request.h"

#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "providers/common/api_error.h"
#include "providers/common/json_struct.h"
#include "providers/common/openai_request_json.h"
#include "providers/common/param_policy.h"

namespace aigw {
namespace {

using nlohmann::json;

// DashScope generation parameters with no OpenAI equivalent that clients of
// DashScope's own SDKs send; they reach `parameters` unchanged.
constexpr const char* kNativeParameters[] = {"top_k",
                                             "repetition_penalty",
                                             "enable_search",
                                             "search_options",
                                             "enable_thinking",
                                             "thinking_budget",
                                             "vl_high_resolution_images"};

constexpr char kNoSuchField[] =
    "DashScope's native API has no such field (qwen provider, mode: native; "
    "mode: compatible passes OpenAI fields through)";

absl::Status Unsupported(absl::string_view param, absl::string_view why = "") {
  return UnsupportedParam(
      param, "DashScope's native API (qwen provider, mode: native)", why);
}

bool IsNativeParameter(absl::string_view key) {
  for (const char* name : kNativeParameters) {
    if (key == name) return true;
  }
  return false;
}

absl::StatusOr<json> PartsToText(const v1::Message& message,
                                 const std::string& path, ParamPolicy& policy) {
  std::string text;
  for (int j = 0; j < message.parts_size(); ++j) {
    const v1::ContentPart& part = message.parts(j);
    std::string p = absl::StrCat(path, ".content[", j, "]");
    if (part.type() == "image_url") {
      return InvalidRequest(
          absl::StrCat("'", p,
                       "': image input needs a vision model (qwen-vl-*, "
                       "qwen-omni-*, qvq-*) on DashScope."),
          p, "unsupported_content");
    }
    if (part.type() != "text") {
      return Unsupported(p + ".type", absl::StrCat("type '", part.type(), "'"));
    }
    AIGW_RETURN_IF_ERROR(UnknownFields(part.extra(), FieldScope::kContentPart,
                                       p, kNoSuchField, policy));
    // The text API takes one string; the parts are joined as sent.
    text += part.text();
  }
  return json(std::move(text));
}

absl::StatusOr<json> PartsToMultimodal(const v1::Message& message,
                                       const std::string& path,
                                       ParamPolicy& policy) {
  json items = json::array();
  for (int j = 0; j < message.parts_size(); ++j) {
    const v1::ContentPart& part = message.parts(j);
    std::string p = absl::StrCat(path, ".content[", j, "]");
    if (part.type() != "text" && part.type() != "image_url") {
      return Unsupported(p + ".type", absl::StrCat("type '", part.type(), "'"));
    }
    AIGW_RETURN_IF_ERROR(UnknownFields(part.extra(), FieldScope::kContentPart,
                                       p, kNoSuchField, policy));
    if (part.type() == "text") {
      items.push_back({{"text", part.text()}});
      continue;
    }
    const std::string& detail = part.image_url().detail();
    if (!detail.empty() && detail != "auto") {
      AIGW_RETURN_IF_ERROR(policy.Unsupported(Unsupported(
          p + ".image_url.detail", "DashScope has no image detail levels")));
    }
    // DashScope takes http(s) URLs and data: URLs with base64 alike.
    items.push_back({{"image", part.image_url().url()}});
  }
  return items;
}

absl::StatusOr<json> NativeMessage(const v1::Message& message,
                                   const std::string& path, bool multimodal,
                                   ParamPolicy& policy) {
  json out = json::object();
  if (message.role() == "function") {
    return Unsupported(path + ".role", "use 'tool' messages");
  }
  // DashScope has no "developer" role; it is the system prompt.
  out["role"] = message.role() == "developer" ? "system" : message.role();
  if (message.parts_size() > 0) {
    absl::StatusOr<json> content =
        multimodal ? PartsToMultimodal(message, path, policy)
                   : PartsToText(message, path, policy);
    if (!content.ok()) return content.status();
    out["content"] = std::move(*content);
  } else if (message.has_content() && multimodal) {
    out["content"] = json::array({{{"text", message.content()}}});
  } else if (!message.has_content() && !message.refusal().empty()) {
    // A refusal the model gave earlier is what it said in that turn.
    out["content"] = message.refusal();
  } else {
    out["content"] = message.content();  // "" for tool-call-only turns
  }
  if (!message.name().empty()) out["name"] = message.name();
  if (message.tool_calls_size() > 0) {
    json calls = json::array();
    for (const v1::ToolCall& call : message.tool_calls()) {
      calls.push_back({{"id", call.id()},
                       {"type", call.type().empty() ? "function" : call.type()},
                       {"function",
                        {{"name", call.function().name()},
                         {"arguments", call.function().arguments()}}}});
    }
    out["tool_calls"] = std::move(calls);
  }
  if (!message.tool_call_id().empty()) {
    out["tool_call_id"] = message.tool_call_id();
  }
  if (message.has_reasoning_content()) {
    out["reasoning_content"] = message.reasoning_content();
  }
  AIGW_RETURN_IF_ERROR(UnknownFields(message.extra(), FieldScope::kMessage,
                                     path, kNoSuchField, policy));
  return out;
}

absl::StatusOr<json> NativeTools(const v1::ChatCompletionRequest& request,
                                 ParamPolicy& policy) {
  json tools = json::array();
  for (int i = 0; i < request.tools_size(); ++i) {
    const v1::Tool& tool = request.tools(i);
    std::string p = absl::StrCat("tools[", i, "]");
    if (!tool.type().empty() && tool.type() != "function") {
      return Unsupported(p + ".type", absl::StrCat("type '", tool.type(), "'"));
    }
    AIGW_RETURN_IF_ERROR(UnknownFields(tool.extra(), FieldScope::kTool, p,
                                       kNoSuchField, policy));
    const v1::FunctionDefinition& fn = tool.function();
    // Without strict mode the schema is still sent: Qwen follows it.
    if (fn.has_strict() && fn.strict()) {
      AIGW_RETURN_IF_ERROR(
          policy.Unsupported(Unsupported(p + ".function.strict")));
    }
    json f = {{"name", fn.name()}};
    if (!fn.description().empty()) f["description"] = fn.description();
    if (fn.has_parameters()) f["parameters"] = StructToJson(fn.parameters());
    tools.push_back({{"type", "function"}, {"function", std::move(f)}});
  }
  return tools;
}

absl::Status AddToolChoice(const v1::ToolChoice& choice, ParamPolicy& policy,
                           json* parameters) {
  if (!choice.function_name().empty()) {
    (*parameters)["tool_choice"] = {
        {"type", "function"}, {"function", {{"name", choice.function_name()}}}};
  } else if (choice.mode() == "auto" || choice.mode() == "none") {
    (*parameters)["tool_choice"] = choice.mode();
  } else if (choice.mode() == "required") {
    return policy.Unsupported(
        Unsupported("tool_choice", "'required' has no DashScope equivalent"));
  } else if (!choice.mode().empty()) {
    return InvalidRequest(
        absl::StrCat("Invalid value for 'tool_choice': '", choice.mode(),
                     "'. Supported values are: 'none', 'auto' and "
                     "'required'."),
        "tool_choice", "invalid_value");
  }
  return absl::OkStatus();
}

absl::Status AddResponseFormat(const v1::ResponseFormat& format,
                               json* parameters) {
  if (format.type().empty()) return absl::OkStatus();
  json f = {{"type", format.type()}};
  if (format.type() == "json_schema") {
    const v1::JsonSchema& schema = format.json_schema();
    json s = {{"name", schema.name()}};
    if (!schema.description().empty()) s["description"] = schema.description();
    if (schema.has_schema()) s["schema"] = StructToJson(schema.schema());
    if (schema.has_strict()) s["strict"] = schema.strict();
    f["json_schema"] = std::move(s);
  } else if (format.type() != "text" && format.type() != "json_object") {
    return Unsupported("response_format.type",
                       absl::StrCat("type '", format.type(), "'"));
  }
  (*parameters)["response_format"] = std::move(f);
  return absl::OkStatus();
}

// QwQ, QVQ and the -thinking models always think: DashScope rejects
// enable_thinking false for them, so "no thinking" is left unsaid there.
bool ThinksOnly(absl::string_view model) {
  const std::string name = absl::AsciiStrToLower(model);
  return absl::StartsWith(name, "qwq") || absl::StartsWith(name, "qvq") ||
         absl::EndsWith(name, "-thinking") ||
         absl::StrContains(name, "-thinking-");
}

// A thinking budget in tokens (0: none) as DashScope's enable_thinking and
// thinking_budget; ones the client set itself win. `adaptive`: the model
// decides, so thinking goes on without a budget.
void AddThinking(absl::string_view model, int budget, bool adaptive,
                 json* target) {
  if (target->contains("enable_thinking")) return;
  if (budget <= 0 && ThinksOnly(model)) return;
  (*target)["enable_thinking"] = budget > 0;
  if (budget > 0 && !adaptive && !target->contains("thinking_budget")) {
    (*target)["thinking_budget"] = budget;
  }
}

absl::StatusOr<json> NativeParameters(const v1::ChatCompletionRequest& request,
                                      ParamPolicy& policy) {
  // `user` is informational and DashScope has no place for it: left out.
  // Neutral values (top_p 1, n 1, zero penalties) are left out too.
  if (request.has_frequency_penalty() && request.frequency_penalty() != 0) {
    AIGW_RETURN_IF_ERROR(policy.Unsupported(
        Unsupported("frequency_penalty", "use presence_penalty")));
  }
  json p = {{"result_format", "message"}, {"incremental_output", true}};
  if (request.has_temperature() && request.temperature() >= 2) {
    // OpenAI takes 0-2, DashScope [0, 2).
    AIGW_RETURN_IF_ERROR(policy.Unsupported(
        Unsupported("temperature", "DashScope takes values below 2")));
  } else if (request.has_temperature()) {
    p["temperature"] = request.temperature();
  }
  if (request.has_top_p() && request.top_p() != 1) p["top_p"] = request.top_p();
  if (request.has_presence_penalty() && request.presence_penalty() != 0) {
    p["presence_penalty"] = request.presence_penalty();
  }
  // max_completion_tokens is OpenAI's newer name for the same limit.
  if (request.has_max_completion_tokens()) {
    p["max_tokens"] = request.max_completion_tokens();
  } else if (request.has_max_tokens()) {
    p["max_tokens"] = request.max_tokens();
  }
  if (request.has_seed()) p["seed"] = request.seed();
  if (request.has_n() && request.n() != 1) p["n"] = request.n();
  if (request.stop_size() > 0) {
    json stop = json::array();
    for (const std::string& s : request.stop()) stop.push_back(s);
    p["stop"] = std::move(stop);
  }
  if (request.tools_size() > 0) {
    absl::StatusOr<json> tools = NativeTools(request, policy);
    if (!tools.ok()) return tools.status();
    p["tools"] = std::move(*tools);
  }
  absl::Status status = AddToolChoice(request.tool_choice(), policy, &p);
  if (!status.ok()) return status;
  if (request.has_parallel_tool_calls()) {
    p["parallel_tool_calls"] = request.parallel_tool_calls();
  }
  status = AddResponseFormat(request.response_format(), &p);
  if (!status.ok()) return status;
  google::protobuf::Struct rest;
  for (const auto& [key, value] : request.extra().fields()) {
    if (IsNativeParameter(key)) {
      p[key] = ValueToJson(value);
    } else if (key != "reasoning_effort") {
      (*rest.mutable_fields())[key] = value;
    }
  }
  auto effort = request.extra().fields().find("reasoning_effort");
  if (effort != request.extra().fields().end()) {
    // OpenAI's reasoning_effort (Qwen3 and QwQ models think on demand).
    absl::StatusOr<int> budget = ReasoningBudgetTokens(effort->second);
    if (!budget.ok()) return budget.status();
    AddThinking(request.model(), *budget, /*adaptive=*/false, &p);
  }
  // A budget in tokens (an Anthropic client's thinking) is DashScope's own.
  if (request.has_reasoning_budget_tokens()) {
    AddThinking(request.model(), request.reasoning_budget_tokens(),
                request.reasoning_adaptive(), &p);
  }
  AIGW_RETURN_IF_ERROR(
      UnknownFields(rest, FieldScope::kRequest, "", kNoSuchField, policy));
  return p;
}

}  // namespace

bool UsesMultimodalApi(absl::string_view model) {
  if (absl::StartsWith(model, "qvq")) return true;
  if (!absl::StartsWith(model, "qwen")) return false;
  return absl::StrContains(model, "-vl") || absl::StrContains(model, "-omni") ||
         absl::StrContains(model, "-audio");
}

absl::StatusOr<json> NativeChatBody(const v1::ChatCompletionRequest& request,
                                    ParamPolicy& policy) {
  const bool multimodal = UsesMultimodalApi(request.model());
  json messages = json::array();
  for (int i = 0; i < request.messages_size(); ++i) {
    absl::StatusOr<json> message =
        NativeMessage(request.messages(i), absl::StrCat("messages[", i, "]"),
                      multimodal, policy);
    if (!message.ok()) return message.status();
    messages.push_back(std::move(*message));
  }
  absl::StatusOr<json> parameters = NativeParameters(request, policy);
  if (!parameters.ok()) return parameters.status();
  return json{{"model", request.model()},
              {"input", {{"messages", std::move(messages)}}},
              {"parameters", std::move(*parameters)}};
}

json CompatibleChatBody(const v1::ChatCompletionRequest& request) {
  json body = ChatRequestToJson(request);
  body["stream"] = true;
  // The gateway always asks for usage (its own accounting); the core hides
  // the usage chunk from clients that did not ask for it.
  body["stream_options"] = {{"include_usage", true}};
  for (json& message : body["messages"]) {
    if (message.value("role", "") == "developer") message["role"] = "system";
  }
  // A budget in tokens (an Anthropic client's thinking) as the compatible
  // mode's own enable_thinking and thinking_budget.
  if (request.has_reasoning_budget_tokens()) {
    AddThinking(request.model(), request.reasoning_budget_tokens(),
                request.reasoning_adaptive(), &body);
  }
  return body;
}

absl::StatusOr<UpstreamRequest> ChatUpstreamRequest(
    const v1::ChatCompletionRequest& request, QwenMode mode,
    absl::string_view path_prefix, absl::string_view api_key,
    ParamPolicy& policy) {
  UpstreamRequest upstream;
  upstream.headers.emplace("Authorization", absl::StrCat("Bearer ", api_key));
  upstream.headers.emplace("Content-Type", "application/json");
  upstream.headers.emplace("Accept", "text/event-stream");
  if (mode == QwenMode::kCompatible) {
    upstream.path = absl::StrCat(path_prefix, kQwenCompatibleChatPath);
    upstream.body = CompatibleChatBody(request).dump(
        -1, ' ', false, json::error_handler_t::replace);
    return upstream;
  }
  absl::StatusOr<json> body = NativeChatBody(request, policy);
  if (!body.ok()) return body.status();
  upstream.path = absl::StrCat(path_prefix, UsesMultimodalApi(request.model())
                                                ? kQwenMultimodalGenerationPath
                                                : kQwenTextGenerationPath);
  upstream.headers.emplace("X-DashScope-SSE", "enable");
  upstream.body = body->dump(-1, ' ', false, json::error_handler_t::replace);
  return upstream;
}

}  // namespace aigw
