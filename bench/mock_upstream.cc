// A fast mock OpenAI upstream for benchmarks.
//
// Serves POST /v1/chat/completions (any path ending in /chat/completions):
//   - non-streaming: a realistic chat.completion JSON (~480 bytes), after
//     --delay_ms;
//   - "stream": true: --chunks SSE chunks shaped like OpenAI's, spaced by
//     --chunk_delay_ms, a usage chunk when stream_options.include_usage is
//     true, then "data: [DONE]". Each chunk is flushed on its own.
//
// cpp-httplib 0.11.4's defaults (8 worker threads, listen backlog 5,
// 5 requests per keep-alive connection) would make the mock the bottleneck,
// so it runs one thread per connection, listens with SOMAXCONN and keeps
// connections alive indefinitely.
//
// Usage: mock_upstream --port=0 --delay_ms=10 --chunks=20 --chunk_delay_ms=500
// Prints "mock listening port=N" on stdout and stderr once ready.

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "httplib.h"

namespace {

struct Flags {
  std::string host = "127.0.0.1";
  int port = 0;
  int delay_ms = 0;
  int chunks = 10;
  int chunk_delay_ms = 0;
};

void Usage() {
  std::fprintf(stderr,
               "usage: mock_upstream [--host=127.0.0.1] [--port=0] "
               "[--delay_ms=0] [--chunks=10] [--chunk_delay_ms=0]\n");
}

bool ParseFlags(int argc, char** argv, Flags* flags) {
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
      flags->host = v;
    } else if (value("port", &v)) {
      flags->port = std::atoi(v.c_str());
    } else if (value("delay_ms", &v)) {
      flags->delay_ms = std::atoi(v.c_str());
    } else if (value("chunks", &v)) {
      flags->chunks = std::atoi(v.c_str());
    } else if (value("chunk_delay_ms", &v)) {
      flags->chunk_delay_ms = std::atoi(v.c_str());
    } else {
      return false;
    }
  }
  return true;
}

// Runs every accepted connection on its own detached thread, so that
// thousands of long-lived streams can be held at once.
class ThreadPerConnectionQueue : public httplib::TaskQueue {
 public:
  void enqueue(std::function<void()> fn) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++active_;
    }
    std::thread([this, fn = std::move(fn)] {
      fn();
      std::lock_guard<std::mutex> lock(mu_);
      if (--active_ == 0) done_.notify_all();
    }).detach();
  }

  void shutdown() override {
    std::unique_lock<std::mutex> lock(mu_);
    done_.wait(lock, [this] { return active_ == 0; });
  }

 private:
  std::mutex mu_;
  std::condition_variable done_;
  int active_ = 0;
};

// Finds `"key"` followed by `:` and returns the position after the colon
// (skipping whitespace), or npos. Good enough for well-formed request JSON.
size_t FindValue(const std::string& body, const char* key) {
  std::string needle = std::string("\"") + key + "\"";
  size_t pos = 0;
  while ((pos = body.find(needle, pos)) != std::string::npos) {
    size_t p = pos + needle.size();
    while (p < body.size() && std::isspace(static_cast<unsigned char>(body[p])))
      ++p;
    if (p < body.size() && body[p] == ':') {
      ++p;
      while (p < body.size() &&
             std::isspace(static_cast<unsigned char>(body[p])))
        ++p;
      return p;
    }
    pos = p;
  }
  return std::string::npos;
}

bool BoolField(const std::string& body, const char* key) {
  size_t p = FindValue(body, key);
  return p != std::string::npos && body.compare(p, 4, "true") == 0;
}

std::string ModelField(const std::string& body) {
  size_t p = FindValue(body, "model");
  if (p == std::string::npos || p >= body.size() || body[p] != '"') {
    return "gpt-4o-mini";
  }
  size_t end = body.find('"', p + 1);
  if (end == std::string::npos || end - p - 1 > 128) return "gpt-4o-mini";
  return body.substr(p + 1, end - p - 1);
}

std::atomic<uint64_t> g_next_id{1};

std::string CompletionId() {
  char buf[48];
  std::snprintf(buf, sizeof(buf), "chatcmpl-bench%012llu",
                static_cast<unsigned long long>(g_next_id++));
  return buf;
}

constexpr const char* kCreated = "1755133833";

std::string CompletionBody(const std::string& id, const std::string& model) {
  std::string s;
  s.reserve(512);
  s += "{\"id\":\"" + id +
       "\",\"object\":\"chat.completion\",\"created\":" + kCreated +
       ",\"model\":\"" + model +
       "\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
       "\"content\":\"Hi there! How can I help you today? I can explain "
       "concepts, answer questions or help with writing.\",\"refusal\":null,"
       "\"annotations\":[]},\"logprobs\":null,\"finish_reason\":\"stop\"}],"
       "\"usage\":{\"prompt_tokens\":8,\"completion_tokens\":21,"
       "\"total_tokens\":29},\"service_tier\":"
       "\"default\",\"system_fingerprint\":\"fp_bench\"}";
  return s;
}

const char* const kWords[] = {"Hi", " there", "!",    " How",   " can",
                              " I", " help",  " you", " today", "?"};

// One SSE event: "data: {chunk}\n\n". `delta` is raw JSON.
std::string ChunkEvent(const std::string& id, const std::string& model,
                       const std::string& delta, const char* finish_reason,
                       bool with_usage_null) {
  std::string s;
  s.reserve(320);
  s += "data: {\"id\":\"" + id +
       "\",\"object\":\"chat.completion.chunk\",\"created\":" + kCreated +
       ",\"model\":\"" + model +
       "\",\"service_tier\":\"default\",\"system_fingerprint\":\"fp_bench\","
       "\"choices\":[{\"index\":0,\"delta\":" +
       delta + ",\"logprobs\":null,\"finish_reason\":" + finish_reason + "}]";
  if (with_usage_null) s += ",\"usage\":null";
  s += "}\n\n";
  return s;
}

std::string UsageEvent(const std::string& id, const std::string& model,
                       int completion_tokens) {
  return "data: {\"id\":\"" + id +
         "\",\"object\":\"chat.completion.chunk\",\"created\":" + kCreated +
         ",\"model\":\"" + model +
         "\",\"service_tier\":\"default\",\"system_fingerprint\":"
         "\"fp_bench\",\"choices\":[],\"usage\":{\"prompt_tokens\":8,"
         "\"completion_tokens\":" +
         std::to_string(completion_tokens) +
         ",\"total_tokens\":" + std::to_string(8 + completion_tokens) +
         "}}\n\n";
}

// Streaming state for one response, advanced by the chunked content provider.
struct StreamState {
  std::string id;
  std::string model;
  int chunks;
  int chunk_delay_ms;
  bool include_usage;
  int sent = 0;  // events sent so far
};

bool WriteAll(httplib::DataSink& sink, const std::string& s) {
  return sink.write(s.data(), s.size());
}

bool StreamStep(StreamState& st, httplib::DataSink& sink) {
  // Event 0: role; events 1..chunks-1: content; event `chunks`: finish;
  // then optional usage and [DONE].
  if (st.sent > 0 && st.chunk_delay_ms > 0 && st.sent <= st.chunks) {
    std::this_thread::sleep_for(std::chrono::milliseconds(st.chunk_delay_ms));
  }
  bool ok = true;
  if (st.sent == 0) {
    ok = WriteAll(sink, ChunkEvent(st.id, st.model,
                                   "{\"role\":\"assistant\",\"content\":\"\","
                                   "\"refusal\":null}",
                                   "null", st.include_usage));
  } else if (st.sent < st.chunks) {
    const char* word =
        kWords[(st.sent - 1) % (sizeof(kWords) / sizeof(*kWords))];
    ok =
        WriteAll(sink, ChunkEvent(st.id, st.model,
                                  std::string("{\"content\":\"") + word + "\"}",
                                  "null", st.include_usage));
  } else {
    std::string tail =
        ChunkEvent(st.id, st.model, "{}", "\"stop\"", st.include_usage);
    if (st.include_usage) tail += UsageEvent(st.id, st.model, st.chunks - 1);
    tail += "data: [DONE]\n\n";
    ok = WriteAll(sink, tail);
    if (ok) sink.done();
  }
  ++st.sent;
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  if (!ParseFlags(argc, argv, &flags)) {
    Usage();
    return 2;
  }
  if (flags.chunks < 1) flags.chunks = 1;

  httplib::Server server;
  server.new_task_queue = [] { return new ThreadPerConnectionQueue(); };
  server.set_keep_alive_max_count(1000000);
  server.set_keep_alive_timeout(60);
  server.set_read_timeout(60);
  server.set_write_timeout(60);
  server.set_tcp_nodelay(true);

  int listen_fd = -1;
  server.set_socket_options([&listen_fd](int fd) {
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    listen_fd = fd;
  });

  auto handler = [&flags](const httplib::Request& req, httplib::Response& res) {
    std::string model = ModelField(req.body);
    std::string id = CompletionId();
    if (!BoolField(req.body, "stream")) {
      if (flags.delay_ms > 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(flags.delay_ms));
      }
      res.set_content(CompletionBody(id, model), "application/json");
      return;
    }
    auto st = std::make_shared<StreamState>();
    st->id = id;
    st->model = model;
    st->chunks = flags.chunks;
    st->chunk_delay_ms = flags.chunk_delay_ms;
    st->include_usage = BoolField(req.body, "include_usage");
    res.set_header("Cache-Control", "no-cache");
    res.set_chunked_content_provider(
        "text/event-stream", [st](size_t /*offset*/, httplib::DataSink& sink) {
          return StreamStep(*st, sink);
        });
  };
  server.Post(R"(/.*chat/completions)", handler);
  server.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });

  int port = flags.port;
  if (port == 0) {
    port = server.bind_to_any_port(flags.host);
  } else if (!server.bind_to_port(flags.host, port)) {
    port = -1;
  }
  if (port <= 0 || listen_fd < 0) {
    std::fprintf(stderr, "mock: cannot bind %s:%d\n", flags.host.c_str(),
                 flags.port);
    return 1;
  }
  // httplib listens with a backlog of 5; widen it before accepting.
  if (::listen(listen_fd, SOMAXCONN) != 0) {
    std::perror("mock: listen");
    return 1;
  }
  std::printf("mock listening port=%d\n", port);
  std::fflush(stdout);
  std::fprintf(stderr, "mock listening port=%d\n", port);
  return server.listen_after_bind() ? 0 : 1;
}
