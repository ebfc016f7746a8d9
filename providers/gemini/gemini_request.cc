#include "providers/gemini/gemini_request.h"

#include <algorithm>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "providers/common/api_error.h"
#include "providers/common/json_struct.h"
#include "providers/common/param_policy.h"

namespace aigw {
namespace {

using nlohmann::json;

// Gemini 3 rejects a replayed functionCall without the thought signature it
// was sent with; the canonical tool call cannot carry it, so history gets
// the value Google documents for calls whose signature is unknown.
constexpr char kUnknownThoughtSignature[] = "skip_thought_signature_validator";

constexpr char kNoSuchField[] = "Gemini has no such field";

absl::Status Unsupported(absl::string_view param, absl::string_view why) {
  return InvalidRequest(absl::StrCat("'", param, "' ", why), param,
                        "unsupported_parameter");
}

bool IsModelIdChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' ||
         c == '_' || c == '.';
}

// Image URL extensions Gemini reads; anything else is sent as JPEG, the
// most common type of extension-less image URLs.
std::string GuessImageMimeType(absl::string_view url) {
  url = url.substr(0, url.find_first_of("?#"));
  size_t slash = url.rfind('/');
  absl::string_view file =
      slash == absl::string_view::npos ? url : url.substr(slash + 1);
  size_t dot = file.rfind('.');
  if (dot == absl::string_view::npos) return "image/jpeg";
  std::string ext = absl::AsciiStrToLower(file.substr(dot + 1));
  if (ext == "png") return "image/png";
  if (ext == "webp") return "image/webp";
  if (ext == "gif") return "image/gif";
  if (ext == "heic") return "image/heic";
  if (ext == "heif") return "image/heif";
  return "image/jpeg";
}

absl::StatusOr<json> ImagePart(const v1::ImageUrl& image,
                               const std::string& path, ParamPolicy& policy) {
  const std::string& detail = image.detail();
  if (!detail.empty() && detail != "auto") {
    AIGW_RETURN_IF_ERROR(policy.Unsupported(
        Unsupported(absl::StrCat(path, ".image_url.detail"),
                    "is not supported by Gemini (only \"auto\")")));
  }
  const std::string& url = image.url();
  std::string url_param = absl::StrCat(path, ".image_url.url");
  if (absl::StartsWith(url, "data:")) {
    size_t comma = url.find(',');
    std::vector<absl::string_view> meta;
    if (comma != std::string::npos) {
      meta = absl::StrSplit(absl::string_view(url).substr(5, comma - 5), ';');
    }
    bool base64 = meta.size() > 1 && meta.back() == "base64";
    if (!base64 || meta.front().empty()) {
      return InvalidRequest(
          absl::StrCat("'", url_param,
                       "' must be a base64 data URL with a MIME type "
                       "(data:image/png;base64,...)."),
          url_param, "invalid_value");
    }
    return json{{"inlineData",
                 {{"mimeType", std::string(meta.front())},
                  {"data", url.substr(comma + 1)}}}};
  }
  std::string lower = absl::AsciiStrToLower(url.substr(0, 8));
  if (absl::StartsWith(lower, "http://") ||
      absl::StartsWith(lower, "https://")) {
    return json{{"fileData",
                 {{"mimeType", GuessImageMimeType(url)}, {"fileUri", url}}}};
  }
  return InvalidRequest(
      absl::StrCat("'", url_param,
                   "' must be an http(s) URL or a base64 data URL."),
      url_param, "invalid_value");
}

// Appends the text and image parts of a message's content.
absl::Status AppendContent(const v1::Message& message, const std::string& path,
                           bool images_allowed, ParamPolicy& policy,
                           json* parts) {
  // Gemini rejects empty text parts ("" beside tool calls is common).
  if (!message.content().empty()) {
    parts->push_back({{"text", message.content()}});
  }
  for (int j = 0; j < message.parts_size(); ++j) {
    const v1::ContentPart& part = message.parts(j);
    std::string part_path = absl::StrCat(path, ".content[", j, "]");
    bool image = part.type() == "image_url" && images_allowed;
    if (part.type() != "text" && !image) {
      return Unsupported(
          absl::StrCat(part_path, ".type"),
          absl::StrCat("'", part.type(), "' is not supported by Gemini in ",
                       message.role(), " messages"));
    }
    AIGW_RETURN_IF_ERROR(UnknownFields(part.extra(), FieldScope::kContentPart,
                                       part_path, kNoSuchField, policy));
    if (!image) {
      if (!part.text().empty()) parts->push_back({{"text", part.text()}});
      continue;
    }
    absl::StatusOr<json> data = ImagePart(part.image_url(), part_path, policy);
    if (!data.ok()) return data.status();
    parts->push_back(std::move(*data));
  }
  return absl::OkStatus();
}

absl::StatusOr<json> FunctionCallPart(const v1::ToolCall& call,
                                      const std::string& path) {
  if (!call.type().empty() && call.type() != "function") {
    return Unsupported(absl::StrCat(path, ".type"),
                       "must be \"function\" for Gemini");
  }
  if (call.function().name().empty()) {
    std::string param = absl::StrCat(path, ".function.name");
    return InvalidRequest(absl::StrCat("'", param, "' is required."), param,
                          "missing_required");
  }
  const std::string& text = call.function().arguments();
  json args = text.empty() ? json::object() : json::parse(text, nullptr, false);
  if (!args.is_object()) {
    std::string param = absl::StrCat(path, ".function.arguments");
    return InvalidRequest(
        absl::StrCat("'", param, "' must be a JSON object (as text)."), param,
        "invalid_value");
  }
  return json{{"functionCall",
               {{"name", call.function().name()}, {"args", std::move(args)}}}};
}

absl::StatusOr<json> ModelParts(const v1::Message& message,
                                const std::string& path, ParamPolicy& policy) {
  json parts = json::array();
  if (message.has_reasoning_content() && !message.reasoning_content().empty()) {
    parts.push_back({{"text", message.reasoning_content()}, {"thought", true}});
  }
  absl::Status status = AppendContent(message, path, true, policy, &parts);
  if (!status.ok()) return status;
  if (message.has_refusal() && !message.refusal().empty()) {
    parts.push_back({{"text", message.refusal()}});
  }
  for (int k = 0; k < message.tool_calls_size(); ++k) {
    absl::StatusOr<json> call = FunctionCallPart(
        message.tool_calls(k), absl::StrCat(path, ".tool_calls[", k, "]"));
    if (!call.ok()) return call.status();
    if (k == 0) (*call)["thoughtSignature"] = kUnknownThoughtSignature;
    parts.push_back(std::move(*call));
  }
  return parts;
}

// The function a tool result answers: the latest earlier assistant tool call
// with its id (ids may repeat across turns), else the message's own name.
absl::StatusOr<std::string> ToolResultName(
    const v1::ChatCompletionRequest& request, int i) {
  const v1::Message& message = request.messages(i);
  if (!message.tool_call_id().empty()) {
    for (int m = i - 1; m >= 0; --m) {
      if (request.messages(m).role() != "assistant") continue;
      for (const v1::ToolCall& call : request.messages(m).tool_calls()) {
        if (call.id() == message.tool_call_id()) return call.function().name();
      }
    }
  }
  if (!message.name().empty()) return message.name();
  std::string param = absl::StrCat("messages[", i, "].tool_call_id");
  return InvalidRequest(
      absl::StrCat("'", param, "' ('", message.tool_call_id(),
                   "') does not match a tool call of an earlier assistant "
                   "message; Gemini needs the function's name."),
      param, "invalid_value");
}

absl::StatusOr<json> FunctionResponsePart(
    const v1::ChatCompletionRequest& request, int i, ParamPolicy& policy) {
  const v1::Message& message = request.messages(i);
  std::string path = absl::StrCat("messages[", i, "]");
  absl::StatusOr<std::string> name = ToolResultName(request, i);
  if (!name.ok()) return name.status();
  std::string text = message.content();
  for (int j = 0; j < message.parts_size(); ++j) {
    const v1::ContentPart& part = message.parts(j);
    std::string part_path = absl::StrCat(path, ".content[", j, "]");
    if (part.type() != "text") {
      return Unsupported(absl::StrCat(part_path, ".type"),
                         "must be \"text\" in tool results for Gemini");
    }
    AIGW_RETURN_IF_ERROR(UnknownFields(part.extra(), FieldScope::kContentPart,
                                       part_path, kNoSuchField, policy));
    text += part.text();
  }
  // Gemini's response is a JSON object: results that are one are sent as
  // such, anything else as {"content": text}.
  json response = json::parse(text, nullptr, false);
  if (!response.is_object()) response = json{{"content", text}};
  return json{{"functionResponse",
               {{"name", *name}, {"response", std::move(response)}}}};
}

absl::Status AddMessages(const v1::ChatCompletionRequest& request,
                         ParamPolicy& policy, json* body) {
  json contents = json::array();
  json system = json::array();
  for (int i = 0; i < request.messages_size(); ++i) {
    const v1::Message& message = request.messages(i);
    std::string path = absl::StrCat("messages[", i, "]");
    AIGW_RETURN_IF_ERROR(UnknownFields(message.extra(), FieldScope::kMessage,
                                       path, kNoSuchField, policy));
    const std::string& role = message.role();
    bool is_result = role == "tool" || role == "function";
    // Outside tool results, `name` (a participant label) has no place in
    // Gemini's turns and does not change what was said: left out.
    std::string gemini_role = "user";
    json parts = json::array();
    absl::Status status;
    if (role == "system" || role == "developer") {
      status = AppendContent(message, path, false, policy, &system);
      if (!status.ok()) return status;
      continue;
    } else if (role == "assistant") {
      gemini_role = "model";
      absl::StatusOr<json> model_parts = ModelParts(message, path, policy);
      if (!model_parts.ok()) return model_parts.status();
      parts = std::move(*model_parts);
    } else if (is_result) {
      absl::StatusOr<json> result = FunctionResponsePart(request, i, policy);
      if (!result.ok()) return result.status();
      parts.push_back(std::move(*result));
    } else {
      status = AppendContent(message, path, true, policy, &parts);
      if (!status.ok()) return status;
    }
    if (parts.empty()) continue;  // an empty turn says nothing
    // Gemini wants alternating turns: consecutive same-role turns (several
    // tool results, a user message after them) become one.
    if (!contents.empty() && contents.back()["role"] == gemini_role) {
      for (json& part : parts) contents.back()["parts"].push_back(part);
    } else {
      contents.push_back({{"role", gemini_role}, {"parts", std::move(parts)}});
    }
  }
  if (contents.empty()) {
    return InvalidRequest(
        "Gemini needs at least one user or assistant message besides system "
        "messages.",
        "messages", "invalid_value");
  }
  (*body)["contents"] = std::move(contents);
  if (!system.empty()) (*body)["systemInstruction"] = {{"parts", system}};
  return absl::OkStatus();
}

absl::Status AddTools(const v1::ChatCompletionRequest& request,
                      ParamPolicy& policy, json* body) {
  json declarations = json::array();
  for (int i = 0; i < request.tools_size(); ++i) {
    const v1::Tool& tool = request.tools(i);
    std::string path = absl::StrCat("tools[", i, "]");
    AIGW_RETURN_IF_ERROR(UnknownFields(tool.extra(), FieldScope::kTool, path,
                                       kNoSuchField, policy));
    if (!tool.type().empty() && tool.type() != "function") {
      return Unsupported(absl::StrCat(path, ".type"),
                         "must be \"function\" for Gemini");
    }
    const v1::FunctionDefinition& fn = tool.function();
    // Without strict mode the schema is still sent: Gemini follows it.
    if (fn.has_strict() && fn.strict()) {
      AIGW_RETURN_IF_ERROR(policy.Unsupported(
          Unsupported(absl::StrCat(path, ".function.strict"),
                      "is not supported by Gemini (send false or omit it)")));
    }
    json declaration = {{"name", fn.name()}};
    if (!fn.description().empty()) {
      declaration["description"] = fn.description();
    }
    // The client's schema is JSON Schema (zod's and strict tools' carry
    // additionalProperties, $ref, ...): Gemini's `parametersJsonSchema`
    // takes it as it is; its `parameters` takes only an OpenAPI subset.
    if (fn.has_parameters()) {
      declaration["parametersJsonSchema"] = StructToJson(fn.parameters());
    }
    declarations.push_back(std::move(declaration));
  }
  if (!declarations.empty()) {
    (*body)["tools"] = json::array({{{"functionDeclarations", declarations}}});
  }
  const v1::ToolChoice& choice = request.tool_choice();
  json config;
  if (!choice.function_name().empty()) {
    config = {{"mode", "ANY"},
              {"allowedFunctionNames", json::array({choice.function_name()})}};
  } else if (choice.mode() == "auto") {
    config = {{"mode", "AUTO"}};
  } else if (choice.mode() == "required") {
    config = {{"mode", "ANY"}};
  } else if (choice.mode() == "none") {
    config = {{"mode", "NONE"}};
  } else if (!choice.mode().empty()) {
    return InvalidRequest(
        absl::StrCat("Invalid value for 'tool_choice': '", choice.mode(),
                     "'. Supported values are: 'none', 'auto' and "
                     "'required'."),
        "tool_choice", "invalid_value");
  }
  if (!config.is_null()) {
    (*body)["toolConfig"] = {{"functionCallingConfig", std::move(config)}};
  }
  if (request.has_parallel_tool_calls() && !request.parallel_tool_calls()) {
    AIGW_RETURN_IF_ERROR(policy.Unsupported(
        Unsupported("parallel_tool_calls",
                    "cannot be false for Gemini (it may always call "
                    "several functions)")));
  }
  return absl::OkStatus();
}

// A Gemini 2.5 thinking budget: within 24576 tokens, and 0 (thinking off)
// only for Flash models (null: leave the model's default).
json Gemini25Budget(absl::string_view model, int budget) {
  constexpr int kMaxBudget = 24576;
  constexpr int kMinBudget = 512;  // Flash-Lite's floor; Pro's is 128
  if (budget == 0) {
    if (!absl::StrContains(model, "flash")) return json();
    return json{{"thinkingBudget", 0}};
  }
  return json{{"thinkingBudget", std::clamp(budget, kMinBudget, kMaxBudget)}};
}

// reasoning_effort as the model family takes it: Gemini 3 has thinking
// levels; 2.5 has budgets, within 24576 tokens, and only Flash models can
// turn thinking off (0). null: leave the model's default.
absl::StatusOr<json> ThinkingConfig(absl::string_view model,
                                    const google::protobuf::Value& effort) {
  absl::StatusOr<int> budget = ReasoningBudgetTokens(effort);
  if (!budget.ok()) return budget.status();
  const std::string& level = effort.string_value();
  if (absl::StrContains(model, "gemini-3")) {
    if (level == "none") return json();
    bool low = level == "minimal" || level == "low";
    return json{{"thinkingLevel", low ? "low" : "high"}};
  }
  // minimal asks for the least thinking, not none.
  return Gemini25Budget(model, level == "none" ? 0 : std::max(*budget, 1));
}

// A budget in tokens (an Anthropic client's thinking): Gemini 2.5's own
// unit, within its range; Gemini 3's level nearest to it. A client that
// asks for thinking this way shows it: the thought summaries come back.
json BudgetThinkingConfig(absl::string_view model, int budget) {
  if (absl::StrContains(model, "gemini-3")) {
    if (budget == 0) return json();
    return json{{"thinkingLevel", budget <= 4096 ? "low" : "high"},
                {"includeThoughts", true}};
  }
  json config = Gemini25Budget(model, budget);
  if (budget > 0) config["includeThoughts"] = true;
  return config;
}

// Gemini's equivalents of OpenAI fields that the canonical request keeps
// in `extra`: reasoning_effort, logprobs and top_logprobs.
absl::Status AddExtra(const v1::ChatCompletionRequest& request,
                      ParamPolicy& policy, json* config) {
  google::protobuf::Struct rest = request.extra();
  auto& fields = *rest.mutable_fields();
  auto effort = fields.find("reasoning_effort");
  if (effort != fields.end()) {
    absl::StatusOr<json> thinking =
        ThinkingConfig(request.model(), effort->second);
    if (!thinking.ok()) return thinking.status();
    if (!thinking->is_null()) (*config)["thinkingConfig"] = *thinking;
    fields.erase(effort);
  } else if (request.reasoning_adaptive() &&
             request.reasoning_budget_tokens() > 0) {
    // The model decides how much to think: Gemini's dynamic thinking (2.5:
    // budget -1; 3: its default level), thoughts shown.
    json thinking = {{"includeThoughts", true}};
    if (!absl::StrContains(request.model(), "gemini-3")) {
      thinking["thinkingBudget"] = -1;
    }
    (*config)["thinkingConfig"] = std::move(thinking);
  } else if (request.has_reasoning_budget_tokens()) {
    json thinking = BudgetThinkingConfig(request.model(),
                                         request.reasoning_budget_tokens());
    if (!thinking.is_null()) (*config)["thinkingConfig"] = std::move(thinking);
  }
  auto logprobs = fields.find("logprobs");
  if (logprobs != fields.end() && logprobs->second.bool_value()) {
    (*config)["responseLogprobs"] = true;
    fields.erase(logprobs);
    auto top = fields.find("top_logprobs");
    if (top != fields.end() && top->second.has_number_value()) {
      double n = top->second.number_value();
      if (n < 0 || n > 20 || n != static_cast<int>(n)) {
        return InvalidRequest(
            "'top_logprobs' must be an integer between 0 and 20.",
            "top_logprobs", "invalid_value");
      }
      if (n > 0) (*config)["logprobs"] = static_cast<int>(n);
      fields.erase(top);
    }
  }
  return UnknownFields(rest, FieldScope::kRequest, "", kNoSuchField, policy);
}

absl::Status AddGenerationConfig(const v1::ChatCompletionRequest& request,
                                 ParamPolicy& policy, json* body) {
  json config = json::object();
  if (request.has_temperature()) config["temperature"] = request.temperature();
  if (request.has_top_p()) config["topP"] = request.top_p();
  if (request.has_max_completion_tokens()) {
    config["maxOutputTokens"] = request.max_completion_tokens();
  } else if (request.has_max_tokens()) {
    config["maxOutputTokens"] = request.max_tokens();
  }
  if (request.stop_size() > 0) {
    config["stopSequences"] =
        std::vector<std::string>(request.stop().begin(), request.stop().end());
  }
  if (request.has_seed()) {
    if (request.seed() < std::numeric_limits<int32_t>::min() ||
        request.seed() > std::numeric_limits<int32_t>::max()) {
      AIGW_RETURN_IF_ERROR(policy.Unsupported(
          Unsupported("seed", "must fit in 32 bits for Gemini")));
    } else {
      config["seed"] = request.seed();
    }
  }
  // Neutral values are left out: several Gemini models refuse penalties
  // altogether, and NextChat sends zero penalties with every request.
  if (request.has_n() && request.n() != 1) {
    config["candidateCount"] = request.n();
  }
  if (request.has_presence_penalty() && request.presence_penalty() != 0) {
    config["presencePenalty"] = request.presence_penalty();
  }
  if (request.has_frequency_penalty() && request.frequency_penalty() != 0) {
    config["frequencyPenalty"] = request.frequency_penalty();
  }
  AIGW_RETURN_IF_ERROR(AddExtra(request, policy, &config));
  const v1::ResponseFormat& format = request.response_format();
  if (format.type() == "json_object" || format.type() == "json_schema") {
    config["responseMimeType"] = "application/json";
    if (format.type() == "json_schema" && format.json_schema().has_schema()) {
      // As for tools: full JSON Schema, not the OpenAPI subset.
      config["responseJsonSchema"] =
          StructToJson(format.json_schema().schema());
    }
  } else if (!format.type().empty() && format.type() != "text") {
    return InvalidRequest(
        absl::StrCat("Invalid value for 'response_format.type': '",
                     format.type(),
                     "'. Supported values are: 'text', 'json_object' and "
                     "'json_schema'."),
        "response_format.type", "invalid_value");
  }
  if (!config.empty()) (*body)["generationConfig"] = std::move(config);
  return absl::OkStatus();
}

}  // namespace

absl::Status RejectUnknownFields(const google::protobuf::Struct& extra,
                                 absl::string_view path) {
  if (extra.fields().empty()) return absl::OkStatus();
  // Map order is unspecified: name the smallest key, so errors are stable.
  std::string first = extra.fields().begin()->first;
  for (const auto& [key, value] : extra.fields()) {
    if (key < first) first = key;
  }
  std::string param = path.empty() ? first : absl::StrCat(path, ".", first);
  return Unsupported(param, "is not supported by the Gemini provider");
}

absl::StatusOr<std::string> GeminiModelResource(absl::string_view model) {
  absl::string_view id = model;
  bool has_prefix = absl::ConsumePrefix(&id, "models/") ||
                    absl::ConsumePrefix(&id, "tunedModels/");
  bool valid =
      !id.empty() && absl::ascii_isalnum(static_cast<unsigned char>(id[0]));
  for (char c : id) valid = valid && IsModelIdChar(c);
  if (!valid) {
    return InvalidRequest(
        absl::StrCat("'", model,
                     "' is not a Gemini model name (letters, digits, '-', "
                     "'_' and '.', optionally after 'models/')."),
        "model", "invalid_value");
  }
  return has_prefix ? std::string(model) : absl::StrCat("models/", model);
}

absl::StatusOr<UpstreamRequest> GeminiUpstreamRequest(
    const GeminiEndpoint& endpoint, absl::string_view model,
    absl::string_view method, const std::string& api_key, std::string body) {
  absl::StatusOr<std::string> resource = GeminiModelResource(model);
  if (!resource.ok()) return resource.status();
  UpstreamRequest request;
  request.path = absl::StrCat(endpoint.path_prefix, "/", endpoint.api_version,
                              "/", *resource, ":", method);
  request.headers.emplace("x-goog-api-key", api_key);
  request.headers.emplace("Content-Type", "application/json");
  request.body = std::move(body);
  return request;
}

absl::StatusOr<json> GeminiChatBody(const v1::ChatCompletionRequest& request,
                                    ParamPolicy& policy) {
  // `user` is informational and Gemini has no place for it: left out.
  json body = json::object();
  absl::Status status = AddMessages(request, policy, &body);
  if (status.ok()) status = AddTools(request, policy, &body);
  if (status.ok()) status = AddGenerationConfig(request, policy, &body);
  if (!status.ok()) return status;
  return body;
}

absl::StatusOr<UpstreamRequest> GeminiChatRequest(
    const v1::ChatCompletionRequest& request, const GeminiEndpoint& endpoint,
    const std::string& api_key, bool stream, ParamPolicy& policy) {
  absl::StatusOr<json> body = GeminiChatBody(request, policy);
  if (!body.ok()) return body.status();
  absl::StatusOr<UpstreamRequest> upstream = GeminiUpstreamRequest(
      endpoint, request.model(),
      stream ? "streamGenerateContent?alt=sse" : "generateContent", api_key,
      body->dump(-1, ' ', false, json::error_handler_t::replace));
  if (upstream.ok() && stream) {
    upstream->headers.emplace("Accept", "text/event-stream");
  }
  return upstream;
}

}  // namespace aigw
