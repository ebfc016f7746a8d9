#include "server/net/response_head.h"

#include <algorithm>
#include <cstdint>

#include "absl/strings/numbers.h"

namespace aigw {

void ConfigureResponseParser(ResponseParser& parser) {
  parser.body_limit(boost::none);
  parser.header_limit(static_cast<std::uint32_t>(kMaxResponseHead));
}

int64_t RetryAfterMs(absl::string_view value) {
  double seconds = 0;
  // !(seconds >= 0) also refuses NaN ("nan" parses): min() would keep it
  // and its cast to an integer is undefined.
  if (value.empty() || !absl::SimpleAtod(value, &seconds) || !(seconds >= 0)) {
    return -1;
  }
  constexpr double kMaxSeconds = 24 * 3600;  // also keeps the cast defined
  return static_cast<int64_t>(std::min(seconds, kMaxSeconds) * 1000);
}

}  // namespace aigw
