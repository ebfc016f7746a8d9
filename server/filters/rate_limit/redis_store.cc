#include "server/filters/rate_limit/redis_store.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/string_view.h"

namespace aigw {
namespace {

// After a connect fails, or kFailuresInARow calls have failed in a row,
// calls fail fast this long before one tries again: a down Redis costs
// requests nothing. One slow reply is not a down Redis.
constexpr absl::Duration kBackoff = absl::Milliseconds(500);
constexpr int kFailuresInARow = 3;
constexpr size_t kMaxIdle = 64;

// The scripts below are LocalLimitStore's Reserve, Settle and RenewLease
// line for line; keep them in step (redis_store_test cross-checks the two).
// Numbers are Lua doubles, exact for millisecond times and any real amount;
// int() formats one for a command without an exponent.

// KEYS: the windows, then the concurrency key when ARGV[2] == '1'.
// ARGV: #windows, has_lease, limit/window_ms/amount per window, then the
// lease's limit/id/lease_ms.
// Returns {now, allowed, denied, retry_after, too_large,
// remaining/reset per window}.
constexpr char kReserveScript[] = R"lua(
local B = 12
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local function int(x) return string.format('%d', x) end

-- The buckets still inside the window, by index. The ones that left are
-- deleted; a window whose length changed (a reload) starts afresh.
local function live(key, window_ms, oldest)
  local fields = redis.call('HGETALL', key)
  local buckets, stale = {}, {}
  for j = 1, #fields, 2 do
    local index = tonumber(fields[j])
    if fields[j] == 'w' then
      if tonumber(fields[j + 1]) ~= window_ms then
        redis.call('DEL', key)
        return {}
      end
    elseif index ~= nil and index < oldest then
      stale[#stale + 1] = fields[j]
    elseif index ~= nil then
      buckets[index] = tonumber(fields[j + 1])
    end
  end
  if #stale > 0 then redis.call('HDEL', key, unpack(stale)) end
  return buckets
end

local n = tonumber(ARGV[1])
local allowed, denied, retry, too_large = true, -1, 0, 0
local used, remaining, reset = {}, {}, {}
for i = 1, n do
  local limit = tonumber(ARGV[3 * i])
  local window_ms = tonumber(ARGV[3 * i + 1])
  local amount = tonumber(ARGV[3 * i + 2])
  local width = math.floor(window_ms / B)
  local current = math.floor(now / width)
  local oldest = current - B + 1
  local buckets = live(KEYS[i], window_ms, oldest)
  local sum, newest = 0, -1
  for index = oldest, current do
    local v = buckets[index]
    if v ~= nil and v ~= 0 then
      sum = sum + v
      newest = index
    end
  end
  used[i] = sum
  remaining[i] = math.max(0, limit - sum)
  reset[i] = newest < 0 and 0 or (newest + B) * width - now
  if sum + amount > limit then
    local after = window_ms
    local big = amount > limit
    if not big then
      -- Until enough usage has left, oldest first.
      local need = sum + amount - limit
      for index = oldest, current do
        local v = buckets[index]
        if v ~= nil then
          need = need - v
          if need <= 0 then
            after = (index + B) * width - now
            break
          end
        end
      end
    end
    -- A window the request can never fit decides.
    local b = big and 1 or 0
    if allowed or (b == 1 and too_large == 0) or
        (b == too_large and after > retry) then
      denied, retry, too_large = i - 1, after, big and 1 or 0
    end
    allowed = false
  end
end

local lease_key = KEYS[n + 1]
local lease = 3 * (n + 1)
if allowed and ARGV[2] == '1' then
  redis.call('ZREMRANGEBYSCORE', lease_key, '-inf', int(now))
  if redis.call('ZCARD', lease_key) >= tonumber(ARGV[lease]) then
    allowed, denied, retry = false, n, 1000
  end
end

if allowed then
  for i = 1, n do
    local limit = tonumber(ARGV[3 * i])
    local window_ms = tonumber(ARGV[3 * i + 1])
    local amount = tonumber(ARGV[3 * i + 2])
    local width = math.floor(window_ms / B)
    local current = math.floor(now / width)
    redis.call('HINCRBY', KEYS[i], int(current), int(amount))
    redis.call('HSET', KEYS[i], 'w', int(window_ms))
    redis.call('PEXPIRE', KEYS[i], int(window_ms + width))
    remaining[i] = math.max(0, limit - used[i] - amount)
    if amount > 0 then reset[i] = (current + B) * width - now end
  end
  if ARGV[2] == '1' then
    redis.call('ZADD', lease_key,
               int(now + tonumber(ARGV[lease + 2])), ARGV[lease + 1])
    local last = redis.call('ZRANGE', lease_key, '-1', '-1', 'WITHSCORES')
    redis.call('PEXPIRE', lease_key, int(tonumber(last[2]) - now))
  end
end

local out = {now, allowed and 1 or 0, denied, retry, too_large}
for i = 1, n do
  out[#out + 1] = remaining[i]
  out[#out + 1] = reset[i]
end
return out
)lua";

// KEYS: the windows to adjust, then the lease key when ARGV[3] == '1'.
// ARGV: #windows, reserved_at_ms, has_release, lease id, then
// window_ms/delta per window.
constexpr char kSettleScript[] = R"lua(
local B = 12
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local function int(x) return string.format('%d', x) end

local n = tonumber(ARGV[1])
local reserved_at = tonumber(ARGV[2])
for i = 1, n do
  local key = KEYS[i]
  local window_ms = tonumber(ARGV[3 + 2 * i])
  local delta = tonumber(ARGV[4 + 2 * i])
  if delta ~= 0 then
    local width = math.floor(window_ms / B)
    local current = math.floor(now / width)
    local reserved = math.floor(reserved_at / width)
    local w = redis.call('HGET', key, 'w')
    if w and tonumber(w) ~= window_ms then redis.call('DEL', key) end
    -- Spent now: counted now. A refund: from the reservation's bucket,
    -- if it is still in the window.
    local at = false
    if delta > 0 then
      redis.call('HINCRBY', key, int(current), int(delta))
    elseif reserved > current - B then
      at = redis.call('HGET', key, int(reserved))
      if at then
        redis.call('HSET', key, int(reserved),
                   int(math.max(0, tonumber(at) + delta)))
      end
    end
    if at or delta > 0 then
      redis.call('HSET', key, 'w', int(window_ms))
      redis.call('PEXPIRE', key, int(window_ms + width))
    end
  end
end
if ARGV[3] == '1' then redis.call('ZREM', KEYS[n + 1], ARGV[4]) end
return now
)lua";

// KEYS: the lease key. ARGV: lease id, lease_ms. Only a lease still held
// is renewed.
constexpr char kRenewScript[] = R"lua(
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local function int(x) return string.format('%d', x) end

local key = KEYS[1]
if not redis.call('ZSCORE', key, ARGV[1]) then return 0 end
redis.call('ZADD', key, int(now + tonumber(ARGV[2])), ARGV[1])
local last = redis.call('ZRANGE', key, '-1', '-1', 'WITHSCORES')
redis.call('PEXPIRE', key, int(tonumber(last[2]) - now))
return 1
)lua";

constexpr const char* kScripts[] = {kReserveScript, kSettleScript,
                                    kRenewScript};
constexpr const char* kScriptNames[] = {"reserve", "settle", "renew lease"};

absl::string_view ReplyText(const redisReply& reply) {
  if (reply.str == nullptr) return "";
  return absl::string_view(reply.str, reply.len);
}

bool IsError(const redisReply& reply) {
  return reply.type == REDIS_REPLY_ERROR;
}

// The server closed the connection: EOF, or a reset (a write to it, or the
// read after one). On a pooled connection's first command this means the
// server never read it: it had closed the connection before.
bool ClosedByServer(const redisContext& context, int error_number) {
  return context.err == REDIS_ERR_EOF ||
         (context.err == REDIS_ERR_IO &&
          (error_number == ECONNRESET || error_number == EPIPE));
}

// The socket timeout ran out (hiredis reports a blocking read's EAGAIN).
bool TimedOut(const redisContext& context, int error_number) {
  return context.err == REDIS_ERR_IO &&
         (error_number == EAGAIN || error_number == EWOULDBLOCK);
}

// Whether the last command left whole: hiredis keeps what it did not write,
// and a command Redis did not receive whole never runs.
bool WrittenWhole(const redisContext& context) {
  return sdslen(context.obuf) == 0;
}

}  // namespace

void RedisLimitStore::ContextFree::operator()(redisContext* context) const {
  redisFree(context);
}

void RedisLimitStore::ReplyFree::operator()(redisReply* reply) const {
  freeReplyObject(reply);
}

RedisLimitStore::Reply RedisLimitStore::Command(
    redisContext* context, const std::vector<std::string>& argv,
    int* error_number) {
  std::vector<const char*> data;
  std::vector<size_t> sizes;
  data.reserve(argv.size());
  sizes.reserve(argv.size());
  for (const std::string& arg : argv) {
    data.push_back(arg.data());
    sizes.push_back(arg.size());
  }
  errno = 0;
  Reply reply(static_cast<redisReply*>(redisCommandArgv(
      context, static_cast<int>(argv.size()), data.data(), sizes.data())));
  if (error_number != nullptr) *error_number = errno;
  return reply;
}

RedisLimitStore::RedisLimitStore(const RedisConfig& config)
    : address_(config.address),
      password_(config.password),
      db_(config.db),
      prefix_(config.key_prefix),
      timeout_(config.timeout) {
  // host:port, the host maybe an [IPv6] literal; config validation already
  // checked the form, this only splits it.
  const size_t colon = address_.rfind(':');
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(absl::string_view(address_).substr(colon + 1),
                        &port_) ||
      port_ <= 0 || port_ > 65535) {
    address_error_ = absl::UnavailableError(
        absl::StrCat("redis address '", address_, "' is not host:port"));
    return;
  }
  host_ = address_.substr(0, colon);
  if (host_.size() > 2 && host_.front() == '[' && host_.back() == ']') {
    host_ = host_.substr(1, host_.size() - 2);
  }
}

RedisLimitStore::~RedisLimitStore() = default;

size_t RedisLimitStore::pending() const {
  absl::MutexLock lock(&mu_);
  return pending_.size();
}

size_t RedisLimitStore::idle_connections() const {
  absl::MutexLock lock(&mu_);
  return idle_.size();
}

absl::Status RedisLimitStore::Unavailable(absl::string_view what,
                                          absl::string_view why) const {
  std::string message = absl::StrCat("redis ", address_, ": ", what, ": ", why);
  // Redis does not echo a password today; make sure no message ever does.
  if (!password_.empty()) {
    absl::StrReplaceAll({{password_, "<password>"}}, &message);
  }
  return absl::UnavailableError(message);
}

void RedisLimitStore::BackOff(absl::string_view what, absl::string_view why) {
  down_ = true;
  retry_at_ = absl::Now() + kBackoff;
  last_error_ = absl::StrCat(what, ": ", why);
}

void RedisLimitStore::Answered() {
  down_ = false;
  retry_at_ = absl::InfinitePast();
  failures_in_a_row_ = 0;
  last_answer_ = absl::Now();
}

absl::Status RedisLimitStore::ConnectionFailed(absl::string_view what,
                                               absl::string_view why) {
  absl::Status status = Unavailable(what, why);
  std::vector<Connection> dropped;  // closed outside the lock
  absl::MutexLock lock(&mu_);
  ++failures_in_a_row_;
  BackOff(what, why);
  // A server that refuses connections has most likely closed these too.
  dropped.swap(idle_);
  return status;
}

absl::Status RedisLimitStore::CallFailed(Connection connection, bool timed_out,
                                         bool abort, absl::string_view what) {
  std::string why;
  if (timed_out) {
    why = absl::StrCat("no reply within ", absl::FormatDuration(timeout_));
  } else {
    why = connection->errstr;
  }
  if (timed_out && abort) {
    // Reset rather than closed: Linux then often drops the command unread
    // from the server's socket, rather than have it run late.
    const linger reset = {1, 0};
    setsockopt(connection->fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
  }
  connection.reset();
  absl::Status status = Unavailable(what, why);
  absl::MutexLock lock(&mu_);
  // Only this connection is dropped; the idle ones may be fine. A failed
  // probe, or a third failure in a row, backs off; but not timeouts while
  // Redis answered within the back-off (one stall times out every call in
  // flight at once, and is over when they fail).
  bool answering = timed_out && absl::Now() - last_answer_ < kBackoff;
  if (down_ || (++failures_in_a_row_ >= kFailuresInARow && !answering)) {
    BackOff(what, why);
  }
  return status;
}

void RedisLimitStore::Count(const absl::Status& status) {
  degraded_.store(!status.ok(), std::memory_order_relaxed);
  if (!status.ok()) errors_.fetch_add(1, std::memory_order_relaxed);
}

absl::StatusOr<RedisLimitStore::Connection> RedisLimitStore::Connect() {
  const timeval timeout = absl::ToTimeval(timeout_);
  Connection connection(redisConnectWithTimeout(host_.c_str(), port_, timeout));
  if (connection == nullptr) return ConnectionFailed("connect", "no memory");
  if (connection->err != 0) {
    return ConnectionFailed("connect", connection->errstr);
  }
  if (redisSetTimeout(connection.get(), timeout) != REDIS_OK) {
    return ConnectionFailed("connect", "cannot set the socket timeout");
  }
  // Keeps a proxy or NAT from forgetting a pooled connection while it
  // idles, and finds one that died. Best effort.
  redisEnableKeepAlive(connection.get());
  if (!password_.empty()) {
    Reply reply = Command(connection.get(), {"AUTH", password_});
    if (reply == nullptr) return ConnectionFailed("AUTH", connection->errstr);
    if (IsError(*reply)) return ConnectionFailed("AUTH", ReplyText(*reply));
  }
  if (db_ != 0) {
    Reply reply = Command(connection.get(), {"SELECT", absl::StrCat(db_)});
    if (reply == nullptr) {
      return ConnectionFailed("SELECT", connection->errstr);
    }
    if (IsError(*reply)) return ConnectionFailed("SELECT", ReplyText(*reply));
  }
  return connection;
}

absl::StatusOr<RedisLimitStore::Acquired> RedisLimitStore::Acquire(bool retry) {
  if (!address_error_.ok()) return address_error_;
  if (!retry) {
    absl::MutexLock lock(&mu_);
    const absl::Time now = absl::Now();
    if (now < retry_at_) {
      return Unavailable(
          "unreachable",
          absl::StrCat(last_error_, "; next attempt in ",
                       absl::ToInt64Milliseconds(retry_at_ - now), " ms"));
    }
    // One call probes a server that is down; the others keep failing fast.
    if (down_) retry_at_ = now + kBackoff;
    if (!idle_.empty()) {
      Acquired acquired{std::move(idle_.back()), true};
      idle_.pop_back();
      return acquired;
    }
  }
  absl::StatusOr<Connection> connection = Connect();
  if (!connection.ok()) return connection.status();
  return Acquired{std::move(*connection), false};
}

void RedisLimitStore::Release(Connection connection) {
  Connection excess;  // closed outside the lock
  absl::MutexLock lock(&mu_);
  if (idle_.size() < kMaxIdle) {
    idle_.push_back(std::move(connection));
  } else {
    excess = std::move(connection);
  }
}

absl::StatusOr<RedisLimitStore::Reply> RedisLimitStore::Run(
    Script script, const std::vector<std::string>& keys,
    const std::vector<std::string>& args, bool* sent) {
  *sent = false;
  const char* name = kScriptNames[script];
  std::vector<std::string> argv;
  argv.reserve(3 + keys.size() + args.size());
  argv.push_back("EVALSHA");
  argv.push_back("");
  argv.push_back(absl::StrCat(keys.size()));
  argv.insert(argv.end(), keys.begin(), keys.end());
  argv.insert(argv.end(), args.begin(), args.end());
  for (int attempt = 0;; ++attempt) {
    absl::StatusOr<Acquired> acquired = Acquire(/*retry=*/attempt > 0);
    if (!acquired.ok()) return acquired.status();
    redisContext* context = acquired->connection.get();
    // Until the connection answers, an EOF on a pooled one means the
    // server had closed it before our command came.
    bool answered = false;
    int error_number = 0;
    Reply reply;
    std::string sha;
    {
      absl::MutexLock lock(&mu_);
      sha = sha_[script];
    }
    if (sha.empty()) {
      Reply loaded =
          Command(context, {"SCRIPT", "LOAD", kScripts[script]}, &error_number);
      if (loaded != nullptr) {
        answered = true;
        if (loaded->type != REDIS_REPLY_STRING) {
          absl::MutexLock lock(&mu_);
          Answered();
          return Unavailable(absl::StrCat(name, " (SCRIPT LOAD)"),
                             ReplyText(*loaded));
        }
        sha = std::string(ReplyText(*loaded));
        absl::MutexLock lock(&mu_);
        sha_[script] = sha;
      }
    }
    if (!sha.empty()) {
      argv[0] = "EVALSHA";
      argv[1] = sha;
      reply = Command(context, argv, &error_number);
      // A server that lost its script cache (a restart, a failover, SCRIPT
      // FLUSH): EVAL sends the text and caches it again.
      if (reply != nullptr && IsError(*reply) &&
          absl::StartsWith(ReplyText(*reply), "NOSCRIPT")) {
        answered = true;
        argv[0] = "EVAL";
        argv[1] = kScripts[script];
        reply = Command(context, argv, &error_number);
      }
      if (reply != nullptr || WrittenWhole(*context)) *sent = true;
    }
    if (reply == nullptr) {
      if (attempt == 0 && acquired->pooled && !answered &&
          ClosedByServer(*context, error_number)) {
        continue;  // once more, on a new connection
      }
      // A reservation is better never run: its caller takes it as failed,
      // and the tokens it would take cannot be told apart to give back. A
      // settle or renewal is better run late.
      return CallFailed(std::move(acquired->connection),
                        TimedOut(*context, error_number),
                        /*abort=*/script == kReserve, name);
    }
    {
      absl::MutexLock lock(&mu_);
      Answered();
    }
    // An error reply leaves the connection usable, but it is dropped anyway:
    // whatever went wrong should not be met again on the next call.
    if (IsError(*reply)) return Unavailable(name, ReplyText(*reply));
    // The compensations go after a reply, never before: once this
    // connection has answered, Redis has read what reached it before our
    // command, a late reservation included, so the ZREM lands after it.
    if (has_pending_.load(std::memory_order_relaxed) && !Flush(context)) {
      return reply;  // the connection broke during the flush: dropped
    }
    Release(std::move(acquired->connection));
    return reply;
  }
}

void RedisLimitStore::Enqueue(Pending pending) {
  absl::MutexLock lock(&mu_);
  pending_.push_back(std::move(pending));
  while (pending_.size() > kMaxPending) pending_.pop_front();
  has_pending_.store(true, std::memory_order_relaxed);
}

bool RedisLimitStore::Flush(redisContext* context) {
  std::vector<Pending> batch;
  {
    absl::MutexLock lock(&mu_);
    while (!pending_.empty() && batch.size() < kFlushBatch) {
      batch.push_back(std::move(pending_.front()));
      pending_.pop_front();
    }
    has_pending_.store(!pending_.empty(), std::memory_order_relaxed);
  }
  // All of them in one write, then their replies: one round trip.
  size_t appended = 0;
  for (const Pending& pending : batch) {
    std::vector<const char*> data;
    std::vector<size_t> sizes;
    for (const std::string& arg : pending.command) {
      data.push_back(arg.data());
      sizes.push_back(arg.size());
    }
    if (redisAppendCommandArgv(context, static_cast<int>(data.size()),
                               data.data(), sizes.data()) != REDIS_OK) {
      break;
    }
    ++appended;
  }
  size_t answered = 0;
  for (; answered < appended; ++answered) {
    void* raw = nullptr;
    if (redisGetReply(context, &raw) != REDIS_OK) break;
    Reply reply(static_cast<redisReply*>(raw));
    // A settle that failed may have stopped before its ZREM; a ZREM that
    // failed would only fail again.
    const Pending& pending = batch[answered];
    if (IsError(*reply) && !pending.retry.empty() &&
        pending.retry != pending.command) {
      Enqueue({pending.retry, pending.retry});
    }
  }
  // Sent, unanswered: they may have run. Only what is safe twice goes back.
  for (size_t i = answered; i < appended; ++i) {
    if (!batch[i].retry.empty()) Enqueue({batch[i].retry, batch[i].retry});
  }
  // Never sent: back whole.
  for (size_t i = appended; i < batch.size(); ++i) {
    Enqueue(std::move(batch[i]));
  }
  return answered == batch.size();
}

absl::StatusOr<ReserveResult> RedisLimitStore::Reserve(
    const ReserveRequest& request) {
  const size_t n = request.windows.size();
  std::vector<std::string> keys;
  std::vector<std::string> args = {absl::StrCat(n),
                                   request.concurrency ? "1" : "0"};
  for (const WindowLimit& window : request.windows) {
    if (window.window_ms < kBucketsPerWindow) {
      return absl::InvalidArgumentError(absl::StrCat(
          "window of ", window.window_ms, " ms for '", window.key,
          "' is shorter than its ", kBucketsPerWindow, " buckets"));
    }
    keys.push_back(Key(window.key));
    args.push_back(absl::StrCat(window.limit));
    args.push_back(absl::StrCat(window.window_ms));
    args.push_back(absl::StrCat(window.amount));
  }
  if (request.concurrency.has_value()) {
    const ConcurrencyLimit& concurrency = *request.concurrency;
    keys.push_back(Key(concurrency.key));
    args.push_back(absl::StrCat(concurrency.limit));
    args.push_back(concurrency.lease_id);
    args.push_back(absl::StrCat(concurrency.lease_ms));
  }
  bool sent = false;
  absl::StatusOr<ReserveResult> result =
      ParseReserve(request, Run(kReserve, keys, args, &sent));
  // The caller takes a failure for no reservation and will never release
  // the lease; if the script ran (or runs yet), the lease must go.
  if (!result.ok() && sent && request.concurrency.has_value()) {
    std::vector<std::string> release = {"ZREM", keys.back(),
                                        request.concurrency->lease_id};
    Enqueue({release, release});
  }
  Count(result.status());
  return result;
}

absl::StatusOr<ReserveResult> RedisLimitStore::ParseReserve(
    const ReserveRequest& request, absl::StatusOr<Reply> reply) const {
  if (!reply.ok()) return reply.status();
  const size_t n = request.windows.size();
  const redisReply& array = **reply;
  bool well_formed =
      array.type == REDIS_REPLY_ARRAY && array.elements == 5 + 2 * n;
  for (size_t i = 0; well_formed && i < array.elements; ++i) {
    well_formed = array.element[i]->type == REDIS_REPLY_INTEGER;
  }
  if (!well_formed) {
    return Unavailable("reserve", "unexpected reply from the script");
  }
  auto at = [&array](size_t i) { return array.element[i]->integer; };
  ReserveResult result;
  result.now_ms = at(0);
  result.allowed = at(1) != 0;
  result.denied = static_cast<int>(at(2));
  result.retry_after_ms = at(3);
  result.too_large = at(4) != 0;
  for (size_t i = 0; i < n; ++i) {
    WindowState state;
    state.limit = request.windows[i].limit;
    state.remaining = at(5 + 2 * i);
    state.reset_ms = at(6 + 2 * i);
    result.windows.push_back(state);
  }
  return result;
}

absl::Status RedisLimitStore::Settle(const SettleRequest& request) {
  std::vector<std::string> keys;
  std::vector<std::string> args = {
      "", absl::StrCat(request.reserved_at_ms), request.release ? "1" : "0",
      request.release ? request.release->lease_id : std::string()};
  for (const WindowAdjustment& adjustment : request.adjustments) {
    if (adjustment.delta == 0) continue;
    if (adjustment.window_ms < kBucketsPerWindow) {
      return absl::InvalidArgumentError(absl::StrCat(
          "window of ", adjustment.window_ms, " ms for '", adjustment.key,
          "' is shorter than its ", kBucketsPerWindow, " buckets"));
    }
    keys.push_back(Key(adjustment.key));
    args.push_back(absl::StrCat(adjustment.window_ms));
    args.push_back(absl::StrCat(adjustment.delta));
  }
  const size_t windows = keys.size();
  args[0] = absl::StrCat(windows);
  if (request.release.has_value()) keys.push_back(Key(request.release->key));
  if (keys.empty()) return absl::OkStatus();  // nothing to change
  bool sent = false;
  absl::Status status = Run(kSettle, keys, args, &sent).status();
  if (!status.ok()) {
    // Releasing a lease twice is harmless; applying a delta twice is not.
    // So the deltas are sent again only when they certainly never reached
    // Redis; after a timeout they may have been applied, and are dropped.
    std::vector<std::string> release;
    if (request.release.has_value()) {
      release = {"ZREM", keys.back(), request.release->lease_id};
    }
    if (!sent && windows > 0) {
      std::vector<std::string> settle = {"EVAL", kSettleScript,
                                         absl::StrCat(keys.size())};
      settle.insert(settle.end(), keys.begin(), keys.end());
      settle.insert(settle.end(), args.begin(), args.end());
      Enqueue({std::move(settle), std::move(release)});
    } else if (!release.empty()) {
      Enqueue({release, release});
    }
  }
  Count(status);
  return status;
}

absl::Status RedisLimitStore::RenewLease(const ConcurrencyLimit& lease) {
  bool sent = false;
  absl::Status status =
      Run(kRenew, {Key(lease.key)},
          {lease.lease_id, absl::StrCat(lease.lease_ms)}, &sent)
          .status();
  Count(status);
  return status;
}

}  // namespace aigw
