#include "providers/qwen/qwen_embeddings.h"

#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "providers/common/api_error.h"
#include "providers/common/json_struct.h"
#include "providers/common/openai_embeddings_json.h"
#include "providers/common/param_policy.h"

namespace aigw {
namespace {

using nlohmann::json;

absl::Status Unsupported(absl::string_view param) {
  return InvalidRequest(
      absl::StrCat("'", param,
                   "' is not supported by DashScope's native embeddings API "
                   "(qwen provider, mode: native)."),
      param, "unsupported_parameter");
}

json NativeBody(const v1::EmbeddingsRequest& request, json parameters) {
  json texts = json::array();
  for (const std::string& text : request.input()) texts.push_back(text);
  json body = {{"model", request.model()},
               {"input", {{"texts", std::move(texts)}}}};
  if (request.has_dimensions()) parameters["dimension"] = request.dimensions();
  if (!parameters.empty()) body["parameters"] = std::move(parameters);
  return body;
}

// Reads one embedding vector; false when it is not an array of numbers.
bool ReadVector(const json& j, v1::Embedding* out) {
  if (!j.is_array()) return false;
  for (const json& x : j) {
    if (!x.is_number()) return false;
    out->add_embedding(x.get<double>());
  }
  return true;
}

int32_t IntOr(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<int32_t>() : 0;
}

absl::StatusOr<v1::EmbeddingsResponse> FromNative(const json& j,
                                                  absl::string_view model) {
  auto output = j.find("output");
  if (output == j.end() || !output->is_object() ||
      !output->contains("embeddings") || !(*output)["embeddings"].is_array()) {
    return MalformedUpstream("missing output.embeddings");
  }
  v1::EmbeddingsResponse response;
  response.set_object("list");
  response.set_model(std::string(model));
  for (const json& e : (*output)["embeddings"]) {
    if (!e.is_object())
      return MalformedUpstream("an embedding is not an object");
    v1::Embedding* embedding = response.add_data();
    embedding->set_object("embedding");
    embedding->set_index(IntOr(e, "text_index"));
    auto vector = e.find("embedding");
    if (vector == e.end() || !ReadVector(*vector, embedding)) {
      return MalformedUpstream("an embedding is not an array of numbers");
    }
  }
  // DashScope counts only input tokens: all of them are prompt tokens.
  auto usage = j.find("usage");
  if (usage != j.end() && usage->is_object()) {
    int32_t total = IntOr(*usage, "total_tokens");
    response.mutable_usage()->set_prompt_tokens(total);
    response.mutable_usage()->set_total_tokens(total);
  }
  return response;
}

}  // namespace

absl::StatusOr<UpstreamRequest> EmbeddingsUpstreamRequest(
    const v1::EmbeddingsRequest& request, QwenMode mode,
    absl::string_view path_prefix, absl::string_view api_key) {
  UpstreamRequest upstream;
  upstream.headers.emplace("Authorization", absl::StrCat("Bearer ", api_key));
  upstream.headers.emplace("Content-Type", "application/json");
  json body;
  if (mode == QwenMode::kCompatible) {
    upstream.path = absl::StrCat(path_prefix, kQwenCompatibleEmbeddingsPath);
    body = EmbeddingsRequestToJson(request);
  } else {
    // `user` and the other informational fields change nothing: left out.
    // text_type ("query" | "document") is DashScope's own retrieval hint.
    json parameters = json::object();
    for (const auto& [key, value] : request.extra().fields()) {
      if (IsNoOpField(FieldScope::kRequest, key, value)) continue;
      if (key != "text_type") return Unsupported(key);
      parameters[key] = ValueToJson(value);
    }
    upstream.path = absl::StrCat(path_prefix, kQwenTextEmbeddingPath);
    body = NativeBody(request, std::move(parameters));
  }
  upstream.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return upstream;
}

absl::StatusOr<v1::EmbeddingsResponse> EmbeddingsFromUpstream(
    absl::string_view body, QwenMode mode, absl::string_view model) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return MalformedUpstream("the embeddings answer is not a JSON object");
  }
  if (mode == QwenMode::kNative) return FromNative(j, model);
  absl::StatusOr<v1::EmbeddingsResponse> response =
      EmbeddingsResponseFromJson(j);
  if (response.ok() && response->model().empty()) {
    response->set_model(std::string(model));
  }
  return response;
}

}  // namespace aigw
