#include "server/gateway.h"

#include <atomic>
#include <cstdio>
#include <random>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "providers/common/api_error.h"
#include "server/model_catalog.h"

namespace aigw {
namespace {

// OpenAI's own error for a number outside its documented range.
absl::Status OutOfRange(absl::string_view param, double value, double min,
                        double max, bool integer) {
  bool below = value < min;
  return InvalidRequest(
      absl::StrCat("Invalid '", param, "': ", integer ? "integer" : "decimal",
                   below ? " below minimum" : " above maximum",
                   " value. Expected a value ", below ? ">= " : "<= ",
                   below ? min : max, ", but got ", value, " instead."),
      param,
      absl::StrCat(integer ? "integer" : "decimal",
                   below ? "_below_min_value" : "_above_max_value"));
}

// The ranges OpenAI enforces: values it would refuse are refused here too,
// naming the param, rather than reaching an upstream that may do anything.
absl::Status ValidateRanges(const v1::ChatCompletionRequest& request) {
  struct Range {
    const char* param;
    bool present;
    double value;
    double min, max;
    bool integer;
  };
  const Range ranges[] = {
      {"n", request.has_n(), static_cast<double>(request.n()), 1, 128, true},
      {"max_tokens", request.has_max_tokens(),
       static_cast<double>(request.max_tokens()), 1, INT32_MAX, true},
      {"max_completion_tokens", request.has_max_completion_tokens(),
       static_cast<double>(request.max_completion_tokens()), 1, INT32_MAX,
       true},
      {"temperature", request.has_temperature(), request.temperature(), 0, 2,
       false},
      {"top_p", request.has_top_p(), request.top_p(), 0, 1, false},
      {"presence_penalty", request.has_presence_penalty(),
       request.presence_penalty(), -2, 2, false},
      {"frequency_penalty", request.has_frequency_penalty(),
       request.frequency_penalty(), -2, 2, false},
  };
  for (const Range& range : ranges) {
    if (!range.present) continue;
    if (!(range.value >= range.min && range.value <= range.max)) {
      return OutOfRange(range.param, range.value, range.min, range.max,
                        range.integer);
    }
  }
  constexpr int kMaxTools = 128;
  if (request.tools_size() > kMaxTools) {
    return InvalidRequest(
        absl::StrCat("Invalid 'tools': array too long. Expected an array with "
                     "maximum length ",
                     kMaxTools, ", but got an array with length ",
                     request.tools_size(), " instead."),
        "tools", "array_above_max_length");
  }
  return absl::OkStatus();
}

absl::Status Validate(const v1::ChatCompletionRequest& request) {
  if (request.model().empty()) {
    return InvalidRequest("you must provide a model parameter", "model",
                          "missing_required");
  }
  if (request.messages_size() == 0) {
    return InvalidRequest(
        "Invalid 'messages': empty array. Expected an array with minimum "
        "length 1, but got an empty array instead.",
        "messages", "empty_array");
  }
  for (int i = 0; i < request.messages_size(); ++i) {
    const std::string& role = request.messages(i).role();
    if (role != "system" && role != "developer" && role != "user" &&
        role != "assistant" && role != "tool" && role != "function") {
      std::string param = absl::StrCat("messages[", i, "].role");
      return InvalidRequest(
          absl::StrCat("Invalid value for '", param, "': '", role,
                       "'. Supported values are: 'system', 'developer', "
                       "'user', 'assistant', 'tool' and 'function'."),
          param, "invalid_value");
    }
  }
  return ValidateRanges(request);
}

uint32_t Random() {
  thread_local std::mt19937 generator{std::random_device{}()};
  return generator();
}

// Failures another key or provider may not have.
bool Retryable(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kPermissionDenied:
      return true;
    default:
      return false;
  }
}

// Failures of one key: the same provider is worth another try with the
// next key (its KeyRing has cooled down or disabled this one).
bool KeySpecific(const absl::Status& status) {
  if (status.code() == absl::StatusCode::kResourceExhausted) {
    return GetErrorDetails(status).code != "keys_exhausted";
  }
  return status.code() == absl::StatusCode::kUnauthenticated ||
         status.code() == absl::StatusCode::kPermissionDenied;
}

// A provider that failed fast without calling its upstream: every API key
// is cooling down or disabled.
bool NoUpstreamCall(const absl::Status& status) {
  return status.code() == absl::StatusCode::kResourceExhausted &&
         GetErrorDetails(status).code == "keys_exhausted";
}

// Failures that say the provider itself is unwell (for its breaker).
bool ProviderFailure(const absl::Status& status) {
  return status.code() == absl::StatusCode::kUnavailable ||
         status.code() == absl::StatusCode::kDeadlineExceeded;
}

// The standing contexts of a candidate, the route's first.
absl::StatusOr<ContextTexts> ResolveContexts(const Candidate& candidate) {
  ContextTexts texts;
  const ContextSource* sources[] = {candidate.route_context,
                                    candidate.backend->context.get()};
  for (const ContextSource* source : sources) {
    if (source == nullptr) continue;
    absl::StatusOr<std::shared_ptr<const std::string>> text = source->Text();
    if (!text.ok()) return text.status();
    texts.push_back(*text);
  }
  return texts;
}

// Prepends the standing contexts as system messages, in order.
void AddContexts(const ContextTexts& texts,
                 v1::ChatCompletionRequest* request) {
  if (texts.empty()) return;
  auto* messages = request->mutable_messages();
  for (const auto& text : texts) {
    v1::Message system;
    system.set_role("system");
    system.set_content(*text);
    messages->Add(std::move(system));
  }
  // Move the added messages (the last ones) to the front, in order.
  std::rotate(messages->begin(), messages->end() - texts.size(),
              messages->end());
}

// What the front door tells its client about the attempt that answered.
void SetAnswered(const Candidate& candidate, const CallContext& ctx,
                 CallInfo* info) {
  info->provider = candidate.backend->config.name;
  info->dropped_params = ctx.dropped_params;
  info->upstream_headers = ctx.upstream_headers;
}

// Counts a request in flight for its whole scope.
class InFlight {
 public:
  explicit InFlight(std::atomic<int>& count) : count_(count) { ++count_; }
  ~InFlight() { --count_; }

 private:
  std::atomic<int>& count_;
};

// Disarms a deadline timer however the scope is left.
class ArmedTimer {
 public:
  ArmedTimer(DeadlineTimer& timer, uint64_t id) : timer_(timer), id_(id) {}
  ~ArmedTimer() {
    if (id_ != 0) timer_.Disarm(id_);
  }

 private:
  DeadlineTimer& timer_;
  const uint64_t id_;
};

// Presents the provider's chunks as the client expects them: the model name
// it asked for, and the usage chunk only when it asked for usage.
class ClientChunkSink : public ChunkSink {
 public:
  ClientChunkSink(ChunkSink& out, std::string model, bool include_usage,
                  std::function<void()> on_first)
      : out_(out),
        model_(std::move(model)),
        include_usage_(include_usage),
        on_first_(std::move(on_first)) {}

  bool Write(v1::ChatCompletionChunk chunk) override {
    if (chunk.has_usage()) usage_ = chunk.usage();
    if (chunk.has_usage() && !include_usage_) {
      if (chunk.choices_size() == 0) return true;
      chunk.clear_usage();
    }
    chunk.set_model(model_);
    if (!wrote_.exchange(true)) on_first_();
    return out_.Write(std::move(chunk));
  }

  bool wrote() const { return wrote_.load(); }
  const v1::Usage& usage() const { return usage_; }

 private:
  ChunkSink& out_;
  const std::string model_;
  const bool include_usage_;
  std::function<void()> on_first_;
  std::atomic<bool> wrote_{false};
  v1::Usage usage_;
};

}  // namespace

Gateway::Gateway(std::shared_ptr<const GatewaySnapshot> snapshot,
                 Metrics* metrics)
    : snapshot_(std::move(snapshot)), metrics_(metrics) {}

std::shared_ptr<const GatewaySnapshot> Gateway::snapshot() const {
  absl::MutexLock lock(&mu_);
  return snapshot_;
}

void Gateway::SetSnapshot(std::shared_ptr<const GatewaySnapshot> snapshot) {
  absl::MutexLock lock(&mu_);
  snapshot_ = std::move(snapshot);
}

absl::Status Gateway::RunAttempts(const GatewaySnapshot& snapshot,
                                  const std::string& model, CancelToken* cancel,
                                  CallInfo* info, const AttemptFn& attempt) {
  absl::StatusOr<std::vector<Candidate>> plan =
      PlanFor(snapshot, model, Random());
  if (!plan.ok()) return plan.status();
  const RetryConfig& retries = snapshot.config.retries;
  absl::Time give_up = absl::Now() + retries.budget;
  absl::Status last = absl::UnavailableError("no provider was tried");
  for (size_t p = 0; p < plan->size(); ++p) {
    const Candidate& candidate = (*plan)[p];
    const Backend& backend = *candidate.backend;
    // Key failures earn one more try per other key of the same provider.
    size_t tries_here = std::max<size_t>(1, backend.config.api_keys.size());
    for (size_t k = 0; k < tries_here; ++k) {
      if (info->attempts >= retries.max_attempts || absl::Now() > give_up) {
        return last;
      }
      // A standing context that never loaded fails this candidate without
      // counting as an upstream attempt or a provider failure.
      absl::StatusOr<ContextTexts> contexts = ResolveContexts(candidate);
      if (!contexts.ok()) {
        last = contexts.status();
        break;
      }
      if (!backend.breaker->Allow()) {
        last = MakeApiError(
            {absl::StatusCode::kUnavailable,
             absl::StrCat("provider '", backend.config.name,
                          "' is failing and skipped for now "
                          "(circuit breaker open)"),
             503, "upstream_error", "", "circuit_open",
             absl::ToInt64Milliseconds(backend.breaker->RetryAfter())});
        break;
      }
      info->attempts++;
      auto token = std::make_shared<CancelToken>();
      if (cancel != nullptr) cancel->SetCanceller([token] { token->Cancel(); });
      uint64_t total_timer = 0;
      if (backend.config.total_timeout > absl::ZeroDuration()) {
        absl::Duration limit = backend.config.total_timeout;
        total_timer = timer_.Arm(absl::Now() + limit, [token, limit] {
          token->Cancel(UpstreamTimeout(absl::StrCat(
              "the total timeout of ", absl::FormatDuration(limit))));
        });
      }
      ArmedTimer total(timer_, total_timer);
      bool committed = false;
      absl::Status status;
      try {
        status = attempt(candidate, *contexts, *token, &committed);
      } catch (const std::exception& e) {
        // No exception may cross into the front doors (or off a fiber).
        status = absl::InternalError(
            absl::StrCat("internal error while calling provider '",
                         backend.config.name, "': ", e.what()));
      }
      if (cancel != nullptr) cancel->ClearCanceller();
      if (!status.ok() && token->cancelled()) status = token->reason();
      // Whatever the adapter missed: no upstream-originated error text
      // reaches a client or a log with a provider key in it.
      status = RedactSecrets(status, backend.config.api_keys);
      metrics_->RecordAttempt(backend.config.name, status);
      // Failing fast without calling the upstream uses no attempt.
      if (NoUpstreamCall(status)) info->attempts--;

      // Every Allow() is answered, or a half-open breaker would wait for
      // its probe forever.
      if (ProviderFailure(status)) {
        backend.breaker->RecordFailure();
      } else if (status.code() == absl::StatusCode::kCancelled ||
                 NoUpstreamCall(status)) {
        backend.breaker->RecordNeutral();
      } else {
        backend.breaker->RecordSuccess();  // it answered, even if with a 4xx
      }
      if (status.ok()) return status;
      last = status;
      if ((cancel != nullptr && cancel->cancelled()) || committed ||
          !Retryable(status)) {
        return status;
      }
      std::fprintf(stderr, "aigw: %s via provider '%s' failed: %s\n",
                   model.c_str(), backend.config.name.c_str(),
                   std::string(status.message()).c_str());
      if (!KeySpecific(status)) break;
    }
  }
  return last;
}

absl::StatusOr<v1::ChatCompletion> Gateway::Create(
    v1::ChatCompletionRequest request, CancelToken* cancel, CallInfo* info) {
  InFlight in_flight(in_flight_);
  absl::Time start = absl::Now();
  CallInfo local_info;
  if (info == nullptr) info = &local_info;
  std::shared_ptr<const GatewaySnapshot> snapshot = this->snapshot();
  v1::ChatCompletion completion;
  absl::Status status = Validate(request);
  if (status.ok()) {
    request.set_stream(false);
    request.clear_stream_options();
    status = RunAttempts(
        *snapshot, request.model(), cancel, info,
        [&](const Candidate& candidate, const ContextTexts& contexts,
            CancelToken& token, bool*) {
          v1::ChatCompletionRequest upstream = request;
          upstream.set_model(candidate.upstream_model);
          AddContexts(contexts, &upstream);
          CallContext ctx{&token};
          absl::StatusOr<v1::ChatCompletion> answer =
              candidate.backend->provider->Complete(upstream, ctx);
          // A relayed 429 keeps the upstream's x-ratelimit-* headers.
          info->upstream_headers = ctx.upstream_headers;
          if (!answer.ok()) return answer.status();
          completion = std::move(*answer);
          SetAnswered(candidate, ctx, info);
          return absl::OkStatus();
        });
  }
  if (status.ok()) {
    completion.set_model(request.model());
    metrics_->RecordUsage(info->provider, completion.usage());
    metrics_->RecordDroppedParams(info->provider, info->dropped_params);
  }
  metrics_->RecordRequest(
      info->provider, false,
      status.ok() ? 200 : GetErrorDetails(status).http_status,
      absl::Now() - start);
  if (!status.ok()) return status;
  return completion;
}

absl::Status Gateway::Stream(v1::ChatCompletionRequest request, ChunkSink& sink,
                             CancelToken* cancel, CallInfo* info) {
  InFlight in_flight(in_flight_);
  absl::Time start = absl::Now();
  CallInfo local_info;
  if (info == nullptr) info = &local_info;
  std::shared_ptr<const GatewaySnapshot> snapshot = this->snapshot();
  metrics_->StreamOpened();
  v1::Usage usage;
  absl::Status status = Validate(request);
  if (status.ok()) {
    request.set_stream(true);
    status = RunAttempts(
        *snapshot, request.model(), cancel, info,
        [&](const Candidate& candidate, const ContextTexts& contexts,
            CancelToken& token, bool* committed) {
          v1::ChatCompletionRequest upstream = request;
          upstream.set_model(candidate.upstream_model);
          AddContexts(contexts, &upstream);
          CallContext ctx{&token};
          // The adapter has translated the request (and the upstream sent
          // its headers) before the first chunk.
          ClientChunkSink client_sink(
              sink, request.model(), request.stream_options().include_usage(),
              [info, &candidate, &ctx] { SetAnswered(candidate, ctx, info); });
          uint64_t first_byte_timer = 0;
          absl::Duration limit = candidate.backend->config.first_byte_timeout;
          if (limit > absl::ZeroDuration()) {
            first_byte_timer =
                timer_.Arm(absl::Now() + limit, [&client_sink, &token, limit] {
                  if (client_sink.wrote()) return;
                  token.Cancel(UpstreamTimeout(absl::StrCat(
                      "no first byte within ", absl::FormatDuration(limit))));
                });
          }
          ArmedTimer first_byte(timer_, first_byte_timer);
          absl::Status result =
              candidate.backend->provider->Stream(upstream, ctx, client_sink);
          if (!client_sink.wrote())
            info->upstream_headers = ctx.upstream_headers;
          *committed = client_sink.wrote();
          usage = client_sink.usage();
          return result;
        });
  }
  metrics_->RecordUsage(info->provider, usage);
  metrics_->RecordDroppedParams(info->provider, info->dropped_params);
  metrics_->StreamClosed();
  metrics_->RecordRequest(
      info->provider, true,
      status.ok() ? 200 : GetErrorDetails(status).http_status,
      absl::Now() - start);
  return status;
}

absl::StatusOr<v1::EmbeddingsResponse> Gateway::Embed(
    v1::EmbeddingsRequest request, CancelToken* cancel, CallInfo* info) {
  InFlight in_flight(in_flight_);
  absl::Time start = absl::Now();
  CallInfo local_info;
  if (info == nullptr) info = &local_info;
  std::shared_ptr<const GatewaySnapshot> snapshot = this->snapshot();
  v1::EmbeddingsResponse response;
  absl::Status status;
  if (request.model().empty()) {
    status = InvalidRequest("you must provide a model parameter", "model",
                            "missing_required");
  } else if (request.input_size() == 0) {
    status = InvalidRequest("'input' must not be empty.", "input",
                            "missing_required");
  } else if (request.has_dimensions() && request.dimensions() <= 0) {
    // Checked here, not only by the REST parser: gRPC requests come too.
    status = InvalidRequest(
        "Invalid type for 'dimensions': expected a positive integer.",
        "dimensions", "invalid_type");
  } else if (!request.encoding_format().empty() &&
             request.encoding_format() != "float" &&
             request.encoding_format() != "base64") {
    status =
        InvalidRequest("'encoding_format' must be \"float\" or \"base64\".",
                       "encoding_format", "invalid_value");
  } else {
    status =
        RunAttempts(*snapshot, request.model(), cancel, info,
                    [&](const Candidate& candidate, const ContextTexts&,
                        CancelToken& token, bool*) {
                      v1::EmbeddingsRequest upstream = request;
                      upstream.set_model(candidate.upstream_model);
                      CallContext ctx{&token};
                      absl::StatusOr<v1::EmbeddingsResponse> answer =
                          candidate.backend->provider->Embed(upstream, ctx);
                      if (!answer.ok()) return answer.status();
                      response = std::move(*answer);
                      SetAnswered(candidate, ctx, info);
                      return absl::OkStatus();
                    });
  }
  if (status.ok()) {
    response.set_model(request.model());
    metrics_->RecordUsage(info->provider, response.usage());
  }
  metrics_->RecordRequest(
      info->provider, false,
      status.ok() ? 200 : GetErrorDetails(status).http_status,
      absl::Now() - start);
  if (!status.ok()) return status;
  return response;
}

v1::ListModelsResponse Gateway::ListModels() const {
  return ListServedModels(*snapshot());
}

}  // namespace aigw
