#include "server/gateway.h"

#include <atomic>
#include <cstdio>
#include <random>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "providers/common/api_error.h"
#include "providers/common/log.h"
#include "server/filters/filter_chain.h"
#include "server/filters/rate_limit/estimator.h"
#include "server/model_catalog.h"
#include "server/observability/trace_context.h"
#include "server/upstream_call.h"

namespace aigw {
namespace {

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

// A request this candidate cannot take in translation (see Translatable):
// the next candidate may pass it through.
bool UntranslatableHere(const absl::Status& status) {
  return status.code() == absl::StatusCode::kInvalidArgument &&
         GetErrorDetails(status).code == kUntranslatableCode;
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
  // The client's own body would not carry them: translate instead (a
  // token count is then the gateway's estimate, contexts included).
  request->clear_passthrough_body();
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
void SetAnswered(const Candidate& candidate, const CallContext& call,
                 CallInfo* info) {
  info->provider = candidate.backend->config.name;
  info->provider_type = candidate.backend->config.type;
  info->upstream_model = candidate.upstream_model;
  info->upstream_model_label = candidate.upstream_model_label;
  info->dropped_params = call.dropped_params;
  info->upstream_headers = call.upstream_headers;
}

// The headers an attempt sends upstream: the request id, and the trace
// context with the attempt's own span as the parent.
std::vector<std::pair<std::string, std::string>> ForwardHeaders(
    const RequestContext& ctx, const AttemptRecord& attempt) {
  std::vector<std::pair<std::string, std::string>> headers;
  if (!ctx.request_id.empty()) {
    headers.emplace_back("x-request-id", ctx.request_id);
  }
  headers.emplace_back("traceparent",
                       FormatTraceparent(ctx.trace.trace_id, attempt.span_id,
                                         ctx.trace.sampled));
  if (!ctx.trace.tracestate.empty()) {
    headers.emplace_back("tracestate", ctx.trace.tracestate);
  }
  return headers;
}

// Counts a stream in flight for its whole scope (aigw_streams_active).
class OpenStream {
 public:
  explicit OpenStream(Metrics* metrics) : metrics_(metrics) {
    metrics_->StreamOpened();
  }
  ~OpenStream() { metrics_->StreamClosed(); }

 private:
  Metrics* const metrics_;
};

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
// it asked for, and the usage chunk only when it asked for usage. Every
// chunk passes the filters first; one that refuses it ends the stream.
// Chunks wait in `pending` until the core flushes them to the client.
class ClientChunkSink : public ChunkSink {
 public:
  ClientChunkSink(FilterChain& chain, std::string model, bool include_usage,
                  std::function<void()> on_first)
      : chain_(chain),
        model_(std::move(model)),
        include_usage_(include_usage),
        on_first_(std::move(on_first)) {}

  bool Write(v1::ChatCompletionChunk chunk) override {
    if (gone_) return false;
    verdict_ = chain_.OnChunk(chunk);
    if (!verdict_.ok()) return false;
    if (chunk.has_usage()) {
      usage_ = chunk.usage();
      has_usage_ = true;
    }
    if (chunk.has_usage() && !include_usage_) {
      if (chunk.choices_size() == 0) return true;
      chunk.clear_usage();
    }
    chunk.set_model(model_);
    pending_.push_back(std::move(chunk));
    return true;
  }

  // Hands what is pending to `writer`; false once the client is gone.
  boost::asio::awaitable<bool> Flush(StreamWriter& writer) {
    if (gone_) co_return false;
    if (pending_.empty()) co_return true;
    if (!wrote_) {
      wrote_ = true;
      on_first_();
    }
    bool delivered = co_await writer.Write(pending_);
    pending_.clear();
    if (!delivered) gone_ = true;
    co_return delivered;
  }

  // Whether the client got (or is getting) bytes: no retry after that.
  bool wrote() const { return wrote_ || !pending_.empty(); }
  bool has_usage() const { return has_usage_; }
  const v1::Usage& usage() const { return usage_; }
  // What the filters said of the last chunk (not OK: the stream must end).
  const absl::Status& verdict() const { return verdict_; }

 private:
  FilterChain& chain_;
  const std::string model_;
  const bool include_usage_;
  std::function<void()> on_first_;
  std::vector<v1::ChatCompletionChunk> pending_;
  bool wrote_ = false;
  bool gone_ = false;
  v1::Usage usage_;
  bool has_usage_ = false;
  absl::Status verdict_;
};

// The standing contexts the plan's first provider prepends, in estimated
// tokens: a byte each third (safe for CJK text, and cheap on a context of
// a megabyte), as the limits filter reserves them.
int64_t ContextTokens(const absl::StatusOr<std::vector<Candidate>>& plan) {
  if (!plan.ok() || plan->empty()) return 0;
  absl::StatusOr<ContextTexts> texts = ResolveContexts(plan->front());
  if (!texts.ok()) return 0;
  int64_t tokens = 0;
  for (const auto& text : *texts) {
    tokens += 4 + static_cast<int64_t>(text->size() + 2) / 3;
  }
  return tokens;
}

// The text of a whole answer, estimated, for an upstream that sent no usage.
int64_t AnswerTokens(const v1::ChatCompletion& completion) {
  TokenTally tally;
  for (const v1::Choice& choice : completion.choices()) {
    tally.Add(choice.message().content());
    tally.Add(choice.message().reasoning_content());
    for (const v1::ToolCall& call : choice.message().tool_calls()) {
      tally.Add(call.function().arguments());
    }
  }
  return tally.tokens();
}

// Which of the chat request's fields the filters see.
void Describe(const GatewaySnapshot& snapshot,
              const v1::ChatCompletionRequest& request, bool stream,
              RequestContext* ctx) {
  ctx->operation = Operation::kChat;
  ctx->stream = stream;
  ctx->model = request.model();
  ctx->model_label = std::string(snapshot.ModelLabel(request.model()));
  ctx->chat = &request;
}

}  // namespace

Gateway::Gateway(std::shared_ptr<const GatewaySnapshot> snapshot,
                 Metrics* metrics, Clock clock)
    : snapshot_(std::move(snapshot)),
      metrics_(metrics),
      clock_(std::move(clock)) {}

std::shared_ptr<const GatewaySnapshot> Gateway::snapshot() const {
  absl::MutexLock lock(&mu_);
  return snapshot_;
}

void Gateway::SetSnapshot(std::shared_ptr<const GatewaySnapshot> snapshot) {
  absl::MutexLock lock(&mu_);
  snapshot_ = std::move(snapshot);
}

boost::asio::awaitable<absl::Status> Gateway::RunAttempts(
    const GatewaySnapshot& snapshot,
    const absl::StatusOr<std::vector<Candidate>>& plan, CancelToken* cancel,
    RequestContext* ctx, const AttemptFn& attempt) {
  if (!plan.ok()) co_return plan.status();
  CallInfo* info = &ctx->info;
  const std::string& model = ctx->model;
  const RetryConfig& retries = snapshot.config.retries;
  absl::Time give_up = clock_() + retries.budget;
  absl::Status last = absl::UnavailableError("no provider was tried");
  // `last` says why a candidate that could serve the request did not.
  bool served_failed = false;
  for (size_t p = 0; p < plan->size(); ++p) {
    const Candidate& candidate = (*plan)[p];
    const Backend& backend = *candidate.backend;
    // Key failures earn one more try per other key of the same provider.
    size_t tries_here = std::max<size_t>(1, backend.config.api_keys.size());
    for (size_t k = 0; k < tries_here; ++k) {
      if (info->attempts >= retries.max_attempts || clock_() > give_up) {
        co_return last;
      }
      // A standing context that never loaded fails this candidate without
      // counting as an upstream attempt or a provider failure.
      absl::StatusOr<ContextTexts> contexts = ResolveContexts(candidate);
      if (!contexts.ok()) {
        last = contexts.status();
        served_failed = true;
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
        served_failed = true;
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
      AttemptRecord record;
      record.span_id = NewSpanId();
      record.start = absl::Now();
      record.provider = backend.config.name;
      record.provider_type = backend.config.type;
      record.upstream_model = candidate.upstream_model;
      if (const UpstreamEndpoint* endpoint = backend.provider->endpoint()) {
        record.origin = endpoint->origin;
      }
      CallContext call;
      call.forward_headers = ForwardHeaders(*ctx, record);
      call.deadline = ctx->deadline;
      if (backend.config.total_timeout > absl::ZeroDuration()) {
        call.deadline = std::min(call.deadline,
                                 record.start + backend.config.total_timeout);
      }
      bool committed = false;
      absl::Status status;
      try {
        status =
            co_await attempt(candidate, *contexts, *token, call, &committed);
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
      // A request not sent (untranslatable here) or answered by the
      // gateway itself is no upstream attempt in the metrics either.
      const bool not_sent = UntranslatableHere(status) || call.answered_locally;
      if (!not_sent) metrics_->RecordAttempt(backend.config.name, status);
      ctx->upstream_wait += call.upstream_wait;
      // Failing fast or answering without calling the upstream uses no
      // attempt.
      const bool local = NoUpstreamCall(status) || not_sent;
      if (local) {
        info->attempts--;
      } else {
        record.end = absl::Now();
        record.status = status;
        info->attempt_records.push_back(std::move(record));
      }

      // Every Allow() is answered, or a half-open breaker would wait for
      // its probe forever.
      if (ProviderFailure(status)) {
        backend.breaker->RecordFailure();
      } else if (status.code() == absl::StatusCode::kCancelled || local) {
        backend.breaker->RecordNeutral();
      } else {
        backend.breaker->RecordSuccess();  // it answered, even if with a 4xx
      }
      if (status.ok()) co_return status;
      if (UntranslatableHere(status)) {
        // The next candidate may pass it through; an upstream's own
        // failure, if one came before, says more than this 400.
        if (!served_failed) last = status;
        break;
      }
      last = status;
      served_failed = true;
      if ((cancel != nullptr && cancel->cancelled()) || committed ||
          !Retryable(status)) {
        co_return status;
      }
      Log(LogLevel::kWarn,
          absl::StrCat(model, " via provider '", backend.config.name,
                       "' failed: ", status.message()),
          {{"model", model},
           {"provider", backend.config.name},
           {"error", status.message()}});
      if (!KeySpecific(status)) break;
    }
  }
  co_return last;
}

boost::asio::awaitable<absl::StatusOr<v1::ChatCompletion>> Gateway::Create(
    v1::ChatCompletionRequest request, boost::asio::io_context& loop,
    CancelToken* cancel, RequestContext* ctx) {
  InFlight in_flight(in_flight_);
  RequestContext local_ctx;
  if (ctx == nullptr) ctx = &local_ctx;
  std::shared_ptr<const GatewaySnapshot> snapshot = this->snapshot();
  request.set_stream(false);
  request.clear_stream_options();
  Describe(*snapshot, request, false, ctx);
  absl::StatusOr<std::vector<Candidate>> plan =
      PlanFor(*snapshot, request.model(), Random());
  ctx->context_tokens = ContextTokens(plan);
  FilterChain chain(snapshot->filters, *ctx);
  CallInfo* info = &ctx->info;
  v1::ChatCompletion completion;
  absl::Status status = chain.Begin();
  if (status.ok()) {
    status = co_await RunAttempts(
        *snapshot, plan, cancel, ctx,
        [&](const Candidate& candidate, const ContextTexts& contexts,
            CancelToken& token, CallContext& call,
            bool*) -> boost::asio::awaitable<absl::Status> {
          v1::ChatCompletionRequest upstream = request;
          upstream.set_model(candidate.upstream_model);
          AddContexts(contexts, &upstream);
          UpstreamTarget target{candidate.backend->provider.get(),
                                candidate.backend->pool, &loop, &token};
          absl::StatusOr<v1::ChatCompletion> answer =
              co_await CallComplete(target, upstream, call);
          // A relayed 429 keeps the upstream's x-ratelimit-* headers.
          info->upstream_headers = call.upstream_headers;
          if (!answer.ok()) co_return answer.status();
          completion = std::move(*answer);
          SetAnswered(candidate, call, info);
          co_return absl::OkStatus();
        });
  }
  if (status.ok()) {
    completion.set_model(request.model());
    info->usage = completion.usage();
    info->has_usage = completion.has_usage();
    if (!info->has_usage)
      info->answer_tokens_estimate = AnswerTokens(completion);
  }
  chain.End(status);
  if (!status.ok()) co_return status;
  co_return completion;
}

boost::asio::awaitable<absl::Status> Gateway::Stream(
    v1::ChatCompletionRequest request, StreamWriter& writer,
    boost::asio::io_context& loop, CancelToken* cancel, RequestContext* ctx) {
  InFlight in_flight(in_flight_);
  RequestContext local_ctx;
  if (ctx == nullptr) ctx = &local_ctx;
  std::shared_ptr<const GatewaySnapshot> snapshot = this->snapshot();
  request.set_stream(true);
  Describe(*snapshot, request, true, ctx);
  OpenStream open_stream(metrics_);
  absl::StatusOr<std::vector<Candidate>> plan =
      PlanFor(*snapshot, request.model(), Random());
  ctx->context_tokens = ContextTokens(plan);
  FilterChain chain(snapshot->filters, *ctx);
  CallInfo* info = &ctx->info;
  absl::Status status = chain.Begin();
  if (status.ok()) {
    status = co_await RunAttempts(
        *snapshot, plan, cancel, ctx,
        [&](const Candidate& candidate, const ContextTexts& contexts,
            CancelToken& token, CallContext& call,
            bool* committed) -> boost::asio::awaitable<absl::Status> {
          v1::ChatCompletionRequest upstream = request;
          upstream.set_model(candidate.upstream_model);
          AddContexts(contexts, &upstream);
          // The adapter has translated the request (and the upstream sent
          // its headers) before the first chunk.
          ClientChunkSink client_sink(chain, request.model(),
                                      request.stream_options().include_usage(),
                                      [ctx, info, &candidate, &call] {
                                        ctx->first_chunk = absl::Now();
                                        SetAnswered(candidate, call, info);
                                      });
          uint64_t first_byte_timer = 0;
          std::shared_ptr<std::atomic<bool>> wrote_flag;
          absl::Duration limit = candidate.backend->config.first_byte_timeout;
          if (limit > absl::ZeroDuration()) {
            // The timer's thread reads only the token and a flag.
            wrote_flag = std::make_shared<std::atomic<bool>>(false);
            first_byte_timer = timer_.Arm(
                absl::Now() + limit, [wrote = wrote_flag, &token, limit] {
                  if (wrote->load()) return;
                  token.Cancel(UpstreamTimeout(absl::StrCat(
                      "no first byte within ", absl::FormatDuration(limit))));
                });
          }
          ArmedTimer first_byte(timer_, first_byte_timer);
          UpstreamTarget target{candidate.backend->provider.get(),
                                candidate.backend->pool, &loop, &token};
          FlushFn flush = [&]() -> boost::asio::awaitable<bool> {
            if (wrote_flag != nullptr && client_sink.wrote()) {
              wrote_flag->store(true);
            }
            co_return co_await client_sink.Flush(writer);
          };
          absl::Status result =
              co_await CallStream(target, upstream, call, client_sink, flush);
          if (!client_sink.wrote()) {
            info->upstream_headers = call.upstream_headers;
          }
          *committed = client_sink.wrote();
          info->usage = client_sink.usage();
          info->has_usage = client_sink.has_usage();
          // A filter ended the stream (a spent budget): its error is the
          // stream's, whatever the adapter made of the refused write.
          if (!client_sink.verdict().ok()) {
            *committed = true;
            co_return client_sink.verdict();
          }
          co_return result;
        });
  }
  chain.End(status);
  co_return status;
}

boost::asio::awaitable<absl::StatusOr<v1::EmbeddingsResponse>> Gateway::Embed(
    v1::EmbeddingsRequest request, boost::asio::io_context& loop,
    CancelToken* cancel, RequestContext* ctx) {
  InFlight in_flight(in_flight_);
  RequestContext local_ctx;
  if (ctx == nullptr) ctx = &local_ctx;
  std::shared_ptr<const GatewaySnapshot> snapshot = this->snapshot();
  ctx->operation = Operation::kEmbeddings;
  ctx->model = request.model();
  ctx->model_label = std::string(snapshot->ModelLabel(request.model()));
  ctx->embeddings = &request;
  absl::StatusOr<std::vector<Candidate>> plan =
      PlanFor(*snapshot, request.model(), Random());
  FilterChain chain(snapshot->filters, *ctx);
  CallInfo* info = &ctx->info;
  v1::EmbeddingsResponse response;
  absl::Status status = chain.Begin();
  if (status.ok()) {
    status = co_await RunAttempts(
        *snapshot, plan, cancel, ctx,
        [&](const Candidate& candidate, const ContextTexts&, CancelToken& token,
            CallContext& call, bool*) -> boost::asio::awaitable<absl::Status> {
          v1::EmbeddingsRequest upstream = request;
          upstream.set_model(candidate.upstream_model);
          UpstreamTarget target{candidate.backend->provider.get(),
                                candidate.backend->pool, &loop, &token};
          absl::StatusOr<v1::EmbeddingsResponse> answer =
              co_await CallEmbed(target, upstream, call);
          if (!answer.ok()) co_return answer.status();
          response = std::move(*answer);
          SetAnswered(candidate, call, info);
          co_return absl::OkStatus();
        });
  }
  if (status.ok()) {
    response.set_model(request.model());
    info->usage = response.usage();
    info->has_usage = response.has_usage();
  }
  chain.End(status);
  if (!status.ok()) co_return status;
  co_return response;
}

absl::Status Gateway::CheckListing(const GatewaySnapshot& snapshot,
                                   RequestContext& ctx) const {
  ctx.operation = Operation::kListModels;
  FilterChain chain(snapshot.filters, ctx);
  absl::Status status = chain.Begin();
  chain.End(status);
  return status;
}

absl::Status Gateway::Authenticate(const RequestContext& ctx) const {
  RequestContext probe;
  probe.api_key = ctx.api_key;
  return CheckListing(*snapshot(), probe);
}

absl::StatusOr<v1::ListModelsResponse> Gateway::ListModels(
    RequestContext* ctx) const {
  RequestContext local_ctx;
  if (ctx == nullptr) ctx = &local_ctx;
  std::shared_ptr<const GatewaySnapshot> snapshot = this->snapshot();
  AIGW_RETURN_IF_ERROR(CheckListing(*snapshot, *ctx));
  v1::ListModelsResponse all = ListServedModels(*snapshot);
  if (ctx->consumer == nullptr) return all;
  v1::ListModelsResponse allowed;
  allowed.set_object(all.object());
  for (v1::Model& model : *all.mutable_data()) {
    if (ctx->consumer->Allows(model.id())) {
      *allowed.add_data() = std::move(model);
    }
  }
  return allowed;
}

absl::StatusOr<v1::Model> Gateway::FindModel(const std::string& id,
                                             RequestContext* ctx) const {
  RequestContext local_ctx;
  if (ctx == nullptr) ctx = &local_ctx;
  std::shared_ptr<const GatewaySnapshot> snapshot = this->snapshot();
  AIGW_RETURN_IF_ERROR(CheckListing(*snapshot, *ctx));
  // A model the caller may not use is as unknown to it as any other.
  if (ctx->consumer != nullptr && !ctx->consumer->Allows(id)) {
    return ModelNotFound(id);
  }
  return FindServedModel(*snapshot, id);
}

}  // namespace aigw
