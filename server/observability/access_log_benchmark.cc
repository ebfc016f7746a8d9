// What a request pays for its access log line: formatting alone, and the
// whole Write (format + append under the lock) with the writer thread
// draining to /dev/null.
#include <benchmark/benchmark.h>

#include "server/observability/access_log.h"

namespace aigw {
namespace {

AccessRecord TypicalRecord() {
  AccessRecord r;
  r.time = absl::FromUnixMillis(1796215212123);
  r.request_id = "01JEXAMPLE7Q0Z3K9W8V6T5R4P";
  r.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  r.consumer = "team-a";
  r.client = "203.0.113.7:51234";
  r.protocol = "http";
  r.method = "POST";
  r.path = "/v1/chat/completions";
  r.operation = "chat";
  r.model = "gpt-4o";
  r.upstream_model = "gpt-4o-2024-08-06";
  r.provider = "openai";
  r.attempts = 1;
  r.status = 200;
  r.stream = true;
  r.input_tokens = 1234;
  r.output_tokens = 567;
  r.cached_tokens = 1024;
  r.reasoning_tokens = 0;
  r.ttft = absl::Microseconds(250500);
  r.duration = absl::Microseconds(1234567);
  r.overhead = absl::Nanoseconds(48250);
  r.bytes_in = 2345;
  r.bytes_out = 16789;
  return r;
}

void BM_FormatJson(benchmark::State& state) {
  AccessRecord record = TypicalRecord();
  for (auto _ : state) {
    benchmark::DoNotOptimize(AccessLog::FormatJson(record));
  }
}
BENCHMARK(BM_FormatJson);

void BM_FormatText(benchmark::State& state) {
  AccessRecord record = TypicalRecord();
  for (auto _ : state) {
    benchmark::DoNotOptimize(AccessLog::FormatText(record));
  }
}
BENCHMARK(BM_FormatText);

void BM_WriteToDevNull(benchmark::State& state) {
  static AccessLog* log = [] {
    auto* created = new AccessLog();
    AccessLogConfig config;
    config.path = "/dev/null";
    if (!created->Configure(config).ok()) std::abort();
    return created;
  }();
  AccessRecord record = TypicalRecord();
  for (auto _ : state) log->Write(record);
  log->Flush();
  state.counters["dropped"] = static_cast<double>(log->dropped());
}
BENCHMARK(BM_WriteToDevNull);
BENCHMARK(BM_WriteToDevNull)->Threads(2);

}  // namespace
}  // namespace aigw

BENCHMARK_MAIN();
