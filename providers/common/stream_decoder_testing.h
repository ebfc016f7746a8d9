// Test scaffolding shared by the provider stream-decoder tests: a sink that
// records and assembles chunks, feeding a decoder a stream cut at given
// points, and the check that every split of a stream decodes the same.
#ifndef AIGW_PROVIDERS_COMMON_STREAM_DECODER_TESTING_H_
#define AIGW_PROVIDERS_COMMON_STREAM_DECODER_TESTING_H_

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/util/message_differencer.h"
#include "providers/common/chat_assembler.h"
#include "providers/provider.h"

namespace aigw {
namespace stream_decoder_testing {

// Records every chunk and folds it into `assembler`. Write() returns false
// (client gone) once `stop_after` chunks have been recorded, if set.
class RecordingSink : public ChunkSink {
 public:
  bool Write(v1::ChatCompletionChunk chunk) override {
    chunks.push_back(chunk);
    assembler.Write(std::move(chunk));
    return static_cast<int>(chunks.size()) != stop_after;
  }
  std::vector<v1::ChatCompletionChunk> chunks;
  ChatAssembler assembler;
  int stop_after = -1;
};

// Feeds `stream` to `decoder` cut at `cuts` (ascending offsets), like the
// HTTP client hands it over, then finishes it.
template <typename Decoder>
absl::Status FeedInPieces(Decoder& decoder, absl::string_view stream,
                          const std::vector<size_t>& cuts) {
  size_t from = 0;
  for (size_t cut : cuts) {
    if (!decoder.Feed(stream.substr(from, cut - from))) return decoder.error();
    from = cut;
  }
  if (!decoder.Feed(stream.substr(from))) return decoder.error();
  return decoder.Finish();
}

// Adjusts a (got, want) pair of chunks before they are compared, e.g. to
// drop fields that legitimately differ between two decoder runs.
using ChunkPairNormalizer =
    std::function<void(v1::ChatCompletionChunk&, v1::ChatCompletionChunk&)>;

// Feeds `stream` cut at every single point, then byte by byte, to decoders
// from `make_decoder` (`(ChunkSink&) -> Decoder`) and expects exactly the
// chunks (and status) of the uncut stream each time: no event lost, none
// duplicated.
template <typename MakeDecoder>
void ExpectSameAtEverySplit(absl::string_view stream, MakeDecoder make_decoder,
                            const ChunkPairNormalizer& normalize = nullptr) {
  auto decode = [&](const std::vector<size_t>& cuts, RecordingSink& sink) {
    auto decoder = make_decoder(static_cast<ChunkSink&>(sink));
    return FeedInPieces(decoder, stream, cuts);
  };
  RecordingSink reference;
  absl::Status expected = decode({}, reference);
  auto same = [&](const RecordingSink& sink, const absl::Status& status,
                  const std::string& how) {
    ASSERT_EQ(status, expected) << how;
    ASSERT_EQ(sink.chunks.size(), reference.chunks.size()) << how;
    for (size_t i = 0; i < sink.chunks.size(); ++i) {
      v1::ChatCompletionChunk a = sink.chunks[i];
      v1::ChatCompletionChunk b = reference.chunks[i];
      if (normalize) normalize(a, b);
      ASSERT_TRUE(google::protobuf::util::MessageDifferencer::Equals(a, b))
          << how << ", chunk " << i << ":\n"
          << a.DebugString() << "vs\n"
          << b.DebugString();
    }
  };
  for (size_t cut = 1; cut < stream.size(); ++cut) {
    RecordingSink sink;
    absl::Status status = decode({cut}, sink);
    same(sink, status, "cut at " + std::to_string(cut));
  }
  std::vector<size_t> every_byte;
  for (size_t i = 1; i < stream.size(); ++i) every_byte.push_back(i);
  RecordingSink bytewise;
  absl::Status status = decode(every_byte, bytewise);
  same(bytewise, status, "byte by byte");
}

}  // namespace stream_decoder_testing
}  // namespace aigw

#endif  // AIGW_PROVIDERS_COMMON_STREAM_DECODER_TESTING_H_
