// Says which clients hit a protection limit without letting a flood flood
// the log: each (client, reason) is logged at once the first time, then at
// most once per `interval` with the number of hits held back meanwhile.
// Memory is bounded: past `max_offenders` the rest are only counted, as
// one line per interval.
//
//   protection: 203.0.113.7 hit max_connections_per_ip
//   protection: 203.0.113.7 hit max_connections_per_ip (and 41 more times in
//   the last 10s)
//
// Clients are named by IpAddress::DescribeClient() (IPv6 as its /64).
#ifndef AIGW_SERVER_PROTECTION_OFFENDER_LOG_H_
#define AIGW_SERVER_PROTECTION_OFFENDER_LOG_H_

#include <cstdint>
#include <functional>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/protection/ip_address.h"
#include "server/protection/reject_reason.h"

namespace aigw {

class OffenderLog {
 public:
  // One line to log, and its parts as fields for the structured log.
  struct Report {
    std::string line;
    std::string client;        // "" for the line about untracked clients
    absl::string_view reason;  // "" likewise
    uint64_t held = 0;         // hits not logged before this line
  };
  using Sink = std::function<void(const Report& report)>;
  struct Options {
    absl::Duration interval = absl::Seconds(10);
    size_t max_offenders = 10000;
  };

  OffenderLog() : OffenderLog(Options{}) {}
  // A null sink writes to the operational log (warn).
  explicit OffenderLog(const Options& options, Sink sink = nullptr);

  void Record(const IpAddress& client, RejectReason reason, absl::Time now);
  // Reports what was held back for offenders quiet for `interval` and
  // forgets those with nothing left to report. The server ticks it (about
  // once a second); without it, counts wait for the offender's next hit.
  void Flush(absl::Time now);

  size_t tracked() const;

 private:
  using Key = std::pair<IpAddress, RejectReason>;
  struct Entry {
    absl::Time logged;  // the last line written for it
    uint64_t held = 0;  // hits since then, not logged
  };

  const Options options_;
  const Sink sink_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<Key, Entry> entries_ ABSL_GUARDED_BY(mu_);
  // Hits by clients that found the table full.
  uint64_t untracked_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time untracked_since_ ABSL_GUARDED_BY(mu_);
};

}  // namespace aigw

#endif  // AIGW_SERVER_PROTECTION_OFFENDER_LOG_H_
