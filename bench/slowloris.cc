// slowloris: N connections that each dribble a request head one byte at a
// time and never finish it; reports how many the server closed, and when.
//
// Opens --n connections ramped over --ramp_seconds (at most
// --connect_batch connects in flight) and drives them from one epoll loop.
// Each connection sends the first byte of
//   "POST /v1/chat/completions HTTP/1.1\r\nHost: ...\r\nX-Slow: aaaa..."
// as soon as it is connected, then one more byte every --interval_ms (the
// connections' send times are spread evenly over the interval), so the head
// never ends. A connection counts as closed by the server when a read sees
// EOF or a reset, or a send fails; any bytes the server sends first (a 408,
// say) are counted as an answer. Runs until every connection is closed or
// --duration_s after the start, sampling VmRSS and Threads of --pid (a
// comma-separated list is summed) every --sample_ms.
//
// Output (key=value lines):
//   slowloris n=.. connected=.. connect_failed=.. closed_by_server=..
//             answered=.. open_at_end=.. bytes_sent=.. seconds=..
//   close_ms p50=.. p90=.. max=.. min=..   (after connect)
//   rss_kb before=.. max=.. threads_before=.. threads_max=..
//   first_answer: <status line>            (when the server answered)
//
// Usage: slowloris --port=N [--host=127.0.0.1] [--n=5000] [--ramp_seconds=2]
//                  [--interval_ms=1000] [--duration_s=20]
//                  [--pid=PID[,PID...]] [--sample_ms=200]
//                  [--connect_batch=256] [--label=NAME]

#include <sys/epoll.h>

#include <cerrno>
#include <map>

#include "bench/http_client.h"

namespace {

enum class Phase { kIdle, kConnecting, kOpen, kClosed, kFailed };

struct Conn {
  int fd = -1;
  Phase phase = Phase::kIdle;
  size_t sent = 0;  // bytes of the endless head sent so far
  int64_t t_connected = 0;
  int64_t t_closed = 0;
  bool answered = false;
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

int64_t SumStatus(const std::vector<int>& pids, const char* field) {
  int64_t sum = -1;
  for (int pid : pids) {
    int64_t v = bench::ProcStatusKb(pid, field);
    if (v < 0) continue;
    sum = sum < 0 ? v : sum + v;
  }
  return sum;
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> flags;
  if (!bench::ParseFlags(argc, argv, &flags) || !flags.count("port")) {
    std::fprintf(stderr,
                 "usage: slowloris --port=N [--host=127.0.0.1] [--n=5000] "
                 "[--ramp_seconds=2] [--interval_ms=1000] [--duration_s=20] "
                 "[--pid=PID[,PID...]] [--sample_ms=200] "
                 "[--connect_batch=256] [--label=NAME]\n");
    return 2;
  }
  std::string host = bench::FlagOr(flags, "host", "127.0.0.1");
  int port = std::atoi(flags["port"].c_str());
  int n = std::atoi(bench::FlagOr(flags, "n", "5000").c_str());
  double ramp_s = std::atof(bench::FlagOr(flags, "ramp_seconds", "2").c_str());
  int64_t interval_us =
      std::atoll(bench::FlagOr(flags, "interval_ms", "1000").c_str()) * 1000;
  int64_t duration_us = static_cast<int64_t>(
      std::atof(bench::FlagOr(flags, "duration_s", "20").c_str()) * 1e6);
  int64_t sample_us =
      std::atoll(bench::FlagOr(flags, "sample_ms", "200").c_str()) * 1000;
  int connect_batch =
      std::atoi(bench::FlagOr(flags, "connect_batch", "256").c_str());
  std::string label = bench::FlagOr(flags, "label", "");
  std::vector<int> pids = ParsePids(bench::FlagOr(flags, "pid", ""));
  if (n < 1 || interval_us < 10000 || sample_us < 1000 || connect_batch < 1) {
    std::fprintf(stderr, "slowloris: bad --n, --interval_ms or --sample_ms\n");
    return 2;
  }
  sockaddr_in addr;
  if (!bench::MakeAddr(host, port, &addr)) {
    std::fprintf(stderr, "slowloris: bad host %s\n", host.c_str());
    return 2;
  }
  uint64_t fd_limit = bench::RaiseFdLimit();
  if (fd_limit < static_cast<uint64_t>(n) + 16) {
    std::fprintf(stderr, "slowloris: open-files limit %llu is below n=%d\n",
                 static_cast<unsigned long long>(fd_limit), n);
    return 2;
  }
  // The endless head: a request line, Host, then one header whose value
  // never ends (long enough for any run; it is sent a byte per interval).
  std::string head = "POST /v1/chat/completions HTTP/1.1\r\nHost: " + host +
                     ":" + std::to_string(port) + "\r\nX-Slow: ";
  head.append(1 << 16, 'a');

  int epfd = epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) {
    std::perror("slowloris: epoll_create1");
    return 1;
  }
  // Ticks of 10 ms; connection i sends in ticks congruent to i modulo
  // kBuckets, so each interval every open connection sends one byte.
  const int64_t tick_us = 10000;
  const int buckets =
      static_cast<int>(std::max<int64_t>(1, interval_us / tick_us));

  std::vector<Conn> conns(n);
  int next_to_open = 0, connecting = 0, connected = 0, connect_failed = 0;
  int closed = 0, answered = 0;
  uint64_t bytes_sent = 0;
  std::string first_error, first_answer;
  const int64_t rss_before = SumStatus(pids, "VmRSS");
  const int64_t threads_before = SumStatus(pids, "Threads");
  int64_t rss_max = rss_before, threads_max = threads_before;
  const int64_t t0 = bench::NowUs();
  int64_t next_sample = t0;
  int64_t next_tick = 0;  // index of the next tick to process
  std::vector<epoll_event> events(1024);
  char buf[4096];

  auto close_conn = [&](Conn& c, int64_t now) {
    epoll_ctl(epfd, EPOLL_CTL_DEL, c.fd, nullptr);
    ::close(c.fd);
    c.fd = -1;
    c.phase = Phase::kClosed;
    c.t_closed = now;
    ++closed;
  };
  auto fail_connect = [&](Conn& c, const std::string& why) {
    if (c.fd >= 0) {
      epoll_ctl(epfd, EPOLL_CTL_DEL, c.fd, nullptr);
      ::close(c.fd);
    }
    c.fd = -1;
    c.phase = Phase::kFailed;
    ++connect_failed;
    if (first_error.empty()) first_error = why;
  };
  auto send_byte = [&](Conn& c, int64_t now) {
    if (c.sent >= head.size()) return;
    ssize_t w = ::send(c.fd, head.data() + c.sent, 1, MSG_NOSIGNAL);
    if (w == 1) {
      ++c.sent;
      ++bytes_sent;
    } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
      close_conn(c, now);  // EPIPE / ECONNRESET: the server hung up
    }
  };

  while (true) {
    int64_t now = bench::NowUs();
    if (now - t0 >= duration_us) break;
    if (next_to_open == n && connecting == 0 && closed + connect_failed == n) {
      break;  // nothing left open
    }
    int due = n;
    if (ramp_s > 0) {
      due = static_cast<int>(
          std::min<double>(n, std::ceil(n * ((now - t0) / 1e6) / ramp_s)));
      if (due < 1) due = 1;
    }
    while (next_to_open < due && connecting < connect_batch) {
      int idx = next_to_open++;
      Conn& c = conns[idx];
      c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (c.fd < 0) {
        fail_connect(c, std::string("socket: ") + std::strerror(errno));
        continue;
      }
      bench::SetNoDelay(c.fd);
      int rc = ::connect(c.fd, reinterpret_cast<const sockaddr*>(&addr),
                         sizeof(addr));
      if (rc != 0 && errno != EINPROGRESS) {
        fail_connect(c, std::string("connect: ") + std::strerror(errno));
        continue;
      }
      epoll_event e{};
      e.events = EPOLLOUT;
      e.data.u32 = static_cast<uint32_t>(idx);
      if (epoll_ctl(epfd, EPOLL_CTL_ADD, c.fd, &e) != 0) {
        fail_connect(c, std::string("epoll_ctl: ") + std::strerror(errno));
        continue;
      }
      c.phase = Phase::kConnecting;
      ++connecting;
    }
    // Dribble: every tick due by now sends a byte on its bucket.
    for (; t0 + next_tick * tick_us <= now; ++next_tick) {
      int bucket = static_cast<int>(next_tick % buckets);
      for (int i = bucket; i < n; i += buckets) {
        Conn& c = conns[i];
        // A connection opened within the last interval already sent its
        // first byte on connect.
        if (c.phase == Phase::kOpen && now - c.t_connected >= tick_us) {
          send_byte(c, now);
        }
      }
    }
    if (now >= next_sample) {
      rss_max = std::max(rss_max, SumStatus(pids, "VmRSS"));
      threads_max = std::max(threads_max, SumStatus(pids, "Threads"));
      next_sample = now + sample_us;
    }
    int64_t wake = std::min(next_sample, t0 + next_tick * tick_us);
    int wait_ms = static_cast<int>(
        std::max<int64_t>(1, (wake - bench::NowUs() + 999) / 1000));
    if (next_to_open < n) wait_ms = 1;
    int nev = epoll_wait(epfd, events.data(), static_cast<int>(events.size()),
                         wait_ms);
    if (nev < 0) {
      if (errno == EINTR) continue;
      std::perror("slowloris: epoll_wait");
      return 1;
    }
    now = bench::NowUs();
    for (int k = 0; k < nev; ++k) {
      Conn& c = conns[events[k].data.u32];
      if (c.phase == Phase::kConnecting) {
        --connecting;
        int err = 0;
        socklen_t len = sizeof(err);
        getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
          fail_connect(c, std::string("connect: ") + std::strerror(err));
          continue;
        }
        epoll_event e{};
        e.events = EPOLLIN | EPOLLRDHUP;
        e.data.u32 = events[k].data.u32;
        epoll_ctl(epfd, EPOLL_CTL_MOD, c.fd, &e);
        c.phase = Phase::kOpen;
        c.t_connected = now;
        ++connected;
        send_byte(c, now);
        continue;
      }
      if (c.phase != Phase::kOpen) continue;
      ssize_t r = ::recv(c.fd, buf, sizeof(buf), 0);
      if (r > 0) {
        if (!c.answered) {
          c.answered = true;
          ++answered;
          if (first_answer.empty()) {
            std::string s(buf, static_cast<size_t>(r));
            first_answer = s.substr(0, s.find('\r'));
          }
        }
        // Keep reading until the server closes.
        if (!(events[k].events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))) continue;
        r = 0;
      }
      if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
        close_conn(c, now);
      }
    }
  }
  int64_t t_end = bench::NowUs();
  std::vector<int64_t> close_ms;
  int open_at_end = 0;
  for (const Conn& c : conns) {
    if (c.phase == Phase::kClosed) {
      close_ms.push_back((c.t_closed - c.t_connected) / 1000);
    } else if (c.phase == Phase::kOpen) {
      ++open_at_end;
    }
  }
  std::sort(close_ms.begin(), close_ms.end());
  std::printf(
      "slowloris%s%s n=%d connected=%d connect_failed=%d closed_by_server=%d "
      "answered=%d open_at_end=%d bytes_sent=%llu seconds=%.1f\n",
      label.empty() ? "" : " label=", label.c_str(), n, connected,
      connect_failed, closed, answered, open_at_end,
      static_cast<unsigned long long>(bytes_sent), (t_end - t0) / 1e6);
  std::printf("close_ms p50=%lld p90=%lld max=%lld min=%lld\n",
              static_cast<long long>(bench::Percentile(close_ms, 0.5)),
              static_cast<long long>(bench::Percentile(close_ms, 0.9)),
              static_cast<long long>(bench::Percentile(close_ms, 1.0)),
              static_cast<long long>(close_ms.empty() ? -1 : close_ms[0]));
  std::printf(
      "rss_kb before=%lld max=%lld threads_before=%lld "
      "threads_max=%lld\n",
      static_cast<long long>(rss_before), static_cast<long long>(rss_max),
      static_cast<long long>(threads_before),
      static_cast<long long>(threads_max));
  if (!first_answer.empty()) {
    std::printf("first_answer: %s\n", first_answer.c_str());
  }
  if (!first_error.empty())
    std::printf("first_error: %s\n", first_error.c_str());
  return 0;
}
