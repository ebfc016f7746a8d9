// Everything connection protection keeps while the server runs, built from
// `protection:` and kept across config reloads (Apply retunes it; nothing
// open is closed, no client's budget is reset).
#ifndef AIGW_SERVER_PROTECTION_PROTECTION_STATE_H_
#define AIGW_SERVER_PROTECTION_PROTECTION_STATE_H_

#include "absl/time/time.h"
#include "server/config.h"
#include "server/protection/ip_table.h"
#include "server/protection/load_shedder.h"
#include "server/protection/offender_log.h"
#include "server/protection/request_rate_limiter.h"

namespace aigw {

IpTable::Limits IpTableLimits(const ProtectionConfig& config);
RequestRateLimiter::Options RequestRateOptions(const ProtectionConfig& config);
LoadShedder::Options LoadShedderOptions(const ProtectionConfig& config);

class ProtectionState {
 public:
  // `readers` as LoadShedder takes them (tests inject theirs); its
  // live_sockets is always the table's connection count.
  explicit ProtectionState(const ProtectionConfig& config,
                           LoadShedder::Readers readers = {});
  ProtectionState(const ProtectionState&) = delete;
  ProtectionState& operator=(const ProtectionState&) = delete;

  void Apply(const ProtectionConfig& config);
  // About once a second: samples descriptors and memory and writes what
  // the offender log held back.
  void Tick(absl::Time now);

  IpTable& clients() { return clients_; }
  RequestRateLimiter& request_rate() { return request_rate_; }
  OffenderLog& offenders() { return offenders_; }
  LoadShedder& load() { return load_; }

 private:
  IpTable clients_;
  RequestRateLimiter request_rate_;
  OffenderLog offenders_;
  LoadShedder load_;
};

}  // namespace aigw

#endif  // AIGW_SERVER_PROTECTION_PROTECTION_STATE_H_
