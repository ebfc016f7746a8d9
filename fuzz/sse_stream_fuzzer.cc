// libFuzzer target: upstream stream bytes, split in two at a position taken
// from the first byte, fed to every provider stream decoder and SseFramer.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "providers/claude/claude_stream_decoder.h"
#include "providers/common/sse_framer.h"
#include "providers/gemini/gemini_stream_decoder.h"
#include "providers/openai/openai_stream_decoder.h"
#include "providers/qwen/qwen_stream_decoder.h"

namespace {

class CollectingSink : public aigw::ChunkSink {
 public:
  bool Write(aigw::v1::ChatCompletionChunk chunk) override {
    chunks.push_back(std::move(chunk));
    return true;
  }
  std::vector<aigw::v1::ChatCompletionChunk> chunks;
};

template <typename Decoder>
void Run(Decoder& decoder, absl::string_view a, absl::string_view b) {
  if (decoder.Feed(a)) decoder.Feed(b);
  (void)decoder.Finish();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  absl::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  size_t split = rest.empty() ? 0 : data[0] % (rest.size() + 1);
  absl::string_view a = rest.substr(0, split);
  absl::string_view b = rest.substr(split);
  {
    CollectingSink sink;
    aigw::OpenAiStreamDecoder d(sink);
    Run(d, a, b);
  }
  {
    CollectingSink sink;
    aigw::QwenStreamDecoder d(sink, "qwen-plus", 1700000000);
    Run(d, a, b);
  }
  {
    CollectingSink sink;
    aigw::ClaudeStreamDecoder d(sink, 1700000000);
    Run(d, a, b);
  }
  {
    CollectingSink sink;
    aigw::GeminiStreamDecoder d(sink, "gemini-2.5-flash");
    Run(d, a, b);
  }
  {
    CollectingSink sink;
    aigw::GeminiStreamDecoder d(sink, "gemini-2.5-flash");
    d.FeedWhole(rest);
    (void)d.Finish();
  }
  {
    aigw::SseFramer framer;
    std::vector<aigw::SseEvent> events;
    framer.Feed(a, &events);
    framer.Feed(b, &events);
    framer.Finish(&events);
  }
  return 0;
}
