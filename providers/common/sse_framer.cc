#include "providers/common/sse_framer.h"

#include <algorithm>
#include <climits>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace aigw {
namespace {

constexpr absl::string_view kBom("\xEF\xBB\xBF", 3);

// Strips the single optional space that may follow a field's colon.
absl::string_view StripOneSpace(absl::string_view value) {
  if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  return value;
}

// Returns the offset of the first CR or LF in `s`, or s.size() if none.
size_t FindLineEnd(absl::string_view s) {
  const char* begin = s.data();
  const void* lf = std::memchr(begin, '\n', s.size());
  const size_t limit =
      lf ? static_cast<size_t>(static_cast<const char*>(lf) - begin) : s.size();
  const void* cr = std::memchr(begin, '\r', limit);
  return cr ? static_cast<size_t>(static_cast<const char*>(cr) - begin) : limit;
}

// Parses a retry: value made only of ASCII digits; saturates at INT_MAX.
bool ParseRetry(absl::string_view value, int* ms) {
  if (value.empty()) return false;
  long long n = 0;
  for (char c : value) {
    if (c < '0' || c > '9') return false;
    n = std::min<long long>(n * 10 + (c - '0'), INT_MAX);
  }
  *ms = static_cast<int>(n);
  return true;
}

}  // namespace

void SseFramer::Feed(absl::string_view bytes, std::vector<SseEvent>* out) {
  if (!bom_checked_) {
    // Hold the first bytes in line_ until we know whether they are a BOM.
    const size_t take = std::min(kBom.size() - line_.size(), bytes.size());
    line_.append(bytes.data(), take);
    bytes.remove_prefix(take);
    if (line_.size() < kBom.size() && kBom.substr(0, line_.size()) == line_) {
      return;  // All input consumed; still a possible BOM prefix.
    }
    bom_checked_ = true;
    std::string head;
    head.swap(line_);
    absl::string_view h(head);
    if (h.substr(0, kBom.size()) == kBom) h.remove_prefix(kBom.size());
    Consume(h, out);
  }
  Consume(bytes, out);
}

void SseFramer::Consume(absl::string_view bytes, std::vector<SseEvent>* out) {
  if (bytes.empty()) return;
  if (skip_lf_) {
    // CR ended the previous chunk; an LF here completes the same CRLF.
    skip_lf_ = false;
    if (bytes.front() == '\n') bytes.remove_prefix(1);
  }
  while (!bytes.empty()) {
    const size_t end = FindLineEnd(bytes);
    if (end == bytes.size()) {
      line_.append(bytes.data(), bytes.size());
      return;
    }
    if (line_.empty()) {
      ProcessLine(bytes.substr(0, end), out);
    } else {
      line_.append(bytes.data(), end);
      ProcessLine(line_, out);
      line_.clear();
    }
    if (bytes[end] == '\r') {
      if (end + 1 == bytes.size()) {
        skip_lf_ = true;
      } else if (bytes[end + 1] == '\n') {
        bytes.remove_prefix(1);
      }
    }
    bytes.remove_prefix(end + 1);
  }
}

void SseFramer::ProcessLine(absl::string_view line,
                            std::vector<SseEvent>* out) {
  if (line.empty()) {
    Dispatch(out);
    return;
  }
  if (line.front() == ':') {
    pending_.comments.emplace_back(StripOneSpace(line.substr(1)));
    has_extra_ = true;
    return;
  }
  absl::string_view field = line;
  absl::string_view value;
  const size_t colon = line.find(':');
  if (colon != absl::string_view::npos) {
    field = line.substr(0, colon);
    value = StripOneSpace(line.substr(colon + 1));
  }
  if (field == "data") {
    if (has_data_) pending_.data.push_back('\n');
    pending_.data.append(value.data(), value.size());
    has_data_ = true;
  } else if (field == "event") {
    pending_.event.assign(value.data(), value.size());
    has_extra_ = true;
  } else if (field == "id") {
    if (value.find('\0') == absl::string_view::npos) {
      pending_.id.assign(value.data(), value.size());
    }
  } else if (field == "retry") {
    int ms;
    if (ParseRetry(value, &ms)) pending_.retry_ms = ms;
  }
  // Any other field name is ignored, as the spec requires.
}

void SseFramer::Dispatch(std::vector<SseEvent>* out) {
  // Deviation from WHATWG: data-less blocks with comments or event: still
  // dispatch, so adapters see e.g. DashScope's ":HTTP_STATUS/200" blocks.
  if (has_data_ || has_extra_) out->push_back(std::move(pending_));
  pending_ = SseEvent();
  has_data_ = false;
  has_extra_ = false;
}

std::string SseEventText(const SseEvent& event) {
  std::string text;
  if (!event.event.empty())
    absl::StrAppend(&text, "event: ", event.event, "\n");
  for (absl::string_view line : absl::StrSplit(event.data, '\n')) {
    absl::StrAppend(&text, "data: ", line, "\n");
  }
  text += "\n";
  return text;
}

void SseFramer::Finish(std::vector<SseEvent>* out) {
  // A lone partial BOM prefix left in line_ is ordinary line content.
  bom_checked_ = true;
  if (!line_.empty()) {
    ProcessLine(line_, out);
    line_.clear();
  }
  Dispatch(out);
  // Reset so the framer can parse a fresh stream.
  bom_checked_ = false;
  skip_lf_ = false;
}

size_t SseFramer::buffered_bytes() const {
  size_t bytes = line_.size() + pending_.data.size();
  for (const std::string& comment : pending_.comments) bytes += comment.size();
  return bytes;
}

}  // namespace aigw
