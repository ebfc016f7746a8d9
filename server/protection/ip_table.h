// Open connections and concurrent streams per client, with caps: the
// per-IP counters every accept and every request goes through. Sharded so
// that threads accepting at once rarely share a lock; an IP's entry is
// dropped when both its counts reach zero, so the table holds only
// clients with something open.
//
// Clients are counted by IpAddress::ClientKey() (an IPv6 client by its
// /64). Kept across config reloads (SetLimits applies new caps to the next
// admission; nothing already open is closed).
#ifndef AIGW_SERVER_PROTECTION_IP_TABLE_H_
#define AIGW_SERVER_PROTECTION_IP_TABLE_H_

#include <array>
#include <atomic>
#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "server/protection/ip_address.h"
#include "server/protection/reject_reason.h"

namespace aigw {

// The answer to "may this client open one more?".
struct Admission {
  bool ok = true;
  RejectReason reason = RejectReason::kMaxConnections;  // when !ok
  explicit operator bool() const { return ok; }
};

class IpTable {
 public:
  // 0 = no cap.
  struct Limits {
    int64_t max_connections = 20000;  // all clients together
    int64_t max_connections_per_ip = 256;
    int64_t max_streams_per_ip = 128;
  };

  IpTable() : IpTable(Limits{}) {}
  explicit IpTable(const Limits& limits);
  IpTable(const IpTable&) = delete;
  IpTable& operator=(const IpTable&) = delete;

  void SetLimits(const Limits& limits);

  // A new connection from `peer`. A trusted proxy's connections carry many
  // clients: they count toward max_connections, not max_connections_per_ip
  // (its clients' streams are counted by their own address instead). A
  // refused connection counts nothing; an admitted one must be closed once.
  Admission TryOpenConnection(const IpAddress& peer,
                              bool trusted_proxy = false);
  void CloseConnection(const IpAddress& peer);

  // A request or stream in flight for `client` (the address ClientAddress
  // resolved; an HTTP/2 connection carries many at once).
  Admission TryOpenStream(const IpAddress& client);
  void CloseStream(const IpAddress& client);

  // Closes what it holds when destroyed. Movable; the table must outlive it.
  class Slot {
   public:
    Slot() = default;
    Slot(Slot&& other) noexcept { *this = std::move(other); }
    Slot& operator=(Slot&& other) noexcept;
    ~Slot() { Release(); }

    bool ok() const { return table_ != nullptr; }
    explicit operator bool() const { return ok(); }
    // Why it was refused (meaningful when !ok()).
    RejectReason reason() const { return reason_; }
    void Release();

   private:
    friend class IpTable;
    enum class Kind { kConnection, kStream };
    IpTable* table_ = nullptr;
    IpAddress ip_;
    Kind kind_ = Kind::kConnection;
    RejectReason reason_ = RejectReason::kMaxConnections;
  };
  Slot OpenConnection(const IpAddress& peer, bool trusted_proxy = false);
  Slot OpenStream(const IpAddress& client);

  int64_t connections() const {
    return connections_.load(std::memory_order_relaxed);
  }
  int64_t streams() const { return streams_.load(std::memory_order_relaxed); }
  int64_t ConnectionsOf(const IpAddress& ip) const;
  int64_t StreamsOf(const IpAddress& ip) const;
  size_t tracked_clients() const;  // entries in the table

 private:
  struct Counts {
    int64_t connections = 0;
    int64_t streams = 0;
  };
  struct Shard {
    mutable absl::Mutex mu;
    absl::flat_hash_map<IpAddress, Counts> counts ABSL_GUARDED_BY(mu);
  };
  static constexpr size_t kShards = 64;

  Shard& ShardOf(const IpAddress& key);
  const Shard& ShardOf(const IpAddress& key) const;

  std::atomic<int64_t> max_connections_;
  std::atomic<int64_t> max_connections_per_ip_;
  std::atomic<int64_t> max_streams_per_ip_;
  std::atomic<int64_t> connections_{0};
  std::atomic<int64_t> streams_{0};
  std::array<Shard, kShards> shards_;
};

}  // namespace aigw

#endif  // AIGW_SERVER_PROTECTION_IP_TABLE_H_
