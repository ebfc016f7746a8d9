#include "server/codecs/openai_responses/passthrough_body.h"

#include <nlohmann/json.hpp>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/codecs/json_fields.h"
#include "server/codecs/openai_responses/responses.h"

namespace aigw::responses {

namespace {

using codecs::Bad;
using codecs::Str;
using nlohmann::json;

bool Minted(const json& item) { return IsMintedId(Str(item, "id")); }

bool RelayedSignature(const json& item) {
  return absl::StartsWith(Str(item, "encrypted_content"), kSignaturePrefix);
}

}  // namespace

absl::StatusOr<std::string> PassthroughBody(absl::string_view body,
                                            absl::string_view owner) {
  // What this gateway made is marked: other bodies are not parsed again.
  if (!absl::StrContains(body, kMintedIdMarker) &&
      !absl::StrContains(body, kSignaturePrefix)) {
    return std::string(body);
  }
  json j = json::parse(body, nullptr, false);
  if (!j.is_object()) return std::string(body);
  // A response this gateway answered is no state OpenAI keeps.
  const std::string previous = Str(j, "previous_response_id");
  if (IsMintedId(previous)) {
    return Bad("previous_response_id",
               absl::StrCat("response '", previous,
                            "' was answered by this gateway, which keeps no "
                            "conversation state: send the whole "
                            "conversation in `input`"));
  }
  if (!j.contains("input") || !j["input"].is_array()) {
    return std::string(body);
  }
  json input = json::array();
  for (size_t i = 0; i < j["input"].size(); ++i) {
    json& item = j["input"][i];
    if (!item.is_object()) {
      input.push_back(std::move(item));
      continue;
    }
    if (Str(item, "type") == "item_reference" && Minted(item)) {
      json stored;
      const std::string id = Str(item, "id");
      if (!ItemStore::Global().Get(owner, id, &stored)) {
        // Forgotten, another replica's or another caller's: OpenAI never
        // knew it.
        return Bad(absl::StrCat("input[", i, "]"),
                   absl::StrCat("item '", id,
                                "' is not known to this gateway: it keeps "
                                "no conversation state beyond recent "
                                "answers; send the item itself"));
      }
      item = std::move(stored);
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
