// libFuzzer target: client chat request body -> canonical proto -> JSON.
#include <cstddef>
#include <cstdint>
#include <string>

#include "providers/common/openai_request_json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view body(reinterpret_cast<const char*>(data), size);
  auto request = aigw::ParseChatRequest(body);
  if (request.ok()) {
    // dump() throws on invalid UTF-8; the parser must never let it through.
    std::string out = aigw::ChatRequestToJson(*request).dump();
    (void)out;
  }
  return 0;
}
