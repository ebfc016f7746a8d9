// Minimal HTTP/1.1 client pieces shared by the bench tools (no library):
// an incremental response parser (Content-Length, chunked, read-to-close),
// request building, flag parsing and a few socket helpers.

#ifndef AIGW_BENCH_HTTP_CLIENT_H_
#define AIGW_BENCH_HTTP_CLIENT_H_

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace bench {

inline int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Parses "--name=value" flags into a map; bare "--name" maps to "true".
// Repeated flags are joined with '\n'. Returns false on a non-flag argument.
inline bool ParseFlags(int argc, char** argv,
                       std::map<std::string, std::string>* flags) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.compare(0, 2, "--") != 0) return false;
    size_t eq = arg.find('=');
    std::string name = arg.substr(2, eq == std::string::npos ? eq : eq - 2);
    std::string value = eq == std::string::npos ? "true" : arg.substr(eq + 1);
    auto it = flags->find(name);
    if (it == flags->end()) {
      (*flags)[name] = value;
    } else {
      it->second += "\n" + value;
    }
  }
  return true;
}

inline std::string FlagOr(const std::map<std::string, std::string>& flags,
                          const std::string& name, const std::string& def) {
  auto it = flags.find(name);
  return it == flags.end() ? def : it->second;
}

inline bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::stringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return true;
}

// Body from --body=JSON or --body_file=PATH.
inline bool RequestBody(const std::map<std::string, std::string>& flags,
                        std::string* body) {
  auto file = flags.find("body_file");
  if (file != flags.end()) return ReadFile(file->second, body);
  *body = FlagOr(flags, "body",
                 "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":"
                 "\"user\",\"content\":\"Hello!\"}]}");
  return true;
}

// Builds a keep-alive POST. `extra_headers` holds "Name: value" lines
// separated by '\n' (as produced by repeated --header flags).
inline std::string BuildPost(const std::string& host, int port,
                             const std::string& path, const std::string& body,
                             const std::string& extra_headers) {
  std::string req = "POST " + path + " HTTP/1.1\r\nHost: " + host + ":" +
                    std::to_string(port) +
                    "\r\nContent-Type: application/json\r\n"
                    "Accept: */*\r\nContent-Length: " +
                    std::to_string(body.size()) + "\r\n";
  std::stringstream lines(extra_headers);
  std::string line;
  while (std::getline(lines, line)) {
    if (!line.empty()) req += line + "\r\n";
  }
  req += "\r\n";
  req += body;
  return req;
}

inline bool MakeAddr(const std::string& host, int port, sockaddr_in* addr) {
  std::memset(addr, 0, sizeof(*addr));
  addr->sin_family = AF_INET;
  addr->sin_port = htons(static_cast<uint16_t>(port));
  return inet_pton(AF_INET, host == "localhost" ? "127.0.0.1" : host.c_str(),
                   &addr->sin_addr) == 1;
}

inline void SetNoDelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

// Raises the soft open-files limit to the hard limit; returns the new soft
// limit.
inline uint64_t RaiseFdLimit() {
  rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 0;
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  getrlimit(RLIMIT_NOFILE, &rl);
  return rl.rlim_cur;
}

// VmRSS (or another /proc/PID/status field) in kB; -1 if unavailable.
inline int64_t ProcStatusKb(int pid, const char* field = "VmRSS") {
  if (pid <= 0) return -1;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  std::string prefix = std::string(field) + ":";
  while (std::getline(in, line)) {
    if (line.compare(0, prefix.size(), prefix) == 0) {
      return std::atoll(line.c_str() + prefix.size());
    }
  }
  return -1;
}

inline int64_t Percentile(std::vector<int64_t> v, double p) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  // Nearest rank: the smallest value with at least p of the samples <= it.
  double rank = std::ceil(p * v.size() - 1e-9);
  size_t idx = rank < 1 ? 0 : static_cast<size_t>(rank) - 1;
  return v[std::min(idx, v.size() - 1)];
}

// Incremental HTTP/1.1 response parser. Feed() bytes as they arrive and
// FeedEof() when the peer closes; done() turns true once the whole response
// (headers and body, including the terminating 0-chunk of a chunked body)
// has been read.
class ResponseParser {
 public:
  enum class State {
    kHeaders,
    kBodyLength,
    kBodyToClose,
    kChunkSize,
    kChunkData,
    kChunkDataEnd,
    kTrailers,
    kDone,
    kError
  };

  void Reset() { *this = ResponseParser(); }

  // Returns the number of bytes consumed; bytes after the end of the
  // response (pipelining) are left unconsumed.
  size_t Feed(const char* data, size_t n) {
    size_t i = 0;
    while (i < n && state_ != State::kDone && state_ != State::kError) {
      switch (state_) {
        case State::kHeaders: {
          // Accumulate until the blank line.
          size_t take = n - i;
          size_t old = line_.size();
          line_.append(data + i, take);
          size_t end = line_.find("\r\n\r\n", old >= 3 ? old - 3 : 0);
          if (end == std::string::npos) {
            if (line_.size() > 65536) state_ = State::kError;
            i += take;
            break;
          }
          size_t used = end + 4 - old;
          i += used;
          std::string head = line_.substr(0, end + 2);
          line_.clear();
          ParseHead(head);
          break;
        }
        case State::kBodyLength: {
          size_t take = std::min<uint64_t>(remaining_, n - i);
          Body(data + i, take);
          i += take;
          remaining_ -= take;
          if (remaining_ == 0) state_ = State::kDone;
          break;
        }
        case State::kBodyToClose:
          Body(data + i, n - i);
          i = n;
          break;
        case State::kChunkSize:
        case State::kChunkDataEnd:
        case State::kTrailers: {
          char c = data[i++];
          line_.push_back(c);
          if (line_.size() > 4096) {
            state_ = State::kError;
            break;
          }
          if (c != '\n') break;
          std::string line = line_;
          line_.clear();
          while (!line.empty() && (line.back() == '\n' || line.back() == '\r'))
            line.pop_back();
          if (state_ == State::kChunkDataEnd) {
            state_ = line.empty() ? State::kChunkSize : State::kError;
          } else if (state_ == State::kTrailers) {
            if (line.empty()) state_ = State::kDone;
          } else {
            char* endp = nullptr;
            uint64_t size = std::strtoull(line.c_str(), &endp, 16);
            if (endp == line.c_str()) {
              state_ = State::kError;
            } else if (size == 0) {
              state_ = State::kTrailers;
            } else {
              remaining_ = size;
              state_ = State::kChunkData;
            }
          }
          break;
        }
        case State::kChunkData: {
          size_t take = std::min<uint64_t>(remaining_, n - i);
          Body(data + i, take);
          i += take;
          remaining_ -= take;
          if (remaining_ == 0) state_ = State::kChunkDataEnd;
          break;
        }
        default:
          break;
      }
    }
    return i;
  }

  void FeedEof() {
    if (state_ == State::kBodyToClose) {
      state_ = State::kDone;
    } else if (state_ != State::kDone) {
      state_ = State::kError;
    }
  }

  bool done() const { return state_ == State::kDone; }
  bool error() const { return state_ == State::kError; }
  bool headers_done() const { return status_ != 0; }
  bool body_started() const { return body_bytes_ > 0; }
  int status() const { return status_; }
  bool keep_alive() const { return keep_alive_; }
  bool chunked() const { return chunked_; }
  uint64_t body_bytes() const { return body_bytes_; }
  // Up to the last 64 bytes of the body (for "[DONE]" checks).
  const std::string& tail() const { return tail_; }
  // The first kCaptureMax bytes of the body (for error messages).
  const std::string& head_of_body() const { return body_head_; }

 private:
  static constexpr size_t kCaptureMax = 512;

  static std::string Lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(c));
    return s;
  }

  void ParseHead(const std::string& head) {
    // Status line: HTTP/1.1 200 OK
    size_t eol = head.find("\r\n");
    std::string status_line = head.substr(0, eol);
    if (status_line.compare(0, 5, "HTTP/") != 0) {
      state_ = State::kError;
      return;
    }
    if (status_line.compare(0, 8, "HTTP/1.0") == 0) keep_alive_ = false;
    size_t sp = status_line.find(' ');
    status_ = sp == std::string::npos ? 0 : std::atoi(&status_line[sp + 1]);
    if (status_ <= 0) {
      state_ = State::kError;
      return;
    }
    bool has_length = false;
    size_t pos = eol + 2;
    while (pos < head.size()) {
      size_t next = head.find("\r\n", pos);
      if (next == std::string::npos) next = head.size();
      std::string line = head.substr(pos, next - pos);
      pos = next + 2;
      size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string name = Lower(line.substr(0, colon));
      size_t v = colon + 1;
      while (v < line.size() && (line[v] == ' ' || line[v] == '\t')) ++v;
      std::string value = Lower(line.substr(v));
      if (name == "content-length") {
        has_length = true;
        remaining_ = std::strtoull(value.c_str(), nullptr, 10);
      } else if (name == "transfer-encoding") {
        chunked_ = value.find("chunked") != std::string::npos;
      } else if (name == "connection") {
        if (value.find("close") != std::string::npos) keep_alive_ = false;
        if (value.find("keep-alive") != std::string::npos) keep_alive_ = true;
      }
    }
    if (status_ < 200) {  // 1xx: informational, a real response follows.
      status_ = 0;
      state_ = State::kHeaders;
      return;
    }
    if (status_ == 204 || status_ == 304) {
      state_ = State::kDone;
    } else if (chunked_) {
      state_ = State::kChunkSize;
    } else if (has_length) {
      state_ = remaining_ == 0 ? State::kDone : State::kBodyLength;
    } else {
      keep_alive_ = false;
      state_ = State::kBodyToClose;
    }
  }

  void Body(const char* data, size_t n) {
    if (n == 0) return;
    body_bytes_ += n;
    if (body_head_.size() < kCaptureMax) {
      body_head_.append(data, std::min(n, kCaptureMax - body_head_.size()));
    }
    tail_.append(data, n);
    if (tail_.size() > 64) tail_.erase(0, tail_.size() - 64);
  }

  State state_ = State::kHeaders;
  std::string line_;
  int status_ = 0;
  bool keep_alive_ = true;
  bool chunked_ = false;
  uint64_t remaining_ = 0;
  uint64_t body_bytes_ = 0;
  std::string tail_;
  std::string body_head_;
};

}  // namespace bench

#endif  // AIGW_BENCH_HTTP_CLIENT_H_
