#include "providers/common/openai_request_json.h"

#include <cmath>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "providers/common/api_error.h"
#include "providers/common/json_struct.h"

namespace aigw {
namespace {

using nlohmann::json;

absl::Status TypeError(const std::string& path, absl::string_view expected) {
  return InvalidRequest(
      absl::StrCat("Invalid type for '", path, "': expected ", expected, "."),
      path, "invalid_type");
}

absl::StatusOr<std::string> GetString(const json& v, const std::string& path) {
  if (!v.is_string()) return TypeError(path, "a string");
  return v.get<std::string>();
}

absl::StatusOr<double> GetNumber(const json& v, const std::string& path) {
  if (!v.is_number()) return TypeError(path, "a number");
  return v.get<double>();
}

absl::StatusOr<int64_t> GetInteger(const json& v, const std::string& path) {
  if (v.is_number_unsigned()) {
    if (v.get<uint64_t>() <= static_cast<uint64_t>(INT64_MAX)) {
      return static_cast<int64_t>(v.get<uint64_t>());
    }
  } else if (v.is_number_integer()) {
    return v.get<int64_t>();
  } else if (v.is_number_float()) {
    // Whole numbers written as floats (1.0); the range check keeps the
    // cast defined.
    double d = v.get<double>();
    if (d >= -9.2e18 && d <= 9.2e18 && d == std::trunc(d)) {
      return static_cast<int64_t>(d);
    }
  }
  return TypeError(path, "an integer");
}

absl::StatusOr<int32_t> GetInt32(const json& v, const std::string& path) {
  absl::StatusOr<int64_t> n = GetInteger(v, path);
  if (!n.ok()) return n.status();
  if (*n < INT32_MIN || *n > INT32_MAX) {
    return InvalidRequest(absl::StrCat("'", path, "' is out of range."), path,
                          "invalid_value");
  }
  return static_cast<int32_t>(*n);
}

absl::StatusOr<bool> GetBool(const json& v, const std::string& path) {
  if (!v.is_boolean()) return TypeError(path, "a boolean");
  return v.get<bool>();
}

absl::Status RequireObject(const json& v, const std::string& path) {
  return v.is_object() ? absl::OkStatus() : TypeError(path, "an object");
}

#define AIGW_ASSIGN(lhs, expr)          \
  do {                                  \
    auto aigw_value = (expr);           \
    if (!aigw_value.ok()) {             \
      return aigw_value.status();       \
    }                                   \
    lhs(std::move(aigw_value).value()); \
  } while (0)

absl::StatusOr<v1::ContentPart> PartFromJson(const json& j,
                                             const std::string& path) {
  AIGW_RETURN_IF_ERROR(RequireObject(j, path));
  v1::ContentPart part;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& key = it.key();
    const json& v = it.value();
    std::string p = absl::StrCat(path, ".", key);
    if (key == "type") {
      AIGW_ASSIGN(part.set_type, GetString(v, p));
    } else if (key == "text") {
      AIGW_ASSIGN(part.set_text, GetString(v, p));
    } else if (key == "image_url") {
      if (v.is_string()) {
        part.mutable_image_url()->set_url(v.get<std::string>());
        continue;
      }
      AIGW_RETURN_IF_ERROR(RequireObject(v, p));
      for (auto f = v.begin(); f != v.end(); ++f) {
        std::string fp = absl::StrCat(p, ".", f.key());
        if (f.key() == "url") {
          AIGW_ASSIGN(part.mutable_image_url()->set_url, GetString(*f, fp));
        } else if (f.key() == "detail") {
          AIGW_ASSIGN(part.mutable_image_url()->set_detail, GetString(*f, fp));
        } else {
          return InvalidRequest(absl::StrCat("Unknown field '", fp, "'."), fp,
                                "unknown_parameter");
        }
      }
    } else {
      JsonToValue(v, &(*part.mutable_extra()->mutable_fields())[key]);
    }
  }
  if (part.type().empty()) {
    return InvalidRequest(
        absl::StrCat("Missing required field '", path, ".type'."),
        absl::StrCat(path, ".type"), "missing_required");
  }
  return part;
}

absl::StatusOr<v1::Tool> ToolFromJson(const json& j, const std::string& path) {
  AIGW_RETURN_IF_ERROR(RequireObject(j, path));
  v1::Tool tool;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& key = it.key();
    const json& v = it.value();
    std::string p = absl::StrCat(path, ".", key);
    if (key == "type") {
      AIGW_ASSIGN(tool.set_type, GetString(v, p));
    } else if (key == "function") {
      AIGW_RETURN_IF_ERROR(RequireObject(v, p));
      v1::FunctionDefinition* fn = tool.mutable_function();
      for (auto f = v.begin(); f != v.end(); ++f) {
        std::string fp = absl::StrCat(p, ".", f.key());
        if (f.key() == "name") {
          AIGW_ASSIGN(fn->set_name, GetString(*f, fp));
        } else if (f.key() == "description") {
          AIGW_ASSIGN(fn->set_description, GetString(*f, fp));
        } else if (f.key() == "parameters") {
          AIGW_RETURN_IF_ERROR(RequireObject(*f, fp));
          JsonObjectToStruct(*f, fn->mutable_parameters());
        } else if (f.key() == "strict") {
          if (f->is_null()) continue;
          AIGW_ASSIGN(fn->set_strict, GetBool(*f, fp));
        } else {
          return InvalidRequest(absl::StrCat("Unknown field '", fp, "'."), fp,
                                "unknown_parameter");
        }
      }
    } else {
      JsonToValue(v, &(*tool.mutable_extra()->mutable_fields())[key]);
    }
  }
  return tool;
}

absl::StatusOr<v1::ToolChoice> ToolChoiceFromJson(const json& j,
                                                  const std::string& path) {
  v1::ToolChoice choice;
  if (j.is_string()) {
    choice.set_mode(j.get<std::string>());
    return choice;
  }
  if (!j.is_object()) return TypeError(path, "a string or an object");
  auto fn = j.find("function");
  if (fn == j.end() || !fn->is_object() || !fn->contains("name") ||
      !(*fn)["name"].is_string()) {
    return InvalidRequest(
        absl::StrCat("'", path, "' must name a function: ",
                     R"({"type":"function","function":{"name":"..."}})"),
        path, "invalid_value");
  }
  choice.set_function_name((*fn)["name"].get<std::string>());
  return choice;
}

absl::StatusOr<v1::ResponseFormat> ResponseFormatFromJson(
    const json& j, const std::string& path) {
  AIGW_RETURN_IF_ERROR(RequireObject(j, path));
  v1::ResponseFormat format;
  for (auto it = j.begin(); it != j.end(); ++it) {
    std::string p = absl::StrCat(path, ".", it.key());
    if (it.key() == "type") {
      AIGW_ASSIGN(format.set_type, GetString(*it, p));
    } else if (it.key() == "json_schema") {
      AIGW_RETURN_IF_ERROR(RequireObject(*it, p));
      v1::JsonSchema* schema = format.mutable_json_schema();
      for (auto f = it->begin(); f != it->end(); ++f) {
        std::string fp = absl::StrCat(p, ".", f.key());
        if (f.key() == "name") {
          AIGW_ASSIGN(schema->set_name, GetString(*f, fp));
        } else if (f.key() == "description") {
          AIGW_ASSIGN(schema->set_description, GetString(*f, fp));
        } else if (f.key() == "schema") {
          AIGW_RETURN_IF_ERROR(RequireObject(*f, fp));
          JsonObjectToStruct(*f, schema->mutable_schema());
        } else if (f.key() == "strict") {
          if (f->is_null()) continue;
          AIGW_ASSIGN(schema->set_strict, GetBool(*f, fp));
        } else {
          return InvalidRequest(absl::StrCat("Unknown field '", fp, "'."), fp,
                                "unknown_parameter");
        }
      }
    } else {
      return InvalidRequest(absl::StrCat("Unknown field '", p, "'."), p,
                            "unknown_parameter");
    }
  }
  return format;
}

}  // namespace

absl::StatusOr<v1::ToolCall> ToolCallFromJson(const json& j,
                                              const std::string& path) {
  AIGW_RETURN_IF_ERROR(RequireObject(j, path));
  v1::ToolCall call;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const json& v = it.value();
    if (v.is_null()) continue;
    std::string p = absl::StrCat(path, ".", it.key());
    if (it.key() == "index") {
      AIGW_ASSIGN(call.set_index, GetInt32(v, p));
    } else if (it.key() == "id") {
      AIGW_ASSIGN(call.set_id, GetString(v, p));
    } else if (it.key() == "type") {
      AIGW_ASSIGN(call.set_type, GetString(v, p));
    } else if (it.key() == "function") {
      AIGW_RETURN_IF_ERROR(RequireObject(v, p));
      auto name = v.find("name");
      if (name != v.end() && !name->is_null()) {
        AIGW_ASSIGN(call.mutable_function()->set_name,
                    GetString(*name, p + ".name"));
      }
      auto args = v.find("arguments");
      if (args != v.end() && !args->is_null()) {
        AIGW_ASSIGN(call.mutable_function()->set_arguments,
                    GetString(*args, p + ".arguments"));
      }
    }
  }
  return call;
}

absl::StatusOr<v1::Message> MessageFromJson(const json& j,
                                            const std::string& path) {
  AIGW_RETURN_IF_ERROR(RequireObject(j, path));
  v1::Message message;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& key = it.key();
    const json& v = it.value();
    std::string p = absl::StrCat(path, ".", key);
    if (key == "role") {
      AIGW_ASSIGN(message.set_role, GetString(v, p));
    } else if (key == "content") {
      if (v.is_null()) continue;
      if (v.is_string()) {
        message.set_content(v.get<std::string>());
      } else if (v.is_array()) {
        for (size_t i = 0; i < v.size(); ++i) {
          absl::StatusOr<v1::ContentPart> part =
              PartFromJson(v[i], absl::StrCat(p, "[", i, "]"));
          if (!part.ok()) return part.status();
          *message.add_parts() = std::move(*part);
        }
      } else {
        return TypeError(p, "a string or an array of content parts");
      }
    } else if (key == "name") {
      AIGW_ASSIGN(message.set_name, GetString(v, p));
    } else if (key == "tool_calls") {
      if (v.is_null()) continue;
      if (!v.is_array()) return TypeError(p, "an array");
      for (size_t i = 0; i < v.size(); ++i) {
        absl::StatusOr<v1::ToolCall> call =
            ToolCallFromJson(v[i], absl::StrCat(p, "[", i, "]"));
        if (!call.ok()) return call.status();
        *message.add_tool_calls() = std::move(*call);
      }
    } else if (key == "tool_call_id") {
      AIGW_ASSIGN(message.set_tool_call_id, GetString(v, p));
    } else if (key == "refusal") {
      if (v.is_null()) continue;
      AIGW_ASSIGN(message.set_refusal, GetString(v, p));
    } else if (key == "reasoning_content") {
      if (v.is_null()) continue;
      AIGW_ASSIGN(message.set_reasoning_content, GetString(v, p));
    } else {
      JsonToValue(v, &(*message.mutable_extra()->mutable_fields())[key]);
    }
  }
  return message;
}

absl::StatusOr<v1::ChatCompletionRequest> ChatRequestFromJson(const json& j) {
  if (!j.is_object()) {
    return InvalidRequest("The request body must be a JSON object.", "",
                          "invalid_json");
  }
  v1::ChatCompletionRequest request;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& key = it.key();
    const json& v = it.value();
    if (v.is_null() && key != "model" && key != "messages") continue;
    if (key == "model") {
      AIGW_ASSIGN(request.set_model, GetString(v, key));
    } else if (key == "messages") {
      if (!v.is_array()) return TypeError(key, "an array of messages");
      for (size_t i = 0; i < v.size(); ++i) {
        absl::StatusOr<v1::Message> message =
            MessageFromJson(v[i], absl::StrCat("messages[", i, "]"));
        if (!message.ok()) return message.status();
        *request.add_messages() = std::move(*message);
      }
    } else if (key == "stream") {
      AIGW_ASSIGN(request.set_stream, GetBool(v, key));
    } else if (key == "stream_options") {
      AIGW_RETURN_IF_ERROR(RequireObject(v, key));
      auto include = v.find("include_usage");
      if (include != v.end() && !include->is_null()) {
        AIGW_ASSIGN(request.mutable_stream_options()->set_include_usage,
                    GetBool(*include, "stream_options.include_usage"));
      }
    } else if (key == "temperature") {
      AIGW_ASSIGN(request.set_temperature, GetNumber(v, key));
    } else if (key == "top_p") {
      AIGW_ASSIGN(request.set_top_p, GetNumber(v, key));
    } else if (key == "presence_penalty") {
      AIGW_ASSIGN(request.set_presence_penalty, GetNumber(v, key));
    } else if (key == "frequency_penalty") {
      AIGW_ASSIGN(request.set_frequency_penalty, GetNumber(v, key));
    } else if (key == "n") {
      AIGW_ASSIGN(request.set_n, GetInt32(v, key));
    } else if (key == "max_tokens") {
      AIGW_ASSIGN(request.set_max_tokens, GetInt32(v, key));
    } else if (key == "max_completion_tokens") {
      AIGW_ASSIGN(request.set_max_completion_tokens, GetInt32(v, key));
    } else if (key == "seed") {
      AIGW_ASSIGN(request.set_seed, GetInteger(v, key));
    } else if (key == "stop") {
      if (v.is_string()) {
        request.add_stop(v.get<std::string>());
      } else if (v.is_array()) {
        for (size_t i = 0; i < v.size(); ++i) {
          AIGW_ASSIGN(request.add_stop,
                      GetString(v[i], absl::StrCat("stop[", i, "]")));
        }
      } else {
        return TypeError(key, "a string or an array of strings");
      }
    } else if (key == "user") {
      AIGW_ASSIGN(request.set_user, GetString(v, key));
    } else if (key == "tools") {
      if (!v.is_array()) return TypeError(key, "an array of tools");
      for (size_t i = 0; i < v.size(); ++i) {
        absl::StatusOr<v1::Tool> tool =
            ToolFromJson(v[i], absl::StrCat("tools[", i, "]"));
        if (!tool.ok()) return tool.status();
        *request.add_tools() = std::move(*tool);
      }
    } else if (key == "tool_choice") {
      absl::StatusOr<v1::ToolChoice> choice = ToolChoiceFromJson(v, key);
      if (!choice.ok()) return choice.status();
      *request.mutable_tool_choice() = std::move(*choice);
    } else if (key == "response_format") {
      absl::StatusOr<v1::ResponseFormat> format =
          ResponseFormatFromJson(v, key);
      if (!format.ok()) return format.status();
      *request.mutable_response_format() = std::move(*format);
    } else if (key == "parallel_tool_calls") {
      AIGW_ASSIGN(request.set_parallel_tool_calls, GetBool(v, key));
    } else {
      JsonToValue(v, &(*request.mutable_extra()->mutable_fields())[key]);
    }
  }
  return request;
}

absl::StatusOr<v1::ChatCompletionRequest> ParseChatRequest(
    absl::string_view body) {
  absl::StatusOr<json> parsed = ParseJsonBody(body);
  if (!parsed.ok()) return parsed.status();
  return ChatRequestFromJson(*parsed);
}

json ToolCallToJson(const v1::ToolCall& call) {
  json out = json::object();
  if (call.has_index()) out["index"] = call.index();
  if (!call.id().empty()) out["id"] = call.id();
  if (!call.type().empty()) out["type"] = call.type();
  if (call.has_function()) {
    json fn = json::object();
    if (!call.function().name().empty()) fn["name"] = call.function().name();
    fn["arguments"] = call.function().arguments();
    out["function"] = std::move(fn);
  }
  return out;
}

json MessageToJson(const v1::Message& message) {
  json out = json::object();
  out["role"] = message.role();
  if (message.parts_size() > 0) {
    json parts = json::array();
    for (const v1::ContentPart& part : message.parts()) {
      json p = json::object();
      p["type"] = part.type();
      if (!part.text().empty() || part.type() == "text")
        p["text"] = part.text();
      if (part.has_image_url()) {
        json image = {{"url", part.image_url().url()}};
        if (!part.image_url().detail().empty()) {
          image["detail"] = part.image_url().detail();
        }
        p["image_url"] = std::move(image);
      }
      MergeStructInto(part.extra(), &p);
      parts.push_back(std::move(p));
    }
    out["content"] = std::move(parts);
  } else if (message.has_content()) {
    out["content"] = message.content();
  } else {
    out["content"] = nullptr;
  }
  if (!message.name().empty()) out["name"] = message.name();
  if (message.tool_calls_size() > 0) {
    json calls = json::array();
    for (const v1::ToolCall& call : message.tool_calls()) {
      calls.push_back(ToolCallToJson(call));
    }
    out["tool_calls"] = std::move(calls);
  }
  if (!message.tool_call_id().empty()) {
    out["tool_call_id"] = message.tool_call_id();
  }
  if (message.has_refusal()) out["refusal"] = message.refusal();
  if (message.has_reasoning_content()) {
    out["reasoning_content"] = message.reasoning_content();
  }
  MergeStructInto(message.extra(), &out);
  return out;
}

bool TakesReasoningEffort(absl::string_view model) {
  // A router's vendor prefix (openai/gpt-oss-120b) names the same model.
  size_t slash = model.rfind('/');
  if (slash != absl::string_view::npos) model.remove_prefix(slash + 1);
  // OpenAI's o-series (o1, o3-mini, o4-mini, ...), gpt-5 and gpt-oss; not
  // the chat variants (gpt-5-chat-latest).
  if (model.size() >= 2 && model[0] == 'o' && absl::ascii_isdigit(model[1])) {
    return true;
  }
  if (absl::StrContains(model, "-chat")) return false;
  return absl::StartsWith(model, "gpt-5") || absl::StartsWith(model, "gpt-oss");
}

json ChatRequestToJson(const v1::ChatCompletionRequest& request) {
  json out = json::object();
  out["model"] = request.model();
  json messages = json::array();
  for (const v1::Message& message : request.messages()) {
    messages.push_back(MessageToJson(message));
  }
  out["messages"] = std::move(messages);
  if (request.stream()) out["stream"] = true;
  if (request.has_stream_options()) {
    out["stream_options"] = {
        {"include_usage", request.stream_options().include_usage()}};
  }
  if (request.has_temperature()) out["temperature"] = request.temperature();
  if (request.has_top_p()) out["top_p"] = request.top_p();
  if (request.has_n()) out["n"] = request.n();
  if (request.stop_size() == 1) out["stop"] = request.stop(0);
  if (request.stop_size() > 1) {
    json stop = json::array();
    for (const std::string& s : request.stop()) stop.push_back(s);
    out["stop"] = std::move(stop);
  }
  if (request.has_max_tokens()) out["max_tokens"] = request.max_tokens();
  if (request.has_max_completion_tokens()) {
    out["max_completion_tokens"] = request.max_completion_tokens();
  }
  if (request.has_seed()) out["seed"] = request.seed();
  if (request.has_presence_penalty()) {
    out["presence_penalty"] = request.presence_penalty();
  }
  if (request.has_frequency_penalty()) {
    out["frequency_penalty"] = request.frequency_penalty();
  }
  if (!request.user().empty()) out["user"] = request.user();
  if (request.tools_size() > 0) {
    json tools = json::array();
    for (const v1::Tool& tool : request.tools()) {
      json t = json::object();
      t["type"] = tool.type().empty() ? "function" : tool.type();
      if (tool.has_function()) {
        const v1::FunctionDefinition& fn = tool.function();
        json f = {{"name", fn.name()}};
        if (!fn.description().empty()) f["description"] = fn.description();
        if (fn.has_parameters())
          f["parameters"] = StructToJson(fn.parameters());
        if (fn.has_strict()) f["strict"] = fn.strict();
        t["function"] = std::move(f);
      }
      MergeStructInto(tool.extra(), &t);
      tools.push_back(std::move(t));
    }
    out["tools"] = std::move(tools);
  }
  if (request.has_tool_choice()) {
    const v1::ToolChoice& choice = request.tool_choice();
    if (!choice.function_name().empty()) {
      out["tool_choice"] = {{"type", "function"},
                            {"function", {{"name", choice.function_name()}}}};
    } else if (!choice.mode().empty()) {
      out["tool_choice"] = choice.mode();
    }
  }
  if (request.has_response_format()) {
    const v1::ResponseFormat& format = request.response_format();
    json f = {{"type", format.type()}};
    if (format.has_json_schema()) {
      const v1::JsonSchema& schema = format.json_schema();
      json s = {{"name", schema.name()}};
      if (!schema.description().empty())
        s["description"] = schema.description();
      if (schema.has_schema()) s["schema"] = StructToJson(schema.schema());
      if (schema.has_strict()) s["strict"] = schema.strict();
      f["json_schema"] = std::move(s);
    }
    out["response_format"] = std::move(f);
  }
  if (request.has_parallel_tool_calls()) {
    out["parallel_tool_calls"] = request.parallel_tool_calls();
  }
  MergeStructInto(request.extra(), &out);
  // A thinking budget in tokens (an Anthropic client's) as the nearest
  // effort level, for the models that take one; 0 (thinking off) leaves the
  // model's default. Chat models (gpt-4o) reject reasoning_effort: for them
  // the budget is dropped, as thinking is not theirs to give.
  if (request.reasoning_budget_tokens() > 0 &&
      TakesReasoningEffort(request.model()) &&
      !out.contains("reasoning_effort")) {
    const int budget = request.reasoning_budget_tokens();
    out["reasoning_effort"] = budget <= 2048    ? "low"
                              : budget <= 12288 ? "medium"
                                                : "high";
  }
  return out;
}

}  // namespace aigw
