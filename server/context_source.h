// A standing chat context (`context: {file: ...}` or `{url: ..., refresh:}`)
// prepended as the first system message of the requests it applies to.
// A file is read when the config loads (an unreadable file is a config
// error). A URL is fetched in the background and refreshed; a failed fetch
// keeps the last good copy serving and is reported on /readyz; before any
// copy was loaded the requests get 503.
#ifndef AIGW_SERVER_CONTEXT_SOURCE_H_
#define AIGW_SERVER_CONTEXT_SOURCE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "providers/provider.h"

namespace aigw {

class ContextSource {
 public:
  static constexpr size_t kMaxBytes = 1 << 20;

  // `where` names the config key in errors ("routes[0].context").
  static absl::StatusOr<std::shared_ptr<ContextSource>> Create(
      const ContextConfig& config, const std::string& where);
  ~ContextSource();

  // The text to prepend, or a 503 when no copy was ever loaded.
  absl::StatusOr<std::shared_ptr<const std::string>> Text() const;
  // "" when the last load worked; otherwise what went wrong, for /readyz.
  std::string Problem() const;
  const ContextConfig& config() const;

  struct State;  // shared with the background fetcher

 private:
  explicit ContextSource(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

}  // namespace aigw

#endif  // AIGW_SERVER_CONTEXT_SOURCE_H_
