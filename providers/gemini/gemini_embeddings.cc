#include "providers/gemini/gemini_embeddings.h"

#include <nlohmann/json.hpp>
#include <utility>

#include "absl/strings/str_cat.h"
#include "providers/common/api_error.h"

namespace aigw {
namespace {

using nlohmann::json;

// A token count in [0, INT32_MAX]; anything else reads as 0.
int Count(const json& usage, const char* key) {
  auto it = usage.find(key);
  if (it == usage.end() || !it->is_number_integer()) return 0;
  if (it->is_number_unsigned()) {
    return it->get<uint64_t>() <= INT32_MAX ? it->get<int>() : 0;
  }
  int64_t value = it->get<int64_t>();
  return value >= 0 && value <= INT32_MAX ? static_cast<int>(value) : 0;
}

}  // namespace

absl::StatusOr<UpstreamRequest> GeminiEmbedRequest(
    const v1::EmbeddingsRequest& request, const GeminiEndpoint& endpoint,
    const std::string& api_key) {
  // `user` and the other informational fields change nothing: left out.
  google::protobuf::Struct extra;
  for (const auto& [key, value] : request.extra().fields()) {
    if (!IsNoOpField(FieldScope::kRequest, key, value)) {
      (*extra.mutable_fields())[key] = value;
    }
  }
  absl::Status status = RejectUnknownFields(extra, "");
  if (!status.ok()) return status;
  if (request.input_size() == 0) {
    return InvalidRequest("'input' must not be empty.", "input",
                          "invalid_value");
  }
  if (request.has_dimensions() && request.dimensions() <= 0) {
    return InvalidRequest("'dimensions' must be positive.", "dimensions",
                          "invalid_value");
  }
  absl::StatusOr<std::string> resource = GeminiModelResource(request.model());
  if (!resource.ok()) return resource.status();
  json requests = json::array();
  for (const std::string& input : request.input()) {
    json one = {{"model", *resource},
                {"content", {{"parts", json::array({{{"text", input}}})}}}};
    if (request.has_dimensions()) {
      one["outputDimensionality"] = request.dimensions();
    }
    requests.push_back(std::move(one));
  }
  json body = {{"requests", std::move(requests)}};
  return GeminiUpstreamRequest(
      endpoint, request.model(), "batchEmbedContents", api_key,
      body.dump(-1, ' ', false, json::error_handler_t::replace));
}

absl::StatusOr<v1::EmbeddingsResponse> EmbeddingsFromGemini(
    absl::string_view body, const v1::EmbeddingsRequest& request) {
  json j = json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("embeddings") ||
      !j["embeddings"].is_array()) {
    return MalformedUpstream("the embeddings answer has no embeddings list");
  }
  const json& embeddings = j["embeddings"];
  if (embeddings.size() != static_cast<size_t>(request.input_size())) {
    return MalformedUpstream(absl::StrCat("asked for ", request.input_size(),
                                          " embeddings, got ",
                                          embeddings.size()));
  }
  v1::EmbeddingsResponse response;
  response.set_object("list");
  response.set_model(request.model());
  for (size_t i = 0; i < embeddings.size(); ++i) {
    const json& e = embeddings[i];
    if (!e.is_object() || !e.contains("values") || !e["values"].is_array()) {
      return MalformedUpstream("an embedding has no values");
    }
    v1::Embedding* out = response.add_data();
    out->set_index(static_cast<int>(i));
    out->set_object("embedding");
    for (const json& value : e["values"]) {
      if (!value.is_number()) {
        return MalformedUpstream("an embedding value is not a number");
      }
      out->add_embedding(value.get<double>());
    }
  }
  auto usage = j.find("usageMetadata");
  if (usage != j.end() && usage->is_object()) {
    int prompt = Count(*usage, "promptTokenCount");
    int total = Count(*usage, "totalTokenCount");
    response.mutable_usage()->set_prompt_tokens(prompt);
    response.mutable_usage()->set_total_tokens(total != 0 ? total : prompt);
  } else {
    response.mutable_usage();  // zeros: Gemini does not count these tokens
  }
  return response;
}

}  // namespace aigw
