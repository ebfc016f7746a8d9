// Test helper: a snapshot from YAML, built as the gateway builds one.
#ifndef AIGW_SERVER_SNAPSHOT_TESTING_H_
#define AIGW_SERVER_SNAPSHOT_TESTING_H_

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "server/config.h"
#include "server/snapshot.h"

namespace aigw {

// State and metrics shared by a test binary's snapshots, as by the
// process's.
inline StateRegistry& TestState() {
  static StateRegistry* state = new StateRegistry;
  return *state;
}
inline Metrics& TestMetrics() {
  static Metrics* metrics = new Metrics;
  return *metrics;
}

inline std::shared_ptr<const GatewaySnapshot> BuildFromYaml(
    const std::string& yaml, const GatewaySnapshot* previous = nullptr) {
  absl::StatusOr<GatewayConfig> config = ParseConfig(yaml);
  EXPECT_TRUE(config.ok()) << config.status();
  if (!config.ok()) return nullptr;
  absl::StatusOr<std::shared_ptr<const GatewaySnapshot>> snapshot =
      BuildSnapshot(*std::move(config), TestState(), TestMetrics(), previous);
  EXPECT_TRUE(snapshot.ok()) << snapshot.status();
  if (!snapshot.ok()) return nullptr;
  return *snapshot;
}

}  // namespace aigw

#endif  // AIGW_SERVER_SNAPSHOT_TESTING_H_
