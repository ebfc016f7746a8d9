// libFuzzer target: client embeddings request body -> canonical proto.
#include <cstddef>
#include <cstdint>
#include <string>

#include "providers/common/openai_embeddings_json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view body(reinterpret_cast<const char*>(data), size);
  auto request = aigw::ParseEmbeddingsRequest(body);
  if (request.ok()) {
    std::string out = aigw::EmbeddingsRequestToJson(*request).dump();
    (void)out;
  }
  return 0;
}
