// CPU the request pipeline adds per request: the filter chain (Begin and
// End, no upstream call) of one chat request under four configs, timed on
// one thread with the thread's CPU clock:
//   open      accounting + validation only (no consumers, no limits)
//   auth      + consumer auth (SHA-256 of the key, allow-list)
//   local     + limits in the in-process store (reserve and settle)
//   redis     + limits in Redis (--redis=HOST:PORT; two round trips)
// Prints one line per config: µs of CPU per request, and wall µs.
#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "server/config.h"
#include "server/filters/filter_chain.h"
#include "server/snapshot.h"

namespace {

double ThreadCpuMicros() {
  timespec now;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return now.tv_sec * 1e6 + now.tv_nsec / 1e3;
}

double WallMicros() {
  return std::chrono::duration<double, std::micro>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

constexpr char kProviders[] = R"(
providers:
  - {name: echo, type: echo}
)";

std::string Consumers(const std::string& limits) {
  std::string yaml = R"(
consumers:
  - name: team-a
    api_keys: ["sk-team-a-0123456789abcdef0123456789abcdef"]
    models: ["gpt-4*"]
)";
  if (!limits.empty()) {
    yaml +=
        "    limits: {requests_per_minute: 100000000, tokens_per_minute: "
        "1000000000000, tokens_per_day: 1000000000000, max_concurrent: "
        "1000}\n";
  }
  return yaml + limits;
}

int Run(const char* name, const std::string& yaml, int iterations) {
  absl::StatusOr<aigw::GatewayConfig> config = aigw::ParseConfig(yaml);
  if (!config.ok()) {
    std::fprintf(stderr, "%s: %s\n", name,
                 std::string(config.status().message()).c_str());
    return 1;
  }
  aigw::StateRegistry state;
  aigw::Metrics metrics;
  absl::StatusOr<std::shared_ptr<const aigw::GatewaySnapshot>> snapshot =
      aigw::BuildSnapshot(*std::move(config), state, metrics);
  if (!snapshot.ok()) {
    std::fprintf(stderr, "%s: %s\n", name,
                 std::string(snapshot.status().message()).c_str());
    return 1;
  }
  // A NextChat-sized request: a system prompt and two turns.
  aigw::v1::ChatCompletionRequest request;
  request.set_model("gpt-4o");
  request.set_max_tokens(4000);
  for (const char* text :
       {"You are ChatGPT, a large language model trained by OpenAI. Answer "
        "as concisely as possible.",
        "Explain how a sliding window rate limiter works, in two sentences.",
        "It counts recent usage in buckets and forgets the oldest bucket as "
        "time moves on."}) {
    auto* message = request.add_messages();
    message->set_role("user");
    message->set_content(text);
  }
  aigw::v1::Usage usage;
  usage.set_prompt_tokens(60);
  usage.set_completion_tokens(40);
  usage.set_total_tokens(100);
  auto once = [&] {
    aigw::RequestContext ctx;
    ctx.api_key = "sk-team-a-0123456789abcdef0123456789abcdef";
    ctx.model = request.model();
    ctx.chat = &request;
    aigw::FilterChain chain((*snapshot)->filters, ctx);
    absl::Status status = chain.Begin();
    if (!status.ok()) {
      std::fprintf(stderr, "%s: %s\n", name,
                   std::string(status.message()).c_str());
      std::exit(1);
    }
    ctx.info.usage = usage;
    ctx.info.has_usage = true;
    chain.End(status);
  };
  for (int i = 0; i < iterations / 10; ++i) once();  // warm up
  double cpu = ThreadCpuMicros();
  double wall = WallMicros();
  for (int i = 0; i < iterations; ++i) once();
  cpu = ThreadCpuMicros() - cpu;
  wall = WallMicros() - wall;
  std::printf(
      "pipeline %-6s cpu_us_per_request=%.3f wall_us_per_request=%.3f\n", name,
      cpu / iterations, wall / iterations);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  int iterations = 200000;
  std::string redis;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--iterations=", 13) == 0) {
      iterations = std::atoi(argv[i] + 13);
    } else if (std::strncmp(argv[i], "--redis=", 8) == 0) {
      redis = argv[i] + 8;
    } else {
      std::fprintf(stderr, "usage: pipeline [--iterations=N] [--redis=H:P]\n");
      return 2;
    }
  }
  std::string providers = kProviders;
  int failed = Run("open", providers, iterations);
  failed |= Run("auth", providers + Consumers(""), iterations);
  failed |= Run("local", providers + Consumers("limits: {store: local}\n"),
                iterations);
  if (!redis.empty()) {
    failed |= Run("redis",
                  providers + Consumers("limits: {store: redis}\nredis: "
                                        "{address: \"" +
                                        redis + "\", timeout: 1s}\n"),
                  iterations / 20);
  }
  return failed;
}
