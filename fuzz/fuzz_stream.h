// A SyncReadStream over the fuzzer's bytes, for driving Beast's own
// http::read_header / read / read_some exactly as the server and the
// upstream client drive their async twins (same parse loop, same buffer
// handling, put_eof at the end). Reads stop at fuzzer-chosen boundaries, so
// the parser sees the bytes split the way TCP could split them.
#ifndef AIGW_FUZZ_FUZZ_STREAM_H_
#define AIGW_FUZZ_FUZZ_STREAM_H_

#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/system_error.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/string_view.h"

// An invariant of the code under test: a failure aborts (a libFuzzer crash).
#define FUZZ_CHECK(cond)                                               \
  do {                                                                 \
    if (!(cond)) {                                                     \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s\n", __FILE__, \
                   __LINE__, #cond);                                   \
      std::abort();                                                    \
    }                                                                  \
  } while (0)

namespace aigw_fuzz {

// The fuzzer input starts with kControlBytes: a little-endian uint16 that
// picks where the first read ends, a byte that bounds every later read
// (0: unbounded) and a byte the target uses for itself. The rest is what
// the peer sends; its end is the peer closing the connection.
constexpr size_t kControlBytes = 4;

// At most about this many bounded reads per input: later reads take at
// least size / kMaxReads bytes. Beast re-scans a chunk line's quoted
// extension to the end of the buffer on every read until its closing
// quote (README, findings), so 64 KiB in 1-byte reads takes seconds and
// would stall the run on that one known problem. AIGW_FUZZ_UNCAPPED_READS=1
// in the environment lifts the cap (to reproduce it).
constexpr size_t kMaxReads = 256;

inline bool ReadsUncapped() {
  static const bool uncapped =
      std::getenv("AIGW_FUZZ_UNCAPPED_READS") != nullptr;
  return uncapped;
}

struct Controls {
  size_t split = 0;
  size_t segment = 0;
  uint8_t extra = 0;
  absl::string_view bytes;
};

inline bool ReadControls(const uint8_t* data, size_t size, Controls* out) {
  if (size < kControlBytes) return false;
  out->bytes =
      absl::string_view(reinterpret_cast<const char*>(data) + kControlBytes,
                        size - kControlBytes);
  size_t split =
      static_cast<size_t>(data[0]) | (static_cast<size_t>(data[1]) << 8);
  out->split = split % (out->bytes.size() + 1);
  out->segment = data[2];
  out->extra = data[3];
  return true;
}

class FuzzStream {
 public:
  explicit FuzzStream(const Controls& c)
      : bytes_(c.bytes), split_(c.split), segment_(c.segment) {
    if (segment_ != 0 && !ReadsUncapped()) {
      segment_ =
          std::max(segment_, (bytes_.size() + kMaxReads - 1) / kMaxReads);
    }
  }

  template <class MutableBufferSequence>
  size_t read_some(const MutableBufferSequence& buffers,
                   boost::system::error_code& ec) {
    ++reads_;
    if (pos_ == bytes_.size()) {
      ec = boost::asio::error::eof;
      return 0;
    }
    size_t end = bytes_.size();
    if (pos_ < split_) {
      end = split_;
    } else if (segment_ != 0) {
      end = std::min(end, pos_ + segment_);
    }
    size_t n = boost::asio::buffer_copy(
        buffers, boost::asio::buffer(bytes_.data() + pos_, end - pos_));
    pos_ += n;
    ec = {};
    return n;
  }

  template <class MutableBufferSequence>
  size_t read_some(const MutableBufferSequence& buffers) {
    boost::system::error_code ec;
    size_t n = read_some(buffers, ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }

  size_t delivered() const { return pos_; }
  size_t reads() const { return reads_; }
  size_t size() const { return bytes_.size(); }

 private:
  absl::string_view bytes_;
  size_t split_;
  size_t segment_;
  size_t pos_ = 0;
  size_t reads_ = 0;
};

}  // namespace aigw_fuzz

#endif  // AIGW_FUZZ_FUZZ_STREAM_H_
