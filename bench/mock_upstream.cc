// A fast, event-driven mock upstream for benchmarks (Boost.Asio + Beast).
//
// Serves, on one io_context driven by --threads threads (default 1):
//   - POST .../chat/completions, OpenAI's protocol: a realistic
//     chat.completion JSON (~480 bytes), or for "stream": true --chunks SSE
//     chat.completion.chunk events spaced by --chunk_delay_ms, a usage chunk
//     when stream_options.include_usage is true, then "data: [DONE]";
//   - POST .../api/v1/services/aigc/text-generation/generation, DashScope's
//     native protocol: {"output":{"choices":[...]},"usage":{...},
//     "request_id":...}, or, with "X-DashScope-SSE: enable" or
//     "Accept: text/event-stream", "id:N / event:result / :HTTP_STATUS/200 /
//     data:{...}" events with incremental output, the last one
//     finish_reason "stop";
//   - GET /healthz.
// Every SSE event goes out as its own HTTP chunk; --delay_ms delays each
// answer (a non-streaming one, or a stream's head and first event). All
// waiting is on asio timers: no thread sleeps, so one thread holds 10,000+
// concurrent streams. Keep-alive is unlimited, the backlog is SOMAXCONN.
//
// Usage: mock_upstream [--host=127.0.0.1] [--port=0] [--delay_ms=0]
//                      [--chunks=10] [--chunk_delay_ms=0] [--threads=1]
// Prints "mock listening port=N" on stdout and stderr once ready.

#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "bench/mock_server.h"
#include "boost/asio/signal_set.hpp"

namespace {

void Usage() {
  std::fprintf(stderr,
               "usage: mock_upstream [--host=127.0.0.1] [--port=0] "
               "[--delay_ms=0] [--chunks=10] [--chunk_delay_ms=0] "
               "[--threads=1]\n");
}

bool ParseFlags(int argc, char** argv, bench::mock::Options* options,
                int* threads) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&](const char* name, std::string* out) {
      std::string prefix = std::string("--") + name + "=";
      if (arg.compare(0, prefix.size(), prefix) != 0) return false;
      *out = arg.substr(prefix.size());
      return true;
    };
    std::string v;
    if (value("host", &v)) {
      options->host = v;
    } else if (value("port", &v)) {
      options->port = std::atoi(v.c_str());
    } else if (value("delay_ms", &v)) {
      options->delay_ms = std::atoi(v.c_str());
    } else if (value("chunks", &v)) {
      options->chunks = std::atoi(v.c_str());
    } else if (value("chunk_delay_ms", &v)) {
      options->chunk_delay_ms = std::atoi(v.c_str());
    } else if (value("threads", &v)) {
      *threads = std::atoi(v.c_str());
    } else {
      return false;
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  bench::mock::Options options;
  int threads = 1;
  if (!ParseFlags(argc, argv, &options, &threads)) {
    Usage();
    return 2;
  }
  if (options.chunks < 1) options.chunks = 1;
  if (threads < 1) threads = 1;
  // Every held stream is a descriptor.
  rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }

  boost::asio::io_context io(threads);
  bench::mock::Server server(io, options);
  if (!server.Listen()) {
    std::fprintf(stderr, "mock: %s\n", server.error().c_str());
    return 1;
  }
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait(
      [&io](const boost::system::error_code&, int) { io.stop(); });
  server.Start();
  std::printf("mock listening port=%d\n", server.port());
  std::fflush(stdout);
  std::fprintf(stderr, "mock listening port=%d\n", server.port());

  std::vector<std::thread> pool;
  for (int i = 1; i < threads; ++i) pool.emplace_back([&io] { io.run(); });
  io.run();
  io.stop();
  for (std::thread& t : pool) t.join();
  std::fprintf(stderr, "mock stopped connections=%llu requests=%llu\n",
               static_cast<unsigned long long>(server.counters().connections),
               static_cast<unsigned long long>(server.counters().requests));
  return 0;
}
