#include "server/codecs/openai_responses/passthrough_body.h"

#include <nlohmann/json.hpp>
#include <utility>

#include "absl/strings/match.h"
#include "server/codecs/json_fields.h"
#include "server/codecs/openai_responses/responses.h"

namespace aigw::responses {

namespace {

using codecs::Str;
using nlohmann::json;

bool Minted(const json& item) { return IsMintedId(Str(item, "id")); }

bool RelayedSignature(const json& item) {
  return absl::StartsWith(Str(item, "encrypted_content"), kSignaturePrefix);
}

}  // namespace

std::string PassthroughBody(absl::string_view body, absl::string_view owner) {
  // What this gateway made is marked: other bodies are not parsed again.
  if (!absl::StrContains(body, kMintedIdMarker) &&
      !absl::StrContains(body, kSignaturePrefix)) {
    return std::string(body);
  }
  json j = json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("input") || !j["input"].is_array()) {
    return std::string(body);
  }
  json input = json::array();
  for (json& item : j["input"]) {
    if (!item.is_object()) {
      input.push_back(std::move(item));
      continue;
    }
    if (Str(item, "type") == "item_reference" && Minted(item)) {
      json stored;
      // Forgotten (an old or another replica's item): OpenAI says so.
      if (ItemStore::Global().Get(owner, Str(item, "id"), &stored)) {
        item = std::move(stored);
      }
    }
    const bool reasoning = Str(item, "type") == "reasoning";
    if (reasoning && (Minted(item) || RelayedSignature(item))) continue;
    if (Str(item, "type") != "item_reference" && Minted(item)) {
      item.erase("id");
    }
    input.push_back(std::move(item));
  }
  j["input"] = std::move(input);
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace aigw::responses
