#include "server/protection/ip_table.h"

#include "absl/hash/hash.h"

namespace aigw {
namespace {

static_assert(sizeof(size_t) == 8, "shards are the hash's top 6 bits");
// The hash's top bits: each shard's map uses the low ones.
size_t ShardIndex(const IpAddress& key) { return absl::HashOf(key) >> 58; }

}  // namespace

IpTable::IpTable(const Limits& limits)
    : max_connections_(limits.max_connections),
      max_connections_per_ip_(limits.max_connections_per_ip),
      max_streams_per_ip_(limits.max_streams_per_ip) {}

void IpTable::SetLimits(const Limits& limits) {
  max_connections_.store(limits.max_connections, std::memory_order_relaxed);
  max_connections_per_ip_.store(limits.max_connections_per_ip,
                                std::memory_order_relaxed);
  max_streams_per_ip_.store(limits.max_streams_per_ip,
                            std::memory_order_relaxed);
}

IpTable::Shard& IpTable::ShardOf(const IpAddress& key) {
  return shards_[ShardIndex(key)];
}

const IpTable::Shard& IpTable::ShardOf(const IpAddress& key) const {
  return shards_[ShardIndex(key)];
}

Admission IpTable::TryOpenConnection(const IpAddress& peer,
                                     bool trusted_proxy) {
  // The global count first, without a lock: a flood is refused here
  // before it touches a shard.
  int64_t cap = max_connections_.load(std::memory_order_relaxed);
  if (connections_.fetch_add(1, std::memory_order_relaxed) >= cap && cap > 0) {
    connections_.fetch_sub(1, std::memory_order_relaxed);
    return {false, RejectReason::kMaxConnections};
  }
  IpAddress key = peer.ClientKey();
  int64_t per_ip =
      trusted_proxy ? 0
                    : max_connections_per_ip_.load(std::memory_order_relaxed);
  Shard& shard = ShardOf(key);
  {
    absl::MutexLock lock(&shard.mu);
    // A new entry starts at 0 and every cap is at least 1, so a refusal
    // never leaves an empty entry behind.
    Counts& counts = shard.counts[key];
    if (per_ip <= 0 || counts.connections < per_ip) {
      counts.connections++;
      return {};
    }
  }
  connections_.fetch_sub(1, std::memory_order_relaxed);
  return {false, RejectReason::kMaxConnectionsPerIp};
}

void IpTable::CloseConnection(const IpAddress& peer) {
  IpAddress key = peer.ClientKey();
  Shard& shard = ShardOf(key);
  absl::MutexLock lock(&shard.mu);
  auto it = shard.counts.find(key);
  if (it == shard.counts.end() || it->second.connections == 0) return;
  connections_.fetch_sub(1, std::memory_order_relaxed);
  if (--it->second.connections == 0 && it->second.streams == 0) {
    shard.counts.erase(it);
  }
}

Admission IpTable::TryOpenStream(const IpAddress& client) {
  IpAddress key = client.ClientKey();
  int64_t per_ip = max_streams_per_ip_.load(std::memory_order_relaxed);
  Shard& shard = ShardOf(key);
  absl::MutexLock lock(&shard.mu);
  Counts& counts = shard.counts[key];
  if (per_ip > 0 && counts.streams >= per_ip) {
    return {false, RejectReason::kMaxStreamsPerIp};
  }
  counts.streams++;
  streams_.fetch_add(1, std::memory_order_relaxed);
  return {};
}

void IpTable::CloseStream(const IpAddress& client) {
  IpAddress key = client.ClientKey();
  Shard& shard = ShardOf(key);
  absl::MutexLock lock(&shard.mu);
  auto it = shard.counts.find(key);
  if (it == shard.counts.end() || it->second.streams == 0) return;
  streams_.fetch_sub(1, std::memory_order_relaxed);
  if (--it->second.streams == 0 && it->second.connections == 0) {
    shard.counts.erase(it);
  }
}

IpTable::Slot& IpTable::Slot::operator=(Slot&& other) noexcept {
  if (this != &other) {
    Release();
    table_ = other.table_;
    ip_ = other.ip_;
    kind_ = other.kind_;
    reason_ = other.reason_;
    other.table_ = nullptr;
  }
  return *this;
}

void IpTable::Slot::Release() {
  if (table_ == nullptr) return;
  if (kind_ == Kind::kConnection) {
    table_->CloseConnection(ip_);
  } else {
    table_->CloseStream(ip_);
  }
  table_ = nullptr;
}

IpTable::Slot IpTable::OpenConnection(const IpAddress& peer,
                                      bool trusted_proxy) {
  Slot slot;
  Admission admission = TryOpenConnection(peer, trusted_proxy);
  slot.kind_ = Slot::Kind::kConnection;
  slot.ip_ = peer;
  slot.reason_ = admission.reason;
  if (admission.ok) slot.table_ = this;
  return slot;
}

IpTable::Slot IpTable::OpenStream(const IpAddress& client) {
  Slot slot;
  Admission admission = TryOpenStream(client);
  slot.kind_ = Slot::Kind::kStream;
  slot.ip_ = client;
  slot.reason_ = admission.reason;
  if (admission.ok) slot.table_ = this;
  return slot;
}

int64_t IpTable::ConnectionsOf(const IpAddress& ip) const {
  IpAddress key = ip.ClientKey();
  const Shard& shard = ShardOf(key);
  absl::MutexLock lock(&shard.mu);
  auto it = shard.counts.find(key);
  return it == shard.counts.end() ? 0 : it->second.connections;
}

int64_t IpTable::StreamsOf(const IpAddress& ip) const {
  IpAddress key = ip.ClientKey();
  const Shard& shard = ShardOf(key);
  absl::MutexLock lock(&shard.mu);
  auto it = shard.counts.find(key);
  return it == shard.counts.end() ? 0 : it->second.streams;
}

size_t IpTable::tracked_clients() const {
  size_t total = 0;
  for (const Shard& shard : shards_) {
    absl::MutexLock lock(&shard.mu);
    total += shard.counts.size();
  }
  return total;
}

}  // namespace aigw
