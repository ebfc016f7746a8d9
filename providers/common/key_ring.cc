#include "providers/common/key_ring.h"

#include <algorithm>
#include <utility>

#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "providers/common/api_error.h"
#include "providers/common/log.h"

namespace aigw {
namespace {

constexpr absl::Duration kFirstBackoff = absl::Seconds(1);
constexpr absl::Duration kMaxBackoff = absl::Seconds(60);
// A rejected key (401) or a model the key may not use (403) stays out
// longer: retrying at once cannot help, but keys do get fixed.
constexpr absl::Duration kFirstDenialBackoff = absl::Minutes(1);
constexpr absl::Duration kMaxDenialBackoff = absl::Minutes(30);
// A probe lease that is never reported (its request failed before the
// upstream call) frees the probe slot after this.
constexpr absl::Duration kProbeTimeout = absl::Minutes(5);
// A model's cool-down long over is forgotten (clients choose model names,
// so the per-model map must not grow without bound); kept this long, a
// repeating 403 still doubles its back-off.
constexpr absl::Duration kForgetAfter = absl::Hours(1);

absl::Duration NextBackoff(absl::Duration current, absl::Duration first,
                           absl::Duration max) {
  return current == absl::ZeroDuration() ? first : std::min(current * 2, max);
}

}  // namespace

struct KeyRing::State {
  struct Cooldown {
    absl::Time until = absl::InfinitePast();
    absl::Duration backoff = absl::ZeroDuration();
  };
  struct Key {
    Cooldown auth;  // 401: every model
    // While a lease probes a key whose 401 back-off ended.
    absl::Time probing_until = absl::InfinitePast();
    std::map<std::string, Cooldown> models;  // 429 and 403, per model
  };

  explicit State(size_t keys) : keys(keys) {}

  absl::Mutex mu;
  std::vector<Key> keys ABSL_GUARDED_BY(mu);
  size_t next ABSL_GUARDED_BY(mu) = 0;
};

KeyRing::KeyRing(std::string provider, std::vector<std::string> keys,
                 Clock clock)
    : KeyRing(std::move(provider), keys, std::make_shared<State>(keys.size()),
              std::move(clock)) {}

KeyRing::KeyRing(std::string provider, std::vector<std::string> keys,
                 std::shared_ptr<State> state, Clock clock)
    : provider_(std::move(provider)),
      keys_(std::move(keys)),
      clock_(std::move(clock)),
      state_(std::move(state)) {}

absl::StatusOr<KeyRing::Lease> KeyRing::Acquire(absl::string_view model) {
  if (keys_.empty()) return Lease{};
  absl::Time now = clock_();
  absl::MutexLock lock(&state_->mu);
  absl::Time first_free = absl::InfiniteFuture();
  for (size_t tried = 0; tried < keys_.size(); ++tried) {
    size_t index = state_->next++ % keys_.size();
    State::Key& key = state_->keys[index];
    absl::Time free_at = key.auth.until;
    auto cooled = key.models.find(std::string(model));
    if (cooled != key.models.end()) {
      free_at = std::max(free_at, cooled->second.until);
    }
    // After a 401 back-off one request at a time probes the key; the
    // others are told to come back in a second.
    if (key.probing_until > now) {
      free_at = std::max(free_at, now + absl::Seconds(1));
    }
    if (free_at > now) {
      first_free = std::min(first_free, free_at);
      continue;
    }
    if (key.auth.backoff != absl::ZeroDuration()) {
      key.probing_until = now + kProbeTimeout;
    }
    return Lease{static_cast<int>(index), keys_[index], std::string(model)};
  }
  ApiErrorSpec spec;
  spec.code = absl::StatusCode::kResourceExhausted;
  spec.http_status = 429;
  spec.error_code = "keys_exhausted";
  spec.message = absl::StrCat("every API key of provider '", provider_,
                              "' is cooling down or disabled");
  spec.retry_after_ms = absl::ToInt64Milliseconds(first_free - now);
  return MakeApiError(spec);
}

void KeyRing::Report(const Lease& lease, const absl::Status& result) {
  if (lease.index < 0) return;
  absl::Time now = clock_();
  absl::MutexLock lock(&state_->mu);
  State::Key& key = state_->keys[lease.index];
  key.probing_until = absl::InfinitePast();
  for (auto it = key.models.begin(); it != key.models.end();) {
    it = it->second.until + kForgetAfter < now ? key.models.erase(it)
                                               : std::next(it);
  }
  switch (result.code()) {
    case absl::StatusCode::kOk:
      if (key.auth.backoff != absl::ZeroDuration()) {
        Log(LogLevel::kInfo,
            absl::StrCat("provider '", provider_, "': API key #",
                         lease.index + 1, " accepted again; back in rotation"),
            {{"provider", provider_}, {"key_number", lease.index + 1}});
      }
      key.auth = State::Cooldown{};
      key.models.erase(lease.model);
      break;
    case absl::StatusCode::kResourceExhausted: {
      State::Cooldown& cooldown = key.models[lease.model];
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
      State::Cooldown& cooldown = key.models[lease.model];
      cooldown.backoff =
          NextBackoff(cooldown.backoff, kFirstDenialBackoff, kMaxDenialBackoff);
      cooldown.until = now + cooldown.backoff;
      break;
    }
    case absl::StatusCode::kUnauthenticated: {
      bool first = key.auth.backoff == absl::ZeroDuration();
      key.auth.backoff =
          NextBackoff(key.auth.backoff, kFirstDenialBackoff, kMaxDenialBackoff);
      key.auth.until = now + key.auth.backoff;
      // Logged by position, never by value; once, not at every probe.
      if (first) {
        Log(LogLevel::kWarn,
            absl::StrCat("provider '", provider_, "': API key #",
                         lease.index + 1,
                         " rejected (401); out of rotation, probed again "
                         "after a back-off of 1m to 30m"),
            {{"provider", provider_}, {"key_number", lease.index + 1}});
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

namespace {

// The live key states by provider: the registry beside the config
// snapshots. Entries are weak, so a state lives exactly as long as some
// snapshot's ring uses it.
class KeyStateRegistry {
 public:
  static KeyStateRegistry& Global() {
    static KeyStateRegistry* registry = new KeyStateRegistry;
    return *registry;
  }

  std::shared_ptr<KeyRing::State> StateFor(
      const ProviderConfig& config, std::shared_ptr<KeyRing::State> fresh) {
    // A fingerprint, not the keys themselves: this map keeps no secret.
    size_t fingerprint =
        absl::HashOf(config.type, config.base_url, config.api_keys);
    absl::MutexLock lock(&mu_);
    for (auto it = states_.begin(); it != states_.end();) {
      it = it->second.expired() ? states_.erase(it) : std::next(it);
    }
    std::weak_ptr<KeyRing::State>& entry = states_[{config.name, fingerprint}];
    if (std::shared_ptr<KeyRing::State> live = entry.lock()) return live;
    entry = fresh;
    return fresh;
  }

 private:
  absl::Mutex mu_;
  std::map<std::pair<std::string, size_t>, std::weak_ptr<KeyRing::State>>
      states_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

absl::StatusOr<std::unique_ptr<KeyRing>> MakeKeyRing(
    const ProviderConfig& config, bool key_required) {
  if (key_required && config.api_keys.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "api_keys: the ", config.type, " provider needs at least one key"));
  }
  std::shared_ptr<KeyRing::State> state = KeyStateRegistry::Global().StateFor(
      config, std::make_shared<KeyRing::State>(config.api_keys.size()));
  return std::make_unique<KeyRing>(config.name, config.api_keys,
                                   std::move(state));
}

}  // namespace aigw
