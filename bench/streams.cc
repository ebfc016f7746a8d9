// streams: holds N concurrent streaming requests open and checks they all
// complete.
//
// Opens --n connections, ramped evenly over --ramp_seconds (0 = as fast as
// possible; at most --connect_batch connects in flight either way), sends
// one streaming POST on each, and drives them all from one epoll loop
// (level-triggered, one descriptor per stream, so 10,000+ streams cost a
// few syscalls per event, not a scan of every descriptor). A stream is
// "held" once its first body byte (first SSE event) has arrived and until
// its response ends. Every --sample_ms it samples VmRSS and Threads of the
// gateway, summed over the --pid list (nginx: master and workers). The
// "plateau" is the samples taken while at least 99% of the most streams
// ever held were held; its RSS and thread count are the maxima over those
// samples. At the end every stream must have ended with a complete chunked
// response containing "[DONE]".
//
// Output (key=value lines):
//   streams n=.. opened=.. max_held=.. all_held=1 completed=.. failed=.. ...
//   first_event_ms / duration_ms p50=.. p99=.. max=..
//   rss_kb before=.. all_held=.. plateau=.. max=.. per_stream=..
//          threads_before=.. threads_all_held=.. threads_plateau=..
//          threads_max=..
//   failures <reason>=<count>...   held_by_second <s>:<held>...
//
// Usage: streams --port=N [--host=127.0.0.1] [--path=/v1/chat/completions]
//                [--body=JSON | --body_file=F] [--header='Name: value']...
//                [--n=1000] [--ramp_seconds=0] [--pid=PID[,PID...]]
//                [--connect_batch=128] [--timeout_s=120] [--sample_ms=200]
//                [--label=NAME]

#include <sys/epoll.h>

#include <cerrno>
#include <map>
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
  std::unique_ptr<bench::ResponseParser> parser;
};

struct Sample {
  int64_t t_us;
  int held;
  int64_t rss_kb;
  int64_t threads;
};

class Runner {
 public:
  Runner(int n, std::vector<int> pids) : streams_(n), pids_(std::move(pids)) {}

  std::vector<Stream> streams_;
  std::vector<int> pids_;
  int held = 0;
  int max_held = 0;
  int completed = 0;
  int failed = 0;
  int bad_status = 0;
  std::string first_error;
  std::map<std::string, int> reasons;

  void Fail(int epfd, Stream* s, const std::string& reason,
            const std::string& detail) {
    if (s->fd >= 0) {
      epoll_ctl(epfd, EPOLL_CTL_DEL, s->fd, nullptr);
      ::close(s->fd);
    }
    s->fd = -1;
    if (s->parser && s->parser->body_started() && s->phase == Phase::kReading) {
      --held;
    }
    s->phase = Phase::kFailed;
    s->parser.reset();
    ++failed;
    ++reasons[reason];
    if (first_error.empty()) first_error = reason + ": " + detail;
  }

  int64_t SumStatus(const char* field) const {
    int64_t sum = -1;
    for (int pid : pids_) {
      int64_t v = bench::ProcStatusKb(pid, field);
      if (v < 0) continue;
      sum = sum < 0 ? v : sum + v;
    }
    return sum;
  }
};

std::vector<int> ParsePids(const std::string& s) {
  std::vector<int> pids;
  size_t pos = 0;
  while (pos < s.size()) {
    size_t comma = s.find(',', pos);
    if (comma == std::string::npos) comma = s.size();
    int pid = std::atoi(s.substr(pos, comma - pos).c_str());
    if (pid > 0) pids.push_back(pid);
    pos = comma + 1;
  }
  return pids;
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> flags;
  if (!bench::ParseFlags(argc, argv, &flags) || !flags.count("port")) {
    std::fprintf(stderr,
                 "usage: streams --port=N [--host=127.0.0.1] "
                 "[--path=/v1/chat/completions] [--body=JSON|--body_file=F] "
                 "[--header='Name: value']... [--n=1000] [--ramp_seconds=0] "
                 "[--pid=PID[,PID...]] [--connect_batch=128] "
                 "[--timeout_s=120] [--sample_ms=200] [--label=NAME]\n");
    return 2;
  }
  std::string host = bench::FlagOr(flags, "host", "127.0.0.1");
  int port = std::atoi(flags["port"].c_str());
  std::string path = bench::FlagOr(flags, "path", "/v1/chat/completions");
  int n = std::atoi(bench::FlagOr(flags, "n", "1000").c_str());
  double ramp_s = std::atof(bench::FlagOr(flags, "ramp_seconds", "0").c_str());
  int connect_batch =
      std::atoi(bench::FlagOr(flags, "connect_batch", "128").c_str());
  int64_t timeout_us =
      std::atoll(bench::FlagOr(flags, "timeout_s", "120").c_str()) * 1000000;
  int64_t sample_us =
      std::atoll(bench::FlagOr(flags, "sample_ms", "200").c_str()) * 1000;
  std::string label = bench::FlagOr(flags, "label", "");
  if (n < 1 || connect_batch < 1 || sample_us < 1000) {
    std::fprintf(stderr, "streams: bad --n, --connect_batch or --sample_ms\n");
    return 2;
  }
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
  int epfd = epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) {
    std::perror("streams: epoll_create1");
    return 1;
  }

  Runner run(n, ParsePids(bench::FlagOr(flags, "pid", "")));
  std::vector<Stream>& streams = run.streams_;
  int next_to_open = 0;
  int connecting = 0;
  int opened = 0;  // Connected and request fully sent.
  const int64_t rss_before = run.SumStatus("VmRSS");
  const int64_t threads_before = run.SumStatus("Threads");
  int64_t rss_all_held = -1;
  int64_t threads_all_held = -1;
  int64_t t_all_held = -1;
  std::vector<Sample> samples;
  const int64_t t0 = bench::NowUs();
  int64_t next_sample = t0;
  std::vector<epoll_event> events(1024);
  static char buf[65536];

  auto set_events = [epfd](Stream& s, int idx, uint32_t ev, int op) {
    epoll_event e{};
    e.events = ev;
    e.data.u32 = static_cast<uint32_t>(idx);
    return epoll_ctl(epfd, op, s.fd, &e) == 0;
  };

  while (run.completed + run.failed < n) {
    int64_t now = bench::NowUs();
    if (now - t0 > timeout_us) break;
    // Open more connections: the ramp says how many should have started by
    // now, connect_batch bounds those still connecting.
    int due = n;
    if (ramp_s > 0) {
      due = static_cast<int>(
          std::min<double>(n, std::ceil(n * ((now - t0) / 1e6) / ramp_s)));
      if (due < 1) due = 1;
    }
    while (next_to_open < due && connecting < connect_batch) {
      int idx = next_to_open++;
      Stream& s = streams[idx];
      s.t_start = now;
      s.parser = std::make_unique<bench::ResponseParser>();
      s.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (s.fd < 0) {
        run.Fail(epfd, &s, "socket", std::strerror(errno));
        continue;
      }
      bench::SetNoDelay(s.fd);
      int rc = ::connect(s.fd, reinterpret_cast<const sockaddr*>(&addr),
                         sizeof(addr));
      if (rc != 0 && errno != EINPROGRESS) {
        run.Fail(epfd, &s, "connect", std::strerror(errno));
        continue;
      }
      s.phase = Phase::kConnecting;
      ++connecting;
      if (!set_events(s, idx, EPOLLOUT, EPOLL_CTL_ADD)) {
        --connecting;
        run.Fail(epfd, &s, "epoll_ctl", std::strerror(errno));
      }
    }
    if (now >= next_sample) {
      Sample smp{now, run.held, run.SumStatus("VmRSS"),
                 run.SumStatus("Threads")};
      samples.push_back(smp);
      next_sample = now + sample_us;
    }

    int64_t wait_us = next_sample - bench::NowUs();
    if (next_to_open < n) wait_us = std::min<int64_t>(wait_us, 1000);
    int wait_ms = static_cast<int>(std::max<int64_t>(1, wait_us / 1000));
    int nev = epoll_wait(epfd, events.data(), static_cast<int>(events.size()),
                         wait_ms);
    if (nev < 0) {
      if (errno == EINTR) continue;
      std::perror("streams: epoll_wait");
      return 1;
    }
    now = bench::NowUs();
    for (int k = 0; k < nev; ++k) {
      int idx = static_cast<int>(events[k].data.u32);
      Stream& s = streams[idx];
      if (s.phase == Phase::kConnecting) {
        --connecting;
        int err = 0;
        socklen_t len = sizeof(err);
        getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
          run.Fail(epfd, &s, "connect", std::strerror(err));
          continue;
        }
        s.phase = Phase::kSending;
      }
      if (s.phase == Phase::kSending) {
        ssize_t w = ::send(s.fd, req.data() + s.sent, req.size() - s.sent,
                           MSG_NOSIGNAL);
        if (w < 0) {
          if (errno != EAGAIN && errno != EINTR) {
            run.Fail(epfd, &s, "send", std::strerror(errno));
          }
          continue;
        }
        s.sent += static_cast<size_t>(w);
        if (s.sent == req.size()) {
          s.phase = Phase::kReading;
          ++opened;
          if (!set_events(s, idx, EPOLLIN | EPOLLRDHUP, EPOLL_CTL_MOD)) {
            run.Fail(epfd, &s, "epoll_ctl", std::strerror(errno));
          }
        }
        continue;
      }
      if (s.phase != Phase::kReading) continue;
      ssize_t r = ::recv(s.fd, buf, sizeof(buf), 0);
      if (r < 0) {
        if (errno == EAGAIN || errno == EINTR) continue;
        run.Fail(epfd, &s,
                 s.parser->body_started() ? "reset mid-stream"
                                          : "reset before first event",
                 std::strerror(errno));
        continue;
      }
      bench::ResponseParser& p = *s.parser;
      bool was_held = p.body_started();
      if (r == 0) {
        p.FeedEof();
      } else {
        p.Feed(buf, static_cast<size_t>(r));
      }
      if (!was_held && p.body_started()) {
        s.t_first_body = now;
        ++run.held;
        if (run.held > run.max_held) run.max_held = run.held;
        if (run.held == n && t_all_held < 0) {
          t_all_held = now;
          rss_all_held = run.SumStatus("VmRSS");
          threads_all_held = run.SumStatus("Threads");
        }
      }
      if (p.done()) {
        s.t_end = now;
        if (p.status() != 200) {
          ++run.bad_status;
          run.Fail(epfd, &s, "status " + std::to_string(p.status()),
                   p.head_of_body().substr(0, 200));
        } else if (p.tail().find("[DONE]") == std::string::npos) {
          run.Fail(epfd, &s, "no [DONE]", "stream ended without [DONE]");
        } else {
          if (p.body_started()) --run.held;
          epoll_ctl(epfd, EPOLL_CTL_DEL, s.fd, nullptr);
          ::close(s.fd);
          s.fd = -1;
          s.parser.reset();
          s.phase = Phase::kDone;
          ++run.completed;
        }
      } else if (p.error() || r == 0) {
        const char* why = p.error()          ? "malformed response"
                          : p.body_started() ? "closed mid-stream"
                          : p.headers_done() ? "closed after head"
                                             : "closed before response";
        run.Fail(epfd, &s, why, "");
      }
    }
  }
  int64_t t_end = bench::NowUs();
  int timed_out = n - run.completed - run.failed;
  if (timed_out > 0) {
    int never_started = n - next_to_open;
    if (never_started > 0) run.reasons["not opened"] += never_started;
    if (timed_out - never_started > 0) {
      run.reasons["timed out"] += timed_out - never_started;
    }
  }

  std::vector<int64_t> first_body_ms, duration_ms;
  for (const Stream& s : streams) {
    if (s.t_first_body > 0) {
      first_body_ms.push_back((s.t_first_body - s.t_start) / 1000);
    }
    if (s.phase == Phase::kDone) {
      duration_ms.push_back((s.t_end - s.t_start) / 1000);
    }
  }
  // Plateau: samples with at least 99% of the most streams held at once.
  int sampled_max = 0;
  for (const Sample& s : samples) sampled_max = std::max(sampled_max, s.held);
  int64_t rss_plateau = -1, threads_plateau = -1, rss_max = rss_before,
          threads_max = threads_before;
  for (const Sample& s : samples) {
    rss_max = std::max(rss_max, s.rss_kb);
    threads_max = std::max(threads_max, s.threads);
    if (sampled_max > 0 && s.held * 100 >= sampled_max * 99) {
      rss_plateau = std::max(rss_plateau, s.rss_kb);
      threads_plateau = std::max(threads_plateau, s.threads);
    }
  }
  if (rss_all_held > rss_max) rss_max = rss_all_held;
  std::printf(
      "streams%s%s n=%d opened=%d max_held=%d all_held=%d completed=%d "
      "failed=%d timed_out=%d non200=%d all_held_after_ms=%lld "
      "total_ms=%lld\n",
      label.empty() ? "" : " label=", label.c_str(), n, opened, run.max_held,
      t_all_held >= 0 ? 1 : 0, run.completed, run.failed, timed_out,
      run.bad_status,
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
  int64_t rss_held = rss_plateau >= 0 ? rss_plateau : rss_max;
  double per_stream =
      (rss_held >= 0 && rss_before >= 0 && run.max_held > 0)
          ? static_cast<double>(rss_held - rss_before) / run.max_held
          : -1;
  std::printf(
      "rss_kb before=%lld all_held=%lld plateau=%lld max=%lld "
      "per_stream=%.1f threads_before=%lld threads_all_held=%lld "
      "threads_plateau=%lld threads_max=%lld\n",
      static_cast<long long>(rss_before), static_cast<long long>(rss_all_held),
      static_cast<long long>(rss_plateau), static_cast<long long>(rss_max),
      per_stream, static_cast<long long>(threads_before),
      static_cast<long long>(threads_all_held),
      static_cast<long long>(threads_plateau),
      static_cast<long long>(threads_max));
  std::printf("failures");
  if (run.reasons.empty()) std::printf(" none=0");
  for (const auto& [reason, count] : run.reasons) {
    std::string key = reason;
    for (char& c : key) {
      if (c == ' ') c = '_';
    }
    std::printf(" %s=%d", key.c_str(), count);
  }
  std::printf("\nheld_by_second");
  int64_t next_print = t0;
  for (const Sample& s : samples) {
    if (s.t_us < next_print) continue;
    std::printf(" %lld:%d", static_cast<long long>((s.t_us - t0) / 1000000),
                s.held);
    next_print = s.t_us + 1000000 - sample_us / 2;
  }
  std::printf("\n");
  if (!run.first_error.empty()) {
    std::printf("first_error: %s\n", run.first_error.c_str());
  }
  return (run.completed == n && t_all_held >= 0) ? 0 : 1;
}
