#include "server/observability/request_observer.h"

#include <algorithm>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "providers/common/api_error.h"
#include "server/observability/gen_ai_names.h"
#include "server/observability/request_id.h"
#include "server/observability/trace_context.h"

namespace aigw {
namespace {

absl::string_view OperationName(Operation operation) {
  switch (operation) {
    case Operation::kChat:
      return "chat";
    case Operation::kEmbeddings:
      return "embeddings";
    case Operation::kListModels:
      return "models";
    case Operation::kOther:
      return "";
  }
  return "";
}

absl::string_view ConsumerLabel(const RequestContext& ctx,
                                const absl::Status& status) {
  if (!ctx.consumer_name.empty()) return ctx.consumer_name;
  return status.code() == absl::StatusCode::kUnauthenticated ? "unknown"
                                                             : "anonymous";
}

// "https://host:port" → host and port (the scheme's default without one).
void SplitOrigin(absl::string_view origin, std::string* host, int64_t* port) {
  bool tls = absl::StartsWith(origin, "https://");
  absl::string_view rest = origin.substr(
      origin.find("://") == absl::string_view::npos ? 0
                                                    : origin.find("://") + 3);
  *port = tls ? 443 : 80;
  size_t colon = rest.rfind(':');
  if (colon != absl::string_view::npos &&
      rest.find(']', colon) == absl::string_view::npos) {
    int parsed = 0;
    if (absl::SimpleAtoi(rest.substr(colon + 1), &parsed)) *port = parsed;
    rest = rest.substr(0, colon);
  }
  *host = std::string(rest);
}

}  // namespace

int OutcomeCode(const absl::Status& status, int sent_status) {
  if (status.ok()) return sent_status == 0 ? 200 : sent_status;
  if (status.code() == absl::StatusCode::kCancelled) return 499;
  return GetErrorDetails(status).http_status;
}

void RequestObserver::Begin(RequestContext& ctx, absl::string_view request_id,
                            absl::string_view traceparent,
                            absl::string_view tracestate) const {
  ctx.request_id =
      ValidRequestId(request_id) ? std::string(request_id) : NewRequestId();
  std::optional<TraceContext> parent =
      ParseTraceparent(traceparent, tracestate);
  ctx.trace.trace_id = parent.has_value() ? parent->trace_id : NewTraceId();
  ctx.trace.span_id = NewSpanId();
  if (parent.has_value()) {
    ctx.trace.parent_span_id = parent->parent_span_id;
    ctx.trace.tracestate = parent->tracestate;
  }
  // Without an exporter the caller's decision passes through unchanged.
  ctx.trace.sampled =
      exporter_->enabled()
          ? ShouldSample(parent, ctx.trace.trace_id, exporter_->sample_ratio())
          : parent.has_value() && parent->sampled;
}

void RequestObserver::Finish(const RequestContext& ctx,
                             const absl::Status& status, int sent_status,
                             absl::string_view grpc_status) const {
  absl::Time end = absl::Now();
  absl::Duration duration = end - ctx.start;
  absl::Duration overhead = std::max(
      absl::ZeroDuration(), duration - ctx.upstream_wait - ctx.client_wait);
  int code = OutcomeCode(status, sent_status);
  const CallInfo& info = ctx.info;
  bool has_usage = info.has_usage;
  absl::string_view error_type = ErrorType(status);
  absl::string_view consumer = ConsumerLabel(ctx, status);
  bool generative = ctx.operation == Operation::kChat ||
                    ctx.operation == Operation::kEmbeddings;
  bool answered = !info.provider.empty();
  bool streamed = ctx.first_chunk != absl::InfinitePast();

  if (generative) {
    RequestSample sample;
    sample.protocol = ctx.protocol;
    sample.operation = OperationName(ctx.operation);
    sample.stream = ctx.stream;
    // A failed request is the last tried provider's (the one that failed).
    const AttemptRecord* last =
        info.attempt_records.empty() ? nullptr : &info.attempt_records.back();
    std::string provider_type =
        answered ? info.provider_type
                 : (last != nullptr ? last->provider_type : "");
    sample.provider = answered          ? absl::string_view(info.provider)
                      : last != nullptr ? absl::string_view(last->provider)
                                        : "none";
    sample.provider_name =
        provider_type.empty() ? "none" : GenAiProviderName(provider_type);
    sample.request_model = ctx.model_label;
    sample.response_model =
        answered ? absl::string_view(info.upstream_model_label) : "none";
    sample.consumer = consumer;
    sample.error_type = error_type;
    sample.code = code;
    sample.duration = absl::ToDoubleSeconds(duration);
    sample.overhead = absl::ToDoubleSeconds(overhead);
    if (has_usage) {
      sample.input_tokens = info.usage.prompt_tokens();
      sample.output_tokens = info.usage.completion_tokens();
      sample.cached_tokens = info.usage.prompt_tokens_details().cached_tokens();
      sample.reasoning_tokens =
          info.usage.completion_tokens_details().reasoning_tokens();
    }
    if (status.ok() && ctx.stream && streamed) {
      absl::Duration ttft = ctx.first_chunk - ctx.start;
      sample.time_to_first_token = absl::ToDoubleSeconds(ttft);
      int64_t output = has_usage ? info.usage.completion_tokens() : 0;
      if (output > 1) {
        sample.time_per_output_token =
            absl::ToDoubleSeconds(duration - ttft) / (output - 1);
      }
    }
    metrics_->RecordRequest(sample);
    metrics_->RecordDroppedParams(info.provider, info.dropped_params);
  }

  if (access_log_->enabled()) {
    AccessRecord record;
    record.time = end;
    record.request_id = ctx.request_id;
    record.trace_id = Hex(ctx.trace.trace_id);
    record.consumer = ctx.consumer_name;
    record.client = ctx.peer;
    record.protocol = ctx.protocol;
    record.method = ctx.method;
    record.path = ctx.path;
    record.operation = std::string(OperationName(ctx.operation));
    record.model = ctx.model;
    record.upstream_model = info.upstream_model;
    record.provider = info.provider;
    record.attempts = info.attempts;
    record.status = code;
    record.grpc_status = std::string(grpc_status);
    record.error_type = std::string(error_type);
    record.stream = ctx.stream;
    if (has_usage) {
      record.input_tokens = info.usage.prompt_tokens();
      record.output_tokens = info.usage.completion_tokens();
      record.cached_tokens = info.usage.prompt_tokens_details().cached_tokens();
      record.reasoning_tokens =
          info.usage.completion_tokens_details().reasoning_tokens();
    }
    if (ctx.stream && streamed) record.ttft = ctx.first_chunk - ctx.start;
    record.duration = duration;
    record.overhead = overhead;
    record.dropped_params = info.dropped_params;
    record.bytes_in = ctx.bytes_in;
    record.bytes_out = ctx.bytes_out;
    access_log_->Write(record);
  }

  if (ctx.trace.sampled && exporter_->enabled()) {
    ExportSpans(ctx, status, code, end);
  }
}

void RequestObserver::ExportSpans(const RequestContext& ctx,
                                  const absl::Status& status, int code,
                                  absl::Time end) const {
  const CallInfo& info = ctx.info;
  absl::string_view operation = OperationName(ctx.operation);
  SpanRecord server;
  server.trace_id = ctx.trace.trace_id;
  server.span_id = ctx.trace.span_id;
  server.parent_span_id = ctx.trace.parent_span_id;
  server.name = ctx.model.empty()
                    ? std::string(operation.empty() ? "request" : operation)
                    : absl::StrCat(operation, " ", ctx.model);
  server.kind = SpanRecord::Kind::kServer;
  server.start = ctx.start;
  server.end = end;
  server.error = !status.ok();
  if (server.error) server.status_message = std::string(status.message());
  auto& attributes = server.attributes;
  if (!operation.empty()) {
    attributes.emplace_back("gen_ai.operation.name", std::string(operation));
  }
  if (!ctx.model.empty()) {
    attributes.emplace_back("gen_ai.request.model", ctx.model);
  }
  if (!info.provider.empty()) {
    attributes.emplace_back("gen_ai.provider.name",
                            std::string(GenAiProviderName(info.provider_type)));
    attributes.emplace_back("gen_ai.response.model", info.upstream_model);
    attributes.emplace_back("aigw.provider", info.provider);
  }
  if (info.has_usage) {
    attributes.emplace_back("gen_ai.usage.input_tokens",
                            static_cast<int64_t>(info.usage.prompt_tokens()));
    attributes.emplace_back(
        "gen_ai.usage.output_tokens",
        static_cast<int64_t>(info.usage.completion_tokens()));
  }
  if (!ctx.consumer_name.empty()) {
    attributes.emplace_back("aigw.consumer", ctx.consumer_name);
  }
  attributes.emplace_back("aigw.request_id", ctx.request_id);
  attributes.emplace_back("aigw.attempts", static_cast<int64_t>(info.attempts));
  attributes.emplace_back("aigw.stream", ctx.stream);
  if (ctx.protocol == absl::string_view("http")) {
    attributes.emplace_back("http.request.method", ctx.method);
    attributes.emplace_back("url.path", ctx.path);
    attributes.emplace_back("http.response.status_code",
                            static_cast<int64_t>(code));
  } else {
    attributes.emplace_back("rpc.system", std::string("grpc"));
    attributes.emplace_back("rpc.method", ctx.method);
  }
  if (!status.ok()) {
    attributes.emplace_back("error.type", std::string(ErrorType(status)));
  }
  exporter_->Export(std::move(server));

  for (const AttemptRecord& attempt : info.attempt_records) {
    SpanRecord client;
    client.trace_id = ctx.trace.trace_id;
    client.span_id = attempt.span_id;
    client.parent_span_id = ctx.trace.span_id;
    client.name = absl::StrCat(operation, " ", attempt.upstream_model);
    client.kind = SpanRecord::Kind::kClient;
    client.start = attempt.start;
    client.end = attempt.end;
    client.error = !attempt.status.ok();
    if (client.error) {
      client.status_message = std::string(attempt.status.message());
      client.attributes.emplace_back("error.type",
                                     std::string(ErrorType(attempt.status)));
    }
    client.attributes.emplace_back("gen_ai.operation.name",
                                   std::string(operation));
    client.attributes.emplace_back(
        "gen_ai.provider.name",
        std::string(GenAiProviderName(attempt.provider_type)));
    client.attributes.emplace_back("gen_ai.request.model",
                                   attempt.upstream_model);
    client.attributes.emplace_back("aigw.provider", attempt.provider);
    if (!attempt.origin.empty()) {
      std::string host;
      int64_t port = 0;
      SplitOrigin(attempt.origin, &host, &port);
      client.attributes.emplace_back("server.address", host);
      client.attributes.emplace_back("server.port", port);
    }
    exporter_->Export(std::move(client));
  }
}

}  // namespace aigw
