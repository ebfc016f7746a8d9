#include "server/context_source.h"

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "httplib.h"
#include "providers/common/api_error.h"
#include "providers/common/http_client_pool.h"

namespace aigw {

struct ContextSource::State {
  ContextConfig config;
  std::string where;
  absl::Mutex mu;
  std::shared_ptr<const std::string> text ABSL_GUARDED_BY(mu);
  std::string problem ABSL_GUARDED_BY(mu);
  absl::Time loaded_at ABSL_GUARDED_BY(mu);
  bool stop ABSL_GUARDED_BY(mu) = false;
};

namespace {

// The text becomes a JSON string in every upstream request: it must be
// UTF-8.
absl::Status CheckUtf8(const std::string& text) {
  try {
    nlohmann::json(text).dump();
  } catch (const nlohmann::json::exception&) {
    return absl::InvalidArgumentError("not valid UTF-8 text");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::string text(ContextSource::kMaxBytes + 1, '\0');
  file.read(&text[0], static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(file.gcount()));
  if (text.size() > ContextSource::kMaxBytes) {
    return absl::OutOfRangeError(absl::StrCat(path, " is larger than 1 MiB"));
  }
  absl::Status utf8 = CheckUtf8(text);
  if (!utf8.ok()) return utf8;
  return text;
}

absl::StatusOr<std::string> Fetch(const std::string& url) {
  absl::StatusOr<UpstreamEndpoint> endpoint = ParseBaseUrl(url);
  if (!endpoint.ok()) return endpoint.status();
  httplib::Client client(endpoint->origin);
  client.set_connection_timeout(5, 0);
  client.set_read_timeout(10, 0);
  client.enable_server_certificate_verification(true);
  std::string body;
  bool too_big = false;
  httplib::Result result =
      client.Get(endpoint->path_prefix.empty() ? "/" : endpoint->path_prefix,
                 [&](const char* data, size_t size) {
                   if (body.size() + size > ContextSource::kMaxBytes) {
                     too_big = true;
                     return false;
                   }
                   body.append(data, size);
                   return true;
                 });
  if (too_big) return absl::OutOfRangeError("larger than 1 MiB");
  if (!result) {
    return absl::UnavailableError(httplib::to_string(result.error()));
  }
  if (result->status != 200) {
    return absl::UnavailableError(absl::StrCat("HTTP ", result->status));
  }
  absl::Status utf8 = CheckUtf8(body);
  if (!utf8.ok()) return utf8;
  return body;
}

void RecordFetch(ContextSource::State& state,
                 const absl::StatusOr<std::string>& fetched) {
  absl::MutexLock lock(&state.mu);
  if (fetched.ok()) {
    state.text = std::make_shared<const std::string>(*fetched);
    state.problem.clear();
    state.loaded_at = absl::Now();
    return;
  }
  // The URL may carry a token: only the config key names the source.
  state.problem =
      absl::StrCat("context `", state.where, "` unavailable: fetch failed (",
                   fetched.status().message(), ")",
                   state.text ? absl::StrCat("; serving the copy from ",
                                             absl::FormatTime(state.loaded_at))
                              : "; no copy loaded yet");
}

// Fetches now and then every `refresh`, until the source is destroyed.
// Until a first copy is loaded it retries every few seconds: meanwhile its
// requests are answered 503.
void RunFetcher(std::shared_ptr<ContextSource::State> state) {
  constexpr absl::Duration kFirstLoadRetry = absl::Seconds(2);
  for (;;) {
    RecordFetch(*state, Fetch(state->config.url));
    absl::MutexLock lock(&state->mu);
    absl::Duration wait =
        state->text != nullptr
            ? state->config.refresh
            : std::min(state->config.refresh, kFirstLoadRetry);
    state->mu.AwaitWithTimeout(absl::Condition(&state->stop), wait);
    if (state->stop) return;
  }
}

}  // namespace

absl::StatusOr<std::shared_ptr<ContextSource>> ContextSource::Create(
    const ContextConfig& config, const std::string& where) {
  auto state = std::make_shared<State>();
  state->config = config;
  state->where = where;
  if (!config.file.empty()) {
    absl::StatusOr<std::string> text = ReadFile(config.file);
    if (!text.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ".file: ", text.status().message()));
    }
    absl::MutexLock lock(&state->mu);
    state->text = std::make_shared<const std::string>(*std::move(text));
  } else {
    {
      absl::MutexLock lock(&state->mu);
      state->problem = absl::StrCat("context `", where,
                                    "` unavailable: not fetched yet; no copy "
                                    "loaded yet");
    }
    // Detached: it owns the state and ends at its next wake-up after the
    // source is gone, so no request thread ever waits on a fetch.
    std::thread([state] { RunFetcher(state); }).detach();
  }
  return std::shared_ptr<ContextSource>(new ContextSource(std::move(state)));
}

ContextSource::ContextSource(std::shared_ptr<State> state)
    : state_(std::move(state)) {}

ContextSource::~ContextSource() {
  absl::MutexLock lock(&state_->mu);
  state_->stop = true;
}

absl::StatusOr<std::shared_ptr<const std::string>> ContextSource::Text() const {
  absl::MutexLock lock(&state_->mu);
  if (state_->text) return state_->text;
  ApiErrorSpec spec;
  spec.code = absl::StatusCode::kUnavailable;
  spec.http_status = 503;
  spec.type = "context_unavailable";
  spec.message = absl::StrCat("context `", state_->where,
                              "` unavailable: the standing context for this "
                              "model has not been loaded yet; try again "
                              "shortly.");
  return MakeApiError(spec);
}

const ContextConfig& ContextSource::config() const { return state_->config; }

std::string ContextSource::Problem() const {
  absl::MutexLock lock(&state_->mu);
  return state_->problem;
}

}  // namespace aigw
