#include "server/protection/protection_state.h"

#include <utility>

namespace aigw {
namespace {

LoadShedder::Readers CountingSockets(LoadShedder::Readers readers,
                                     const IpTable* clients) {
  readers.live_sockets = [clients] { return clients->connections(); };
  return readers;
}

}  // namespace

IpTable::Limits IpTableLimits(const ProtectionConfig& config) {
  return {config.max_connections, config.max_connections_per_ip,
          config.max_streams_per_ip};
}

RequestRateLimiter::Options RequestRateOptions(const ProtectionConfig& config) {
  RequestRateLimiter::Options options;
  options.rate = config.requests_per_ip_per_second;
  options.burst = config.requests_per_ip_burst;
  return options;
}

LoadShedder::Options LoadShedderOptions(const ProtectionConfig& config) {
  return {config.shed_fd_ratio, config.shed_memory_ratio, config.max_memory};
}

ProtectionState::ProtectionState(const ProtectionConfig& config,
                                 LoadShedder::Readers readers)
    : clients_(IpTableLimits(config)),
      request_rate_(RequestRateOptions(config)),
      load_(LoadShedderOptions(config),
            CountingSockets(std::move(readers), &clients_)) {}

void ProtectionState::Apply(const ProtectionConfig& config) {
  clients_.SetLimits(IpTableLimits(config));
  request_rate_.SetOptions(RequestRateOptions(config));
  load_.SetOptions(LoadShedderOptions(config));
}

void ProtectionState::Tick(absl::Time now) {
  load_.Sample();
  offenders_.Flush(now);
}

}  // namespace aigw
