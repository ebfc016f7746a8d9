// streams: holds N concurrent streaming requests open and checks they all
// complete.
//
// Opens --n connections (at most --connect_batch connects in flight), sends
// one streaming POST on each, and drives them all from one poll() loop. A
// stream is "held" once its first body byte (first SSE event) has arrived
// and until its response ends. While streams are held it samples the VmRSS
// of --pid (the gateway) every --sample_ms; when all N are held at once it
// records that RSS. At the end every stream must have ended with a complete
// chunked response containing "[DONE]".
//
// Output (one key=value line each):
//   streams n=.. opened=.. max_held=.. all_held=1 completed=.. failed=.. ...
//   rss_kb before=.. all_held=.. max=.. per_stream=.. threads_all_held=..
//
// Usage: streams --port=N [--host=127.0.0.1] [--path=/v1/chat/completions]
//                [--body=JSON | --body_file=F] [--header='Name: value']...
//                [--n=1000] [--pid=PID] [--connect_batch=128]
//                [--timeout_s=120] [--sample_ms=200]

#include <poll.h>

#include <cerrno>
#include <memory>

#include "bench/http_client.h"

namespace {

enum class Phase { kIdle, kConnecting, kSending, kReading, kDone, kFailed };

struct Stream {
  int fd = -1;
  Phase phase = Phase::kIdle;
  size_t sent = 0;
  int64_t t_start = 0;
  int64_t t_first_body = 0;
  int64_t t_end = 0;
  bench::ResponseParser parser;
  std::string error;
};

void Fail(Stream* s, const std::string& why, int* failed,
          std::string* first_error) {
  if (s->fd >= 0) ::close(s->fd);
  s->fd = -1;
  s->phase = Phase::kFailed;
  s->error = why;
  ++*failed;
  if (first_error->empty()) *first_error = why;
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> flags;
  if (!bench::ParseFlags(argc, argv, &flags) || !flags.count("port")) {
    std::fprintf(stderr,
                 "usage: streams --port=N [--host=127.0.0.1] "
                 "[--path=/v1/chat/completions] [--body=JSON|--body_file=F] "
                 "[--header='Name: value']... [--n=1000] [--pid=PID] "
                 "[--connect_batch=128] [--timeout_s=120] [--sample_ms=200]\n");
    return 2;
  }
  std::string host = bench::FlagOr(flags, "host", "127.0.0.1");
  int port = std::atoi(flags["port"].c_str());
  std::string path = bench::FlagOr(flags, "path", "/v1/chat/completions");
  int n = std::atoi(bench::FlagOr(flags, "n", "1000").c_str());
  int pid = std::atoi(bench::FlagOr(flags, "pid", "0").c_str());
  int connect_batch =
      std::atoi(bench::FlagOr(flags, "connect_batch", "128").c_str());
  int64_t timeout_us =
      std::atoll(bench::FlagOr(flags, "timeout_s", "120").c_str()) * 1000000;
  int64_t sample_us =
      std::atoll(bench::FlagOr(flags, "sample_ms", "200").c_str()) * 1000;
  std::string body;
  if (!flags.count("body") && !flags.count("body_file")) {
    flags["body"] =
        "{\"model\":\"gpt-4o-mini\",\"stream\":true,\"messages\":[{\"role\":"
        "\"user\",\"content\":\"Hello!\"}]}";
  }
  if (!bench::RequestBody(flags, &body)) {
    std::fprintf(stderr, "streams: cannot read body file\n");
    return 2;
  }
  sockaddr_in addr;
  if (!bench::MakeAddr(host, port, &addr)) {
    std::fprintf(stderr, "streams: bad host %s\n", host.c_str());
    return 2;
  }
  uint64_t fd_limit = bench::RaiseFdLimit();
  if (fd_limit < static_cast<uint64_t>(n) + 16) {
    std::fprintf(stderr, "streams: open-files limit %llu is below n=%d\n",
                 static_cast<unsigned long long>(fd_limit), n);
    return 2;
  }
  const std::string req = bench::BuildPost(host, port, path, body,
                                           bench::FlagOr(flags, "header", ""));

  std::vector<Stream> streams(n);
  int next_to_open = 0;
  int connecting = 0;
  int opened = 0;  // Connected and request fully sent.
  int held = 0;
  int max_held = 0;
  int completed = 0;
  int failed = 0;
  int bad_status = 0;
  std::string first_error;
  int64_t rss_before = bench::ProcStatusKb(pid);
  int64_t rss_all_held = -1;
  int64_t threads_all_held = -1;
  int64_t rss_max = rss_before;
  int64_t t_all_held = -1;
  const int64_t t0 = bench::NowUs();
  int64_t next_sample = t0;

  std::vector<pollfd> pfds;
  std::vector<int> index;  // pfds[i] belongs to streams[index[i]].
  char buf[65536];

  while (completed + failed < n) {
    int64_t now = bench::NowUs();
    if (now - t0 > timeout_us) break;
    // Open more connections, keeping at most connect_batch in flight.
    while (next_to_open < n && connecting < connect_batch) {
      Stream& s = streams[next_to_open++];
      s.t_start = now;
      s.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (s.fd < 0) {
        Fail(&s, std::string("socket: ") + std::strerror(errno), &failed,
             &first_error);
        continue;
      }
      bench::SetNoDelay(s.fd);
      int rc = ::connect(s.fd, reinterpret_cast<const sockaddr*>(&addr),
                         sizeof(addr));
      if (rc != 0 && errno != EINPROGRESS) {
        Fail(&s, std::string("connect: ") + std::strerror(errno), &failed,
             &first_error);
        continue;
      }
      s.phase = Phase::kConnecting;
      ++connecting;
    }
    if (now >= next_sample) {
      int64_t rss = bench::ProcStatusKb(pid);
      if (rss > rss_max) rss_max = rss;
      next_sample = now + sample_us;
    }

    pfds.clear();
    index.clear();
    for (int i = 0; i < n; ++i) {
      Stream& s = streams[i];
      short events = 0;
      if (s.phase == Phase::kConnecting || s.phase == Phase::kSending) {
        events = POLLOUT;
      } else if (s.phase == Phase::kReading) {
        events = POLLIN;
      } else {
        continue;
      }
      pfds.push_back(pollfd{s.fd, events, 0});
      index.push_back(i);
    }
    int wait_ms = static_cast<int>(
        std::max<int64_t>(1, (next_sample - bench::NowUs()) / 1000));
    int pr = ::poll(pfds.data(), pfds.size(), wait_ms);
    if (pr < 0) {
      if (errno == EINTR) continue;
      std::perror("streams: poll");
      return 1;
    }
    now = bench::NowUs();
    for (size_t k = 0; k < pfds.size() && pr > 0; ++k) {
      if (pfds[k].revents == 0) continue;
      Stream& s = streams[index[k]];
      if (s.phase == Phase::kConnecting) {
        --connecting;
        int err = 0;
        socklen_t len = sizeof(err);
        getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
          Fail(&s, std::string("connect: ") + std::strerror(err), &failed,
               &first_error);
          continue;
        }
        s.phase = Phase::kSending;
      }
      if (s.phase == Phase::kSending) {
        ssize_t w = ::send(s.fd, req.data() + s.sent, req.size() - s.sent,
                           MSG_NOSIGNAL);
        if (w < 0) {
          if (errno != EAGAIN && errno != EINTR) {
            Fail(&s, std::string("send: ") + std::strerror(errno), &failed,
                 &first_error);
          }
          continue;
        }
        s.sent += static_cast<size_t>(w);
        if (s.sent == req.size()) {
          s.phase = Phase::kReading;
          ++opened;
        }
        continue;
      }
      if (s.phase != Phase::kReading) continue;
      ssize_t r = ::recv(s.fd, buf, sizeof(buf), 0);
      if (r < 0) {
        if (errno == EAGAIN || errno == EINTR) continue;
        bool was_held = s.parser.body_started();
        Fail(&s, std::string("recv: ") + std::strerror(errno), &failed,
             &first_error);
        if (was_held) --held;
        continue;
      }
      bool was_held = s.parser.body_started();
      if (r == 0) {
        s.parser.FeedEof();
      } else {
        s.parser.Feed(buf, static_cast<size_t>(r));
      }
      if (!was_held && s.parser.body_started()) {
        s.t_first_body = now;
        ++held;
        if (held > max_held) max_held = held;
        if (held == n && t_all_held < 0) {
          t_all_held = now;
          rss_all_held = bench::ProcStatusKb(pid);
          threads_all_held = bench::ProcStatusKb(pid, "Threads");
          if (rss_all_held > rss_max) rss_max = rss_all_held;
        }
      }
      bool is_held = s.parser.body_started();
      if (s.parser.done()) {
        if (is_held) --held;
        s.t_end = now;
        ::close(s.fd);
        s.fd = -1;
        if (s.parser.status() != 200) {
          ++bad_status;
          Fail(&s,
               "status " + std::to_string(s.parser.status()) + ": " +
                   s.parser.head_of_body().substr(0, 200),
               &failed, &first_error);
        } else if (s.parser.tail().find("[DONE]") == std::string::npos) {
          Fail(&s, "stream ended without [DONE]", &failed, &first_error);
        } else {
          s.phase = Phase::kDone;
          ++completed;
        }
      } else if (s.parser.error() || r == 0) {
        if (is_held) --held;
        Fail(&s, r == 0 ? "connection closed mid-stream" : "malformed response",
             &failed, &first_error);
      }
    }
  }
  int64_t t_end = bench::NowUs();
  int timed_out = n - completed - failed;

  // Time to open all streams, and stream durations.
  std::vector<int64_t> first_body_ms, duration_ms;
  for (const Stream& s : streams) {
    if (s.t_first_body > 0) {
      first_body_ms.push_back((s.t_first_body - s.t_start) / 1000);
    }
    if (s.phase == Phase::kDone) {
      duration_ms.push_back((s.t_end - s.t_start) / 1000);
    }
  }
  std::printf(
      "streams n=%d opened=%d max_held=%d all_held=%d completed=%d failed=%d "
      "timed_out=%d non200=%d all_held_after_ms=%lld total_ms=%lld\n",
      n, opened, max_held, t_all_held >= 0 ? 1 : 0, completed, failed,
      timed_out, bad_status,
      static_cast<long long>(t_all_held >= 0 ? (t_all_held - t0) / 1000 : -1),
      static_cast<long long>((t_end - t0) / 1000));
  std::printf("first_event_ms p50=%lld p99=%lld max=%lld\n",
              static_cast<long long>(bench::Percentile(first_body_ms, 0.5)),
              static_cast<long long>(bench::Percentile(first_body_ms, 0.99)),
              static_cast<long long>(bench::Percentile(first_body_ms, 1.0)));
  std::printf("duration_ms p50=%lld p99=%lld max=%lld\n",
              static_cast<long long>(bench::Percentile(duration_ms, 0.5)),
              static_cast<long long>(bench::Percentile(duration_ms, 0.99)),
              static_cast<long long>(bench::Percentile(duration_ms, 1.0)));
  int64_t rss_held = rss_all_held >= 0 ? rss_all_held : rss_max;
  double per_stream =
      (rss_held >= 0 && rss_before >= 0 && max_held > 0)
          ? static_cast<double>(rss_held - rss_before) / max_held
          : -1;
  std::printf(
      "rss_kb before=%lld all_held=%lld max=%lld per_stream=%.1f "
      "threads_all_held=%lld\n",
      static_cast<long long>(rss_before), static_cast<long long>(rss_all_held),
      static_cast<long long>(rss_max), per_stream,
      static_cast<long long>(threads_all_held));
  if (!first_error.empty()) {
    std::printf("first_error: %s\n", first_error.c_str());
  }
  return (completed == n && t_all_held >= 0) ? 0 : 1;
}
