#include "providers/common/openai_embeddings_json.h"

#include <cstring>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "providers/common/api_error.h"
#include "providers/common/json_struct.h"
#include "providers/common/openai_response_json.h"

namespace aigw {
namespace {

using nlohmann::json;

absl::Status TypeError(const std::string& field, absl::string_view expected) {
  return InvalidRequest(
      absl::StrCat("Invalid type for '", field, "': expected ", expected, "."),
      field, "invalid_type");
}

std::string Float32Base64(const v1::Embedding& embedding) {
  std::string bytes(embedding.embedding_size() * sizeof(float), '\0');
  for (int i = 0; i < embedding.embedding_size(); ++i) {
    float value = static_cast<float>(embedding.embedding(i));
    std::memcpy(&bytes[i * sizeof(float)], &value, sizeof(float));  // LE host
  }
  return absl::Base64Escape(bytes);
}

}  // namespace

absl::StatusOr<v1::EmbeddingsRequest> ParseEmbeddingsRequest(
    absl::string_view body) {
  absl::StatusOr<json> parsed = ParseJsonBody(body);
  if (!parsed.ok()) return parsed.status();
  const json& j = *parsed;
  if (!j.is_object()) {
    return InvalidRequest("The request body must be a JSON object.", "",
                          "invalid_json");
  }
  v1::EmbeddingsRequest request;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& key = it.key();
    const json& v = it.value();
    if (key == "model") {
      if (!v.is_string()) return TypeError(key, "a string");
      request.set_model(v.get<std::string>());
    } else if (key == "input") {
      if (v.is_string()) {
        request.add_input(v.get<std::string>());
      } else if (v.is_array()) {
        for (size_t i = 0; i < v.size(); ++i) {
          if (!v[i].is_string()) {
            return InvalidRequest(
                "Only text inputs are supported: 'input' must be a string or "
                "an array of strings.",
                absl::StrCat("input[", i, "]"), "invalid_type");
          }
          request.add_input(v[i].get<std::string>());
        }
      } else {
        return TypeError(key, "a string or an array of strings");
      }
    } else if (key == "encoding_format") {
      if (v.is_null()) continue;
      if (!v.is_string() || (v.get<std::string>() != "float" &&
                             v.get<std::string>() != "base64")) {
        return InvalidRequest(
            "'encoding_format' must be \"float\" or \"base64\".", key,
            "invalid_value");
      }
      request.set_encoding_format(v.get<std::string>());
    } else if (key == "dimensions") {
      if (v.is_null()) continue;
      if (!v.is_number_integer() || v.get<int64_t>() <= 0 ||
          v.get<int64_t>() > 1 << 20) {
        return TypeError(key, "a positive integer");
      }
      request.set_dimensions(v.get<int32_t>());
    } else if (key == "user") {
      if (!v.is_string()) return TypeError(key, "a string");
      request.set_user(v.get<std::string>());
    } else {
      JsonToValue(v, &(*request.mutable_extra()->mutable_fields())[key]);
    }
  }
  return request;
}

json EmbeddingsRequestToJson(const v1::EmbeddingsRequest& request) {
  json out = {{"model", request.model()}, {"encoding_format", "float"}};
  if (request.input_size() == 1) {
    out["input"] = request.input(0);
  } else {
    json input = json::array();
    for (const std::string& text : request.input()) input.push_back(text);
    out["input"] = std::move(input);
  }
  if (request.has_dimensions()) out["dimensions"] = request.dimensions();
  if (!request.user().empty()) out["user"] = request.user();
  MergeStructInto(request.extra(), &out);
  return out;
}

absl::StatusOr<v1::EmbeddingsResponse> EmbeddingsResponseFromJson(
    const json& j) {
  if (!j.is_object()) return MalformedUpstream("embeddings are not an object");
  auto data = j.find("data");
  if (data == j.end() || !data->is_array()) {
    return MalformedUpstream("embeddings without data");
  }
  v1::EmbeddingsResponse response;
  response.set_object("list");
  if (j.contains("model") && j["model"].is_string()) {
    response.set_model(j["model"].get<std::string>());
  }
  for (size_t i = 0; i < data->size(); ++i) {
    const json& item = (*data)[i];
    if (!item.is_object()) return MalformedUpstream("embedding not an object");
    v1::Embedding* embedding = response.add_data();
    embedding->set_object("embedding");
    embedding->set_index(item.contains("index") && item["index"].is_number()
                             ? item["index"].get<int32_t>()
                             : static_cast<int32_t>(i));
    auto values = item.find("embedding");
    if (values == item.end() || !values->is_array()) {
      return MalformedUpstream("embedding without a float vector");
    }
    embedding->mutable_embedding()->Reserve(values->size());
    for (const json& value : *values) {
      if (!value.is_number()) return MalformedUpstream("non-numeric embedding");
      embedding->add_embedding(value.get<double>());
    }
  }
  auto usage = j.find("usage");
  if (usage != j.end() && usage->is_object()) {
    absl::StatusOr<v1::Usage> u = UsageFromJson(*usage);
    if (!u.ok()) return u.status();
    *response.mutable_usage() = std::move(*u);
  }
  return response;
}

std::string EmbeddingsResponseToJsonString(
    const v1::EmbeddingsResponse& response, bool base64) {
  json data = json::array();
  for (const v1::Embedding& embedding : response.data()) {
    json item = {{"object", "embedding"}, {"index", embedding.index()}};
    if (base64) {
      item["embedding"] = Float32Base64(embedding);
    } else {
      json values = json::array();
      for (double value : embedding.embedding()) values.push_back(value);
      item["embedding"] = std::move(values);
    }
    data.push_back(std::move(item));
  }
  json out = {{"object", "list"},
              {"data", std::move(data)},
              {"model", response.model()},
              {"usage",
               {{"prompt_tokens", response.usage().prompt_tokens()},
                {"total_tokens", response.usage().total_tokens()}}}};
  return out.dump();
}

}  // namespace aigw
