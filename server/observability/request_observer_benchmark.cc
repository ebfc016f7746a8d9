// What aigw's observability costs one request: RequestObserver::Begin
// (request id, trace context) and Finish (the metrics and the access-log
// line, written to /dev/null), without trace export. bench/README.md
// quotes its CPU time per request against the 2 µs budget.
#include <benchmark/benchmark.h>

#include "server/observability/request_observer.h"

namespace aigw {
namespace {

void BM_ObserveRequest(benchmark::State& state) {
  Metrics metrics;
  AccessLog log;
  AccessLogConfig config;
  config.path = "/dev/null";
  if (!log.Configure(config).ok()) state.SkipWithError("cannot open /dev/null");
  OtlpExporter exporter;
  RequestObserver observer(&metrics, &log, &exporter);
  int i = 0;
  for (auto _ : state) {
    RequestContext ctx;
    ctx.peer = "203.0.113.7:51234";
    ctx.method = "POST";
    ctx.path = "/v1/chat/completions";
    ctx.bytes_in = 180;
    observer.Begin(ctx, "", "", "");
    ctx.stream = (i++ & 1) != 0;
    ctx.model = "gpt-4o";
    ctx.model_label = "gpt-4o";
    ctx.consumer_name = "team-a";
    ctx.info.provider = "dashscope";
    ctx.info.provider_type = "qwen";
    ctx.info.upstream_model = "qwen-max";
    ctx.info.upstream_model_label = "qwen-max";
    ctx.info.attempts = 1;
    ctx.info.has_usage = true;
    ctx.info.usage.set_prompt_tokens(1234);
    ctx.info.usage.set_completion_tokens(567);
    ctx.first_chunk = ctx.start + absl::Milliseconds(30);
    ctx.bytes_out = 4096;
    observer.Finish(ctx, absl::OkStatus(), 200);
  }
  log.Flush();
}
BENCHMARK(BM_ObserveRequest)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace
}  // namespace aigw

BENCHMARK_MAIN();
