#include "server/client_watch.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <cstdlib>
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

// The open TCP socket whose peer and local ports match, or -1.
int FindSocket(const std::string& remote_addr, int remote_port,
               int local_port) {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  int found = -1;
  while (dirent* entry = readdir(dir)) {
    int fd = std::atoi(entry->d_name);
    if (fd <= 2) continue;
    sockaddr_storage peer{};
    socklen_t len = sizeof(peer);
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) != 0 ||
        PortOf(peer) != remote_port) {
      continue;
    }
    sockaddr_storage local{};
    len = sizeof(local);
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) != 0 ||
        PortOf(local) != local_port || IpOf(peer) != remote_addr) {
      continue;
    }
    found = fd;
    break;
  }
  closedir(dir);
  return found;
}

}  // namespace

ClientWatch::ClientWatch() : thread_([this] { Loop(); }) {}

ClientWatch::~ClientWatch() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  thread_.join();
}

std::unique_ptr<ClientWatch::Registration> ClientWatch::Watch(
    const httplib::Request& req, std::function<void()> on_gone) {
  absl::MutexLock lock(&mu_);
  uint64_t id = next_id_++;
  Entry& entry = entries_[id];
  entry.remote_addr = req.remote_addr;
  entry.remote_port = req.remote_port;
  entry.local_port = req.local_port;
  entry.since = absl::Now();
  entry.on_gone = std::move(on_gone);
  return std::make_unique<Registration>(this, id);
}

void ClientWatch::Unwatch(uint64_t id) {
  absl::MutexLock lock(&mu_);
  entries_.erase(id);
}

void ClientWatch::Loop() {
  absl::MutexLock lock(&mu_);
  while (!stop_) {
    mu_.AwaitWithTimeout(absl::Condition(&stop_), kPollInterval);
    if (stop_) break;
    absl::Time now = absl::Now();
    std::vector<pollfd> fds;
    std::vector<uint64_t> ids;
    for (auto& [id, entry] : entries_) {
      if (now - entry.since < kGracePeriod || !entry.on_gone) continue;
      if (!entry.searched) {
        entry.searched = true;
        entry.fd =
            FindSocket(entry.remote_addr, entry.remote_port, entry.local_port);
      }
      if (entry.fd < 0) continue;
      fds.push_back({entry.fd, POLLRDHUP, 0});
      ids.push_back(id);
    }
    if (fds.empty()) continue;
    // The socket stays open while its entry exists: the handler that owns
    // the connection unregisters before httplib closes it.
    poll(fds.data(), fds.size(), 0);
    std::vector<std::function<void()>> gone;
    for (size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].revents & (POLLRDHUP | POLLHUP | POLLERR)) {
        gone.push_back(std::move(entries_[ids[i]].on_gone));
        entries_[ids[i]].on_gone = nullptr;
      }
    }
    mu_.Unlock();
    for (auto& callback : gone) callback();
    mu_.Lock();
  }
}

}  // namespace aigw
