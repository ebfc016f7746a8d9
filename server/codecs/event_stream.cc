#include "server/codecs/event_stream.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace aigw::codecs {

std::string EditEventData(absl::string_view events,
                          const std::function<bool(nlohmann::json&)>& edit) {
  std::string out;
  for (absl::string_view event : absl::StrSplit(events, "\n\n")) {
    if (event.empty()) continue;
    size_t data = event.find("data: ");
    if (data != absl::string_view::npos) {
      nlohmann::json parsed = nlohmann::json::parse(
          event.substr(data + 6), nullptr, /*allow_exceptions=*/false);
      if (parsed.is_object() && edit(parsed)) {
        absl::StrAppend(&out, event.substr(0, data), "data: ",
                        parsed.dump(-1, ' ', false,
                                    nlohmann::json::error_handler_t::replace),
                        "\n\n");
        continue;
      }
    }
    absl::StrAppend(&out, event, "\n\n");
  }
  return out;
}

}  // namespace aigw::codecs
