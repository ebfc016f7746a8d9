#include "server/drain.h"

#include <gtest/gtest.h>

#include "providers/common/api_error.h"

namespace aigw {
namespace {

TEST(Drain, CountsTrackedRequestsUntilTheirRegistrationEnds) {
  Drain drain;
  auto cancel = std::make_shared<CancelToken>();
  {
    auto registration = drain.Track(cancel);
    EXPECT_EQ(drain.active(), 1);
  }
  EXPECT_EQ(drain.active(), 0);
  EXPECT_FALSE(cancel->cancelled());
}

TEST(Drain, EndAllCancelsWithServerShutdown) {
  Drain drain;
  auto running = std::make_shared<CancelToken>();
  auto registration = drain.Track(running);
  drain.EndAll();
  EXPECT_TRUE(EndedByShutdown(*running));
  ErrorDetails details = GetErrorDetails(ServerShutdownError());
  EXPECT_EQ(details.http_status, 503);
  EXPECT_EQ(details.code, "server_shutdown");
  EXPECT_EQ(ServerShutdownError().code(), absl::StatusCode::kUnavailable);

  // A request that arrives afterwards is ended at once.
  auto late = std::make_shared<CancelToken>();
  auto late_registration = drain.Track(late);
  EXPECT_TRUE(EndedByShutdown(*late));
}

TEST(Drain, ClientThatLeftFirstIsNotEndedByShutdown) {
  Drain drain;
  auto cancel = std::make_shared<CancelToken>();
  auto registration = drain.Track(cancel);
  cancel->Cancel();  // the client went away
  drain.EndAll();
  EXPECT_TRUE(cancel->cancelled());
  EXPECT_FALSE(EndedByShutdown(*cancel));
}

}  // namespace
}  // namespace aigw
