#include "providers/common/key_ring.h"

#include <algorithm>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "providers/common/api_error.h"

namespace aigw {
namespace {

constexpr absl::Duration kFirstBackoff = absl::Seconds(1);
constexpr absl::Duration kMaxBackoff = absl::Seconds(60);
// A rejected key (401) or a model the key may not use (403) stays out
// longer: retrying at once cannot help, but keys do get fixed.
constexpr absl::Duration kFirstDenialBackoff = absl::Minutes(1);
constexpr absl::Duration kMaxDenialBackoff = absl::Minutes(30);
constexpr absl::Duration kProbeTimeout = absl::Minutes(5);

absl::Duration NextBackoff(absl::Duration current, absl::Duration first,
                           absl::Duration max) {
  return current == absl::ZeroDuration() ? first : std::min(current * 2, max);
}

}  // namespace

KeyRing::KeyRing(std::string provider, std::vector<std::string> keys,
                 Clock clock)
    : provider_(std::move(provider)),
      keys_(std::move(keys)),
      clock_(std::move(clock)),
      states_(keys_.size()) {}

absl::StatusOr<KeyRing::Lease> KeyRing::Acquire(absl::string_view model) {
  if (keys_.empty()) return Lease{};
  absl::Time now = clock_();
  absl::MutexLock lock(&mu_);
  absl::Time first_free = absl::InfiniteFuture();
  for (size_t tried = 0; tried < keys_.size(); ++tried) {
    size_t index = next_++ % keys_.size();
    KeyState& state = states_[index];
    absl::Time free_at = state.auth.until;
    auto cooled = state.models.find(std::string(model));
    if (cooled != state.models.end()) {
      free_at = std::max(free_at, cooled->second.until);
    }
    // After a 401 back-off one request at a time probes the key.
    bool probe_busy = state.probing_until > now;
    if (free_at > now || probe_busy) {
      first_free = std::min(first_free, std::max(free_at, now));
      continue;
    }
    if (state.auth.backoff != absl::ZeroDuration()) {
      state.probing_until = now + kProbeTimeout;
    }
    return Lease{static_cast<int>(index), keys_[index], std::string(model)};
  }
  ApiErrorSpec spec;
  spec.code = absl::StatusCode::kResourceExhausted;
  spec.http_status = 429;
  spec.error_code = "keys_exhausted";
  spec.message = absl::StrCat("every API key of provider '", provider_,
                              "' is cooling down or disabled");
  if (first_free != absl::InfiniteFuture()) {
    spec.retry_after_ms = absl::ToInt64Milliseconds(first_free - now);
  }
  return MakeApiError(spec);
}

void KeyRing::Report(const Lease& lease, const absl::Status& result) {
  if (lease.index < 0) return;
  absl::Time now = clock_();
  absl::MutexLock lock(&mu_);
  KeyState& state = states_[lease.index];
  state.probing_until = absl::InfinitePast();
  switch (result.code()) {
    case absl::StatusCode::kOk: {
      if (state.auth.backoff != absl::ZeroDuration()) {
        std::fprintf(stderr,
                     "aigw: provider '%s': API key #%d accepted again\n",
                     provider_.c_str(), lease.index + 1);
      }
      state.auth = Cooldown{};
      state.models.erase(lease.model);
      break;
    }
    case absl::StatusCode::kResourceExhausted: {
      Cooldown& cooldown = state.models[lease.model];
      int64_t retry_after_ms = GetErrorDetails(result).retry_after_ms;
      if (retry_after_ms >= 0) {
        cooldown.until = now + absl::Milliseconds(retry_after_ms);
      } else {
        cooldown.backoff =
            NextBackoff(cooldown.backoff, kFirstBackoff, kMaxBackoff);
        cooldown.until = now + cooldown.backoff;
      }
      break;
    }
    case absl::StatusCode::kPermissionDenied: {
      Cooldown& cooldown = state.models[lease.model];
      cooldown.backoff =
          NextBackoff(cooldown.backoff, kFirstDenialBackoff, kMaxDenialBackoff);
      cooldown.until = now + cooldown.backoff;
      break;
    }
    case absl::StatusCode::kUnauthenticated: {
      bool first = state.auth.backoff == absl::ZeroDuration();
      state.auth.backoff = NextBackoff(state.auth.backoff, kFirstDenialBackoff,
                                       kMaxDenialBackoff);
      state.auth.until = now + state.auth.backoff;
      // Logged by position, never by value; once, not at every probe.
      if (first) {
        std::fprintf(stderr,
                     "aigw: provider '%s': API key #%d rejected (401); out of "
                     "rotation, next try in %s\n",
                     provider_.c_str(), lease.index + 1,
                     absl::FormatDuration(state.auth.backoff).c_str());
      }
      break;
    }
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
