// ttfb: latency at concurrency 1 over one keep-alive HTTP/1.1 connection.
//
// Sends --requests POSTs (after --warmup unrecorded ones) one at a time and
// records, per request, the time from the request's send() to
//   first_byte: the first response byte (status line),
//   first_body: the first body byte (for SSE: the first event),
//   full:       the end of the response (Content-Length reached, or the
//               terminating 0-chunk of a chunked body).
// Prints p50/p90/p99/max of each in microseconds:
//   first_byte_us p50=.. p90=.. p99=.. max=..
//
// Usage: ttfb --port=8080 [--host=127.0.0.1] [--path=/v1/chat/completions]
//             [--body=JSON | --body_file=PATH] [--header="Name: value"]...
//             [--requests=2000] [--warmup=200] [--timeout_ms=10000]
//             [--max_seconds=60] [--expect_done] [--label=NAME]

#include <poll.h>

#include <cerrno>

#include "bench/http_client.h"

namespace {

struct Sample {
  int64_t first_byte;
  int64_t first_body;
  int64_t full;
};

class Connection {
 public:
  Connection(const sockaddr_in& addr, int timeout_ms)
      : addr_(addr), timeout_ms_(timeout_ms) {}
  ~Connection() { Close(); }

  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  bool Connect(std::string* err) {
    Close();
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) {
      *err = std::string("socket: ") + std::strerror(errno);
      return false;
    }
    bench::SetNoDelay(fd_);
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&addr_),
                  sizeof(addr_)) != 0) {
      *err = std::string("connect: ") + std::strerror(errno);
      Close();
      return false;
    }
    fresh_ = true;
    return true;
  }

  // Sends `req` and reads one full response. Retries once on a fresh
  // connection if a reused keep-alive connection turns out to be closed.
  bool RoundTrip(const std::string& req, bench::ResponseParser* parser,
                 Sample* s, std::string* err) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (fd_ < 0 && !Connect(err)) return false;
      bool was_fresh = fresh_;
      fresh_ = false;
      parser->Reset();
      bool got_any = false;
      if (TryOnce(req, parser, s, &got_any, err)) return true;
      Close();
      if (was_fresh || got_any) return false;  // A real failure.
    }
    return false;
  }

 private:
  bool TryOnce(const std::string& req, bench::ResponseParser* parser, Sample* s,
               bool* got_any, std::string* err) {
    int64_t t0 = bench::NowUs();
    size_t off = 0;
    while (off < req.size()) {
      ssize_t n = ::send(fd_, req.data() + off, req.size() - off, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) continue;
        *err = std::string("send: ") + std::strerror(errno);
        return false;
      }
      off += static_cast<size_t>(n);
    }
    s->first_byte = s->first_body = s->full = -1;
    char buf[65536];
    while (!parser->done()) {
      pollfd pfd{fd_, POLLIN, 0};
      int64_t left_ms = timeout_ms_ - (bench::NowUs() - t0) / 1000;
      if (left_ms <= 0) {
        *err = "timeout";
        return false;
      }
      int pr = ::poll(&pfd, 1, static_cast<int>(left_ms));
      if (pr < 0 && errno == EINTR) continue;
      if (pr <= 0) {
        *err = "timeout";
        return false;
      }
      ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      int64_t now = bench::NowUs();
      if (n < 0) {
        if (errno == EINTR || errno == EAGAIN) continue;
        *err = std::string("recv: ") + std::strerror(errno);
        return false;
      }
      if (n == 0) {
        parser->FeedEof();
        if (parser->done()) break;
        *err = *got_any ? "connection closed mid-response"
                        : "connection closed before response";
        return false;
      }
      if (!*got_any) {
        *got_any = true;
        s->first_byte = now - t0;
      }
      parser->Feed(buf, static_cast<size_t>(n));
      if (parser->error()) {
        *err = "malformed response";
        return false;
      }
      if (s->first_body < 0 && parser->body_started()) {
        s->first_body = now - t0;
      }
      if (parser->done()) s->full = now - t0;
    }
    if (s->full < 0) s->full = bench::NowUs() - t0;
    if (s->first_body < 0) s->first_body = s->full;
    if (!parser->keep_alive()) Close();
    return true;
  }

  sockaddr_in addr_;
  int timeout_ms_;
  int fd_ = -1;
  bool fresh_ = false;
};

void PrintStats(const char* name, const std::vector<int64_t>& v) {
  std::printf("%-13s p50=%lld p90=%lld p99=%lld max=%lld\n", name,
              static_cast<long long>(bench::Percentile(v, 0.50)),
              static_cast<long long>(bench::Percentile(v, 0.90)),
              static_cast<long long>(bench::Percentile(v, 0.99)),
              static_cast<long long>(
                  v.empty() ? -1 : *std::max_element(v.begin(), v.end())));
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> flags;
  if (!bench::ParseFlags(argc, argv, &flags) || !flags.count("port")) {
    std::fprintf(stderr,
                 "usage: ttfb --port=N [--host=127.0.0.1] "
                 "[--path=/v1/chat/completions] [--body=JSON|--body_file=F] "
                 "[--header='Name: value']... [--requests=2000] "
                 "[--warmup=200] [--timeout_ms=10000] [--max_seconds=60] "
                 "[--expect_done] [--label=NAME]\n");
    return 2;
  }
  std::string host = bench::FlagOr(flags, "host", "127.0.0.1");
  int port = std::atoi(flags["port"].c_str());
  std::string path = bench::FlagOr(flags, "path", "/v1/chat/completions");
  int requests = std::atoi(bench::FlagOr(flags, "requests", "2000").c_str());
  int warmup = std::atoi(bench::FlagOr(flags, "warmup", "200").c_str());
  int timeout_ms =
      std::atoi(bench::FlagOr(flags, "timeout_ms", "10000").c_str());
  double max_seconds =
      std::atof(bench::FlagOr(flags, "max_seconds", "60").c_str());
  bool expect_done = flags.count("expect_done") > 0;
  std::string label = bench::FlagOr(flags, "label", "");
  std::string body;
  if (!bench::RequestBody(flags, &body)) {
    std::fprintf(stderr, "ttfb: cannot read body file\n");
    return 2;
  }
  sockaddr_in addr;
  if (!bench::MakeAddr(host, port, &addr)) {
    std::fprintf(stderr, "ttfb: bad host %s (IPv4 literal expected)\n",
                 host.c_str());
    return 2;
  }
  std::string req = bench::BuildPost(host, port, path, body,
                                     bench::FlagOr(flags, "header", ""));

  Connection conn(addr, timeout_ms);
  bench::ResponseParser parser;
  std::vector<int64_t> first_byte, first_body, full;
  first_byte.reserve(requests);
  first_body.reserve(requests);
  full.reserve(requests);
  int errors = 0;
  int bad_status = 0;
  int missing_done = 0;
  int last_status = 0;
  uint64_t body_bytes = 0;
  std::string first_error;
  int64_t start = bench::NowUs();
  int64_t deadline = start + static_cast<int64_t>(max_seconds * 1e6);
  int sent = 0;
  for (int i = 0; i < warmup + requests; ++i) {
    if (bench::NowUs() > deadline) break;
    Sample s;
    std::string err;
    ++sent;
    if (!conn.RoundTrip(req, &parser, &s, &err)) {
      ++errors;
      if (first_error.empty()) first_error = err;
      if (errors > 10 && errors * 2 > sent) break;  // Clearly broken.
      continue;
    }
    last_status = parser.status();
    if (parser.status() != 200) {
      ++bad_status;
      if (first_error.empty()) {
        first_error = "status " + std::to_string(parser.status()) + ": " +
                      parser.head_of_body().substr(0, 200);
      }
    }
    if (expect_done && parser.tail().find("[DONE]") == std::string::npos) {
      ++missing_done;
    }
    if (i < warmup) continue;
    body_bytes = parser.body_bytes();
    first_byte.push_back(s.first_byte);
    first_body.push_back(s.first_body);
    full.push_back(s.full);
  }
  double secs = (bench::NowUs() - start) / 1e6;
  std::printf(
      "ttfb%s%s url=http://%s:%d%s requests=%zu errors=%d non200=%d "
      "missing_done=%d status=%d body_bytes=%llu seconds=%.2f\n",
      label.empty() ? "" : " label=", label.c_str(), host.c_str(), port,
      path.c_str(), full.size(), errors, bad_status, missing_done, last_status,
      static_cast<unsigned long long>(body_bytes), secs);
  PrintStats("first_byte_us", first_byte);
  PrintStats("first_body_us", first_body);
  PrintStats("full_us", full);
  if (!first_error.empty()) {
    std::printf("first_error: %s\n", first_error.c_str());
  }
  return (errors > 0 || bad_status > 0 || missing_done > 0 || full.empty()) ? 1
                                                                            : 0;
}
