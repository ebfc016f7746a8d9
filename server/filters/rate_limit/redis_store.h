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
// Failures. A down Redis costs requests nothing: after a connect fails (or
// three calls in a row fail), calls fail fast with Unavailable for a short
// back-off before one of them probes again. One bad call does not start it:
// a call that times out discards only its own connection, and a pooled
// connection that turns out dead (EOF or reset: Redis restarted, or a proxy
// or NAT closed it while idle) is retried once on a fresh connection, since
// the server never read the command. Pooled connections use TCP keepalive.
//
// A call that failed after its command was sent may still run on the
// server later (a timeout only ends our wait; a timed-out reservation's
// connection is reset, which often, not always, keeps it from running).
// What that could leave behind is undone by compensations queued in the
// store and sent after a later call succeeds, kFlushBatch at a time in one
// pipelined round trip on that call's connection, after its reply (so
// after anything Redis still had to read; the call pays that one round
// trip, and a call in between may still see a phantom lease):
//   - a failed Reserve that asked for a lease: a ZREM of that lease id
//     (idempotent; harmless if the reservation never ran). The tokens such
//     a reservation may have taken cannot be told apart and stay counted
//     until their bucket leaves the window: the strict side.
//   - a failed Settle: its lease's ZREM. Its token deltas are retried too
//     only when the command certainly never reached Redis (no connection,
//     the back-off, a write that did not go out whole); otherwise they may
//     have been applied and are dropped rather than risk applying them
//     twice (a dropped refund over-counts a little until its bucket leaves).
// The queue is bounded (kMaxPending, the oldest dropped) and lives in this
// process only; a lease it loses still expires by itself.
//
// A concurrency denial's retry_after_ms is a fixed 1000 ms, as in
// LocalLimitStore: a lease ends when some request does, which no store
// can foresee.
//
// The process must ignore SIGPIPE (server/main.cc does): hiredis writes to
// sockets Redis may have closed.
#ifndef AIGW_SERVER_FILTERS_RATE_LIMIT_REDIS_STORE_H_
#define AIGW_SERVER_FILTERS_RATE_LIMIT_REDIS_STORE_H_

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
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
  // For metrics and tests: compensations waiting to be sent, connections
  // waiting in the pool.
  size_t pending() const;
  size_t idle_connections() const;

  // The most compensations kept, and how many one successful call sends.
  static constexpr size_t kMaxPending = 10000;
  static constexpr size_t kFlushBatch = 16;

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
  struct Acquired {
    Connection connection;
    bool pooled = false;  // taken from idle_, not connected for this call
  };
  // A command to send after a later call succeeds.
  struct Pending {
    std::vector<std::string> command;  // a ZREM, or an EVAL of a settle
    // What to send again if `command` fails after it may have run: the
    // ZREM itself, a settle's ZREM, or nothing.
    std::vector<std::string> retry;
  };

  // One command, binary safe. Null when the connection failed
  // (context->err says why; *error_number is errno just after).
  static Reply Command(redisContext* context,
                       const std::vector<std::string>& argv,
                       int* error_number = nullptr);
  // Runs a script in one round trip (EVALSHA; EVAL when the server does not
  // know it). An error reply is an error, never a returned Reply. On
  // failure *sent says whether the script may have reached Redis.
  absl::StatusOr<Reply> Run(Script script, const std::vector<std::string>& keys,
                            const std::vector<std::string>& args, bool* sent);
  // A pooled connection, or a new one. `retry`: the same call's second
  // attempt, always on a new connection and not held back by the back-off.
  absl::StatusOr<Acquired> Acquire(bool retry);
  absl::StatusOr<Connection> Connect();
  // After a reply: back in the pool, the back-off over.
  void Release(Connection connection);
  void Answered() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A connect failed: back off, drop the idle connections.
  absl::Status ConnectionFailed(absl::string_view what, absl::string_view why);
  // A call failed on its connection: that connection is dropped (reset,
  // when `abort`), and the third such failure in a row backs off.
  absl::Status CallFailed(Connection connection, bool timed_out, bool abort,
                          absl::string_view what);
  void BackOff(absl::string_view what, absl::string_view why)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status Unavailable(absl::string_view what, absl::string_view why) const;
  absl::StatusOr<ReserveResult> ParseReserve(const ReserveRequest& request,
                                             absl::StatusOr<Reply> reply) const;
  void Enqueue(Pending pending);
  // Sends up to kFlushBatch compensations on a connection that just
  // answered, pipelined. False when the connection failed.
  bool Flush(redisContext* context);
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

  mutable absl::Mutex mu_;
  std::vector<Connection> idle_ ABSL_GUARDED_BY(mu_);
  bool down_ ABSL_GUARDED_BY(mu_) = false;  // backing off or probing
  absl::Time retry_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  std::string last_error_ ABSL_GUARDED_BY(mu_);
  int failures_in_a_row_ ABSL_GUARDED_BY(mu_) = 0;
  // The last reply of any kind: timeouts right after one are a stall, not
  // an outage.
  absl::Time last_answer_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  // SCRIPT LOAD's answer for each script; empty until the first call.
  std::array<std::string, kScriptCount> sha_ ABSL_GUARDED_BY(mu_);
  std::deque<Pending> pending_ ABSL_GUARDED_BY(mu_);
  std::atomic<bool> has_pending_{false};

  std::atomic<bool> degraded_{false};
  std::atomic<uint64_t> errors_{0};
};

}  // namespace aigw

#endif  // AIGW_SERVER_FILTERS_RATE_LIMIT_REDIS_STORE_H_
