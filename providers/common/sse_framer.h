// Incremental Server-Sent Events parser shared by every provider adapter.
// Follows the WHATWG event-stream rules: LF, CRLF and CR line ends, comment
// lines, event/id/retry fields, multi-line data, "data:" with or without a
// space. Bytes may be fed split anywhere; the events produced are the same.
#ifndef AIGW_PROVIDERS_COMMON_SSE_FRAMER_H_
#define AIGW_PROVIDERS_COMMON_SSE_FRAMER_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace aigw {

struct SseEvent {
  std::string event;  // "" when no event: line was sent (means "message")
  std::string data;   // data lines joined with '\n'
  std::string id;     // last id: seen in this event ("" if none)
  int retry_ms = -1;  // retry: value if present and valid
  std::vector<std::string> comments;  // ":..." lines, without the colon
};

// `event` written back as event-stream text (`event:` and `data:` lines and
// the blank line), the same whatever line ends or splits it arrived with.
std::string SseEventText(const SseEvent& event);

class SseFramer {
 public:
  // Consumes bytes and appends every completed event to `out`.
  void Feed(absl::string_view bytes, std::vector<SseEvent>* out);
  // Flushes a final event the stream ended without a blank line for.
  void Finish(std::vector<SseEvent>* out);
  // Bytes buffered for an incomplete line; callers cap it against abuse.
  size_t buffered_bytes() const;

 private:
  void Consume(absl::string_view bytes, std::vector<SseEvent>* out);
  void ProcessLine(absl::string_view line, std::vector<SseEvent>* out);
  void Dispatch(std::vector<SseEvent>* out);

  std::string line_;          // current incomplete line
  bool bom_checked_ = false;  // stream start examined for a UTF-8 BOM
  bool skip_lf_ = false;      // previous chunk ended with CR
  SseEvent pending_;          // event being built
  bool has_data_ = false;     // at least one data: line seen
  bool has_extra_ = false;    // an event: or comment line seen
};

}  // namespace aigw

#endif  // AIGW_PROVIDERS_COMMON_SSE_FRAMER_H_
