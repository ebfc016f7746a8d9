// The shared limit store (limits.store: redis): every replica draws on one
// budget kept in Redis. The windows and leases mean exactly what they mean
// in LocalLimitStore; each call is one Lua script run on the server, so a
// reservation is atomic across replicas and the clock is Redis's own (TIME),
// not the replica's.
//
// Layout, each key behind `key_prefix` (the caller's "{consumer}:..." hash
// tag is kept, so one consumer's keys share a Redis Cluster slot):
//   window: a hash, field = bucket index (ms / bucket width), value = the
//     amount; field "w" = the window length. Fields are deleted as they
//     leave the window and the key expires a window and a bucket after its
//     last write.
//   concurrency: a sorted set, member = lease id, score = expiry (ms); the
//     key expires with its last lease.
//
// A down Redis costs requests nothing: after a connection fails, calls fail
// fast with Unavailable for a short back-off before one of them tries again.
// The process must ignore SIGPIPE (server/main.cc does): hiredis writes to
// sockets Redis may have closed.
#ifndef AIGW_SERVER_FILTERS_RATE_LIMIT_REDIS_STORE_H_
#define AIGW_SERVER_FILTERS_RATE_LIMIT_REDIS_STORE_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/config.h"
#include "server/filters/rate_limit/limit_store.h"

struct redisContext;
struct redisReply;

namespace aigw {

class RedisLimitStore : public LimitStore {
 public:
  explicit RedisLimitStore(const RedisConfig& config);
  ~RedisLimitStore() override;
  RedisLimitStore(const RedisLimitStore&) = delete;
  RedisLimitStore& operator=(const RedisLimitStore&) = delete;

  absl::StatusOr<ReserveResult> Reserve(const ReserveRequest& request) override;
  absl::Status Settle(const SettleRequest& request) override;
  absl::Status RenewLease(const ConcurrencyLimit& lease) override;

  // For metrics: whether the last call failed, and how many calls have.
  bool degraded() const { return degraded_.load(std::memory_order_relaxed); }
  uint64_t errors() const { return errors_.load(std::memory_order_relaxed); }

 private:
  enum Script { kReserve, kSettle, kRenew, kScriptCount };
  struct ContextFree {
    void operator()(redisContext* context) const;
  };
  struct ReplyFree {
    void operator()(redisReply* reply) const;
  };
  using Connection = std::unique_ptr<redisContext, ContextFree>;
  using Reply = std::unique_ptr<redisReply, ReplyFree>;

  // One command, binary safe. Null when the connection failed
  // (context->err says why).
  static Reply Command(redisContext* context,
                       const std::vector<std::string>& argv);
  // Runs a script in one round trip (EVALSHA; EVAL when the server does not
  // know it). An error reply is an error, never a returned Reply.
  absl::StatusOr<Reply> Run(Script script, const std::vector<std::string>& keys,
                            const std::vector<std::string>& args);
  absl::StatusOr<Connection> Acquire();
  absl::StatusOr<Connection> Connect();
  void Release(Connection connection);
  // The connection is gone (or never came): back off, drop the idle ones.
  absl::Status ConnectionFailed(absl::string_view what, absl::string_view why);
  absl::Status Unavailable(absl::string_view what, absl::string_view why) const;
  absl::StatusOr<ReserveResult> ParseReserve(const ReserveRequest& request,
                                             absl::StatusOr<Reply> reply) const;
  // Counts the outcome of a public call for degraded() and errors().
  void Count(const absl::Status& status);
  std::string Key(const std::string& key) const { return prefix_ + key; }

  std::string address_;  // as configured, for messages
  std::string host_;
  int port_ = 0;
  absl::Status address_error_;
  const std::string password_;
  const int db_;
  const std::string prefix_;
  const absl::Duration timeout_;

  absl::Mutex mu_;
  std::vector<Connection> idle_ ABSL_GUARDED_BY(mu_);
  bool down_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time retry_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  std::string last_error_ ABSL_GUARDED_BY(mu_);
  // SCRIPT LOAD's answer for each script; empty until the first call.
  std::array<std::string, kScriptCount> sha_ ABSL_GUARDED_BY(mu_);

  std::atomic<bool> degraded_{false};
  std::atomic<uint64_t> errors_{0};
};

}  // namespace aigw

#endif  // AIGW_SERVER_FILTERS_RATE_LIMIT_REDIS_STORE_H_
