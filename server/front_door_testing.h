// Test helper for the front doors: a gateway with what serving it takes
// (loops, drain, protection) and an observer whose metrics and access log
// a test can read.
#ifndef AIGW_SERVER_FRONT_DOOR_TESTING_H_
#define AIGW_SERVER_FRONT_DOOR_TESTING_H_

#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/drain.h"
#include "server/gateway.h"
#include "server/metrics.h"
#include "server/net/io_loops.h"
#include "server/observability/access_log.h"
#include "server/observability/otlp_exporter.h"
#include "server/observability/request_observer.h"
#include "server/protection/protection_state.h"
#include "server/snapshot_testing.h"

namespace aigw {

// A gateway from `yaml` with what a front door needs (loops, drain,
// protection, an observer writing JSON access-log lines to a file).
class FrontDoorFixture {
 public:
  explicit FrontDoorFixture(const std::string& yaml)
      : gateway_(BuildFromYaml(yaml), &metrics_),
        loops_(1),
        protection_(gateway_.snapshot()->config.protection),
        observer_(&metrics_, &access_log_, &exporter_) {
    const char* dir = std::getenv("TEST_TMPDIR");
    log_path_ = absl::StrCat(dir == nullptr ? "/tmp" : dir, "/access-",
                             absl::ToUnixNanos(absl::Now()), ".log");
    AccessLogConfig config;
    config.path = log_path_;
    access_log_.Configure(config).IgnoreError();
    loops_.Start();
  }
  ~FrontDoorFixture() { loops_.Stop(); }

  Gateway* gateway() { return &gateway_; }
  IoLoops* loops() { return &loops_; }
  Drain* drain() { return &drain_; }
  ProtectionState* protection() { return &protection_; }
  Metrics* metrics() { return &metrics_; }
  const RequestObserver* observer() const { return &observer_; }

  // The access log so far.
  std::string AccessLogText() {
    access_log_.Flush();
    std::ifstream in(log_path_);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

 private:
  Metrics metrics_;
  Gateway gateway_;
  IoLoops loops_;
  Drain drain_;
  ProtectionState protection_;
  AccessLog access_log_;
  OtlpExporter exporter_;
  RequestObserver observer_;
  std::string log_path_;
};

}  // namespace aigw

#endif  // AIGW_SERVER_FRONT_DOOR_TESTING_H_
