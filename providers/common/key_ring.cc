#include "providers/common/key_ring.h"

#include <algorithm>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "providers/common/api_error.h"

namespace aigw {
namespace {

constexpr absl::Duration kFirstBackoff = absl::Seconds(1);
constexpr absl::Duration kMaxBackoff = absl::Seconds(60);

}  // namespace

KeyRing::KeyRing(std::string provider, std::vector<std::string> keys,
                 Clock clock)
    : provider_(std::move(provider)),
      keys_(std::move(keys)),
      clock_(std::move(clock)),
      states_(keys_.size()) {}

absl::StatusOr<KeyRing::Lease> KeyRing::Acquire() {
  if (keys_.empty()) return Lease{};
  absl::Time now = clock_();
  absl::MutexLock lock(&mu_);
  for (size_t tried = 0; tried < keys_.size(); ++tried) {
    size_t index = next_++ % keys_.size();
    const KeyState& state = states_[index];
    if (state.disabled || state.cool_until > now) continue;
    return Lease{static_cast<int>(index), keys_[index]};
  }
  ApiErrorSpec spec;
  spec.code = absl::StatusCode::kResourceExhausted;
  spec.http_status = 429;
  spec.error_code = "keys_exhausted";
  spec.message = absl::StrCat("every API key of provider '", provider_,
                              "' is cooling down or disabled");
  return MakeApiError(spec);
}

void KeyRing::Report(const Lease& lease, const absl::Status& result) {
  if (lease.index < 0) return;
  absl::MutexLock lock(&mu_);
  KeyState& state = states_[lease.index];
  switch (result.code()) {
    case absl::StatusCode::kOk:
      state.backoff = absl::ZeroDuration();
      break;
    case absl::StatusCode::kResourceExhausted: {
      int64_t retry_after_ms = GetErrorDetails(result).retry_after_ms;
      if (retry_after_ms >= 0) {
        state.cool_until = clock_() + absl::Milliseconds(retry_after_ms);
      } else {
        state.backoff = state.backoff == absl::ZeroDuration()
                            ? kFirstBackoff
                            : std::min(state.backoff * 2, kMaxBackoff);
        state.cool_until = clock_() + state.backoff;
      }
      break;
    }
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kPermissionDenied:
      if (!state.disabled) {
        state.disabled = true;
        // Logged by position, never by value.
        std::fprintf(stderr,
                     "aigw: provider '%s': API key #%d rejected (%s); out of "
                     "rotation until reload\n",
                     provider_.c_str(), lease.index + 1,
                     result.code() == absl::StatusCode::kUnauthenticated
                         ? "401"
                         : "403");
      }
      break;
    default:
      break;
  }
}

absl::Status KeyRing::ReportAndRedact(const Lease& lease,
                                      const absl::Status& result) {
  Report(lease, result);
  return RedactSecrets(result, keys_);
}

absl::StatusOr<std::unique_ptr<KeyRing>> MakeKeyRing(
    const ProviderConfig& config, bool key_required) {
  if (key_required && config.api_keys.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "api_keys: the ", config.type, " provider needs at least one key"));
  }
  return std::make_unique<KeyRing>(config.name, config.api_keys);
}

}  // namespace aigw
