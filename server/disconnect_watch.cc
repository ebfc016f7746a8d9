#include "server/disconnect_watch.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <cstdlib>
#include <tuple>
#include <vector>

namespace aigw {
namespace {

constexpr absl::Duration kGracePeriod = absl::Milliseconds(150);
constexpr absl::Duration kPollInterval = absl::Milliseconds(100);

int PortOf(const sockaddr_storage& addr) {
  if (addr.ss_family == AF_INET) {
    return ntohs(reinterpret_cast<const sockaddr_in&>(addr).sin_port);
  }
  if (addr.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6&>(addr).sin6_port);
  }
  return -1;
}

std::string IpOf(const sockaddr_storage& addr) {
  char buf[INET6_ADDRSTRLEN] = {0};
  if (addr.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(addr).sin_addr,
              buf, sizeof(buf));
  } else if (addr.ss_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6&>(addr).sin6_addr,
              buf, sizeof(buf));
  }
  return buf;
}

using ConnectionKey = std::tuple<std::string, int, int>;  // peer ip, ports

// Every open TCP socket of this process by (peer ip, peer port, local port).
std::map<ConnectionKey, int> ListSockets() {
  std::map<ConnectionKey, int> sockets;
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return sockets;
  while (dirent* entry = readdir(dir)) {
    int fd = std::atoi(entry->d_name);
    if (fd <= 2) continue;
    sockaddr_storage peer{};
    socklen_t len = sizeof(peer);
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) != 0) {
      continue;
    }
    sockaddr_storage local{};
    len = sizeof(local);
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) != 0) {
      continue;
    }
    sockets[{IpOf(peer), PortOf(peer), PortOf(local)}] = fd;
  }
  closedir(dir);
  return sockets;
}

}  // namespace

DisconnectWatch::DisconnectWatch() : thread_([this] { Loop(); }) {}

DisconnectWatch::~DisconnectWatch() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  thread_.join();
}

std::unique_ptr<DisconnectWatch::Registration> DisconnectWatch::WatchHttp(
    const httplib::Request& req, std::function<void()> on_gone) {
  Entry entry;
  entry.on_gone = std::move(on_gone);
  entry.remote_addr = req.remote_addr;
  entry.remote_port = req.remote_port;
  entry.local_port = req.local_port;
  return Add(std::move(entry));
}

std::unique_ptr<DisconnectWatch::Registration> DisconnectWatch::WatchProbe(
    std::function<bool()> is_gone, std::function<void()> on_gone) {
  Entry entry;
  entry.on_gone = std::move(on_gone);
  entry.is_gone = std::move(is_gone);
  return Add(std::move(entry));
}

std::unique_ptr<DisconnectWatch::Registration> DisconnectWatch::Add(
    Entry entry) {
  entry.since = absl::Now();
  absl::MutexLock lock(&mu_);
  uint64_t id = next_id_++;
  entries_.emplace(id, std::move(entry));
  return std::make_unique<Registration>(this, id);
}

void DisconnectWatch::Unwatch(uint64_t id) {
  absl::MutexLock lock(&mu_);
  entries_.erase(id);
}

void DisconnectWatch::FindSockets(absl::Time now) {
  bool wanted = false;
  for (const auto& [id, entry] : entries_) {
    if (!entry.is_gone && !entry.searched &&
        now - entry.since >= kGracePeriod) {
      wanted = true;
      break;
    }
  }
  if (!wanted) return;
  // One scan of the process's sockets serves every request found this turn;
  // it costs two syscalls per descriptor, so requests are not held up by it.
  mu_.Unlock();
  std::map<ConnectionKey, int> sockets = ListSockets();
  mu_.Lock();
  for (auto& [id, entry] : entries_) {
    if (entry.is_gone || entry.searched || now - entry.since < kGracePeriod) {
      continue;
    }
    entry.searched = true;
    auto it =
        sockets.find({entry.remote_addr, entry.remote_port, entry.local_port});
    if (it != sockets.end()) entry.fd = it->second;
  }
}

void DisconnectWatch::Loop() {
  absl::MutexLock lock(&mu_);
  while (!stop_) {
    mu_.AwaitWithTimeout(absl::Condition(&stop_), kPollInterval);
    if (stop_) break;
    absl::Time now = absl::Now();
    FindSockets(now);
    std::vector<uint64_t> gone;
    std::vector<pollfd> fds;
    std::vector<uint64_t> fd_ids;
    for (auto& [id, entry] : entries_) {
      if (!entry.on_gone || now - entry.since < kGracePeriod) continue;
      if (entry.is_gone) {
        if (entry.is_gone()) gone.push_back(id);
      } else if (entry.fd >= 0) {
        fds.push_back({entry.fd, POLLRDHUP, 0});
        fd_ids.push_back(id);
      }
    }
    // A watched socket stays open while its entry exists: the handler that
    // owns the connection unregisters before cpp-httplib closes it.
    if (!fds.empty()) poll(fds.data(), fds.size(), 0);
    for (size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].revents & (POLLRDHUP | POLLHUP | POLLERR)) {
        gone.push_back(fd_ids[i]);
      }
    }
    if (gone.empty()) continue;
    std::vector<std::function<void()>> callbacks;
    for (uint64_t id : gone) {
      callbacks.push_back(std::move(entries_[id].on_gone));
      entries_[id].on_gone = nullptr;
    }
    mu_.Unlock();
    for (auto& callback : callbacks) callback();
    mu_.Lock();
  }
}

}  // namespace aigw
