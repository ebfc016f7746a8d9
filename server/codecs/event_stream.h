// Helpers the front-door codecs share for relaying an upstream's own
// event stream (passthrough).
#ifndef AIGW_SERVER_CODECS_EVENT_STREAM_H_
#define AIGW_SERVER_CODECS_EVENT_STREAM_H_

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "absl/strings/string_view.h"

namespace aigw::codecs {

// `events` (complete event-stream text, events ended by a blank line) with
// the data of each event that `edit` changes (returns true) written anew;
// every other event stays byte for byte.
std::string EditEventData(absl::string_view events,
                          const std::function<bool(nlohmann::json&)>& edit);

}  // namespace aigw::codecs

#endif  // AIGW_SERVER_CODECS_EVENT_STREAM_H_
