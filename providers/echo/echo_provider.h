// The built-in `echo` provider: answers with the last user message, streamed
// word by word. It needs no network, so it is the out-of-the-box demo and
// the load tool for tests and benchmarks. Token counts are deterministic:
// one token per whitespace-separated word.
#ifndef AIGW_PROVIDERS_ECHO_ECHO_PROVIDER_H_
#define AIGW_PROVIDERS_ECHO_ECHO_PROVIDER_H_

#include <atomic>

#include "absl/time/time.h"
#include "providers/provider.h"

namespace aigw {

class EchoProvider : public Provider {
 public:
  explicit EchoProvider(absl::Duration delay) : delay_(delay) {}

  const UpstreamEndpoint* endpoint() const override { return nullptr; }
  absl::StatusOr<LocalAnswer> LocalChat(
      const v1::ChatCompletionRequest& request) override;

 private:
  const absl::Duration delay_;
  std::atomic<uint64_t> next_id_{1};
};

}  // namespace aigw

#endif  // AIGW_PROVIDERS_ECHO_ECHO_PROVIDER_H_
