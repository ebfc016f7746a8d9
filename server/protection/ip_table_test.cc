#include "server/protection/ip_table.h"

#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace aigw {
namespace {

IpAddress Ip(absl::string_view text) { return *IpAddress::Parse(text); }

TEST(IpTable, ConnectionsPerIpAreCappedAndFreedOnClose) {
  IpTable table({/*max_connections=*/100, /*max_connections_per_ip=*/2,
                 /*max_streams_per_ip=*/10});
  IpAddress a = Ip("198.51.100.1");
  EXPECT_TRUE(table.TryOpenConnection(a));
  EXPECT_TRUE(table.TryOpenConnection(a));
  Admission third = table.TryOpenConnection(a);
  EXPECT_FALSE(third.ok);
  EXPECT_EQ(third.reason, RejectReason::kMaxConnectionsPerIp);
  EXPECT_TRUE(table.TryOpenConnection(Ip("198.51.100.2")));  // another client
  EXPECT_EQ(table.connections(), 3);  // the refusal counts nothing
  table.CloseConnection(a);
  EXPECT_TRUE(table.TryOpenConnection(a));
  EXPECT_EQ(table.ConnectionsOf(a), 2);
}

TEST(IpTable, GlobalCapCountsEveryClient) {
  IpTable table({2, 10, 10});
  EXPECT_TRUE(table.TryOpenConnection(Ip("198.51.100.1")));
  EXPECT_TRUE(table.TryOpenConnection(Ip("198.51.100.2")));
  Admission refused = table.TryOpenConnection(Ip("198.51.100.3"));
  EXPECT_FALSE(refused.ok);
  EXPECT_EQ(refused.reason, RejectReason::kMaxConnections);
  EXPECT_EQ(table.connections(), 2);
  EXPECT_EQ(table.tracked_clients(), 2u);
  table.CloseConnection(Ip("198.51.100.1"));
  EXPECT_TRUE(table.TryOpenConnection(Ip("198.51.100.3")));
}

TEST(IpTable, RefusedPerIpConnectionGivesBackItsGlobalCount) {
  IpTable table({2, 1, 10});
  EXPECT_TRUE(table.TryOpenConnection(Ip("198.51.100.1")));
  EXPECT_FALSE(table.TryOpenConnection(Ip("198.51.100.1")));
  EXPECT_TRUE(table.TryOpenConnection(Ip("198.51.100.2")));
}

TEST(IpTable, TrustedProxyIsNotCappedPerIpButCountsGlobally) {
  IpTable table({3, 1, 10});
  IpAddress proxy = Ip("10.0.0.1");
  EXPECT_TRUE(table.TryOpenConnection(proxy, /*trusted_proxy=*/true));
  EXPECT_TRUE(table.TryOpenConnection(proxy, true));
  EXPECT_TRUE(table.TryOpenConnection(proxy, true));
  EXPECT_EQ(table.TryOpenConnection(proxy, true).reason,
            RejectReason::kMaxConnections);
  EXPECT_EQ(table.ConnectionsOf(proxy), 3);
  for (int i = 0; i < 3; ++i) table.CloseConnection(proxy);
  EXPECT_EQ(table.tracked_clients(), 0u);
}

TEST(IpTable, StreamsPerIpAreCapped) {
  IpTable table({10, 10, 2});
  IpAddress a = Ip("198.51.100.1");
  EXPECT_TRUE(table.TryOpenStream(a));
  EXPECT_TRUE(table.TryOpenStream(a));
  Admission refused = table.TryOpenStream(a);
  EXPECT_FALSE(refused.ok);
  EXPECT_EQ(refused.reason, RejectReason::kMaxStreamsPerIp);
  EXPECT_EQ(table.streams(), 2);
  table.CloseStream(a);
  EXPECT_TRUE(table.TryOpenStream(a));
  EXPECT_EQ(table.StreamsOf(a), 2);
}

TEST(IpTable, EntriesAtZeroAreRemoved) {
  IpTable table;
  IpAddress a = Ip("198.51.100.1");
  table.TryOpenConnection(a);
  table.TryOpenStream(a);
  EXPECT_EQ(table.tracked_clients(), 1u);
  table.CloseConnection(a);
  EXPECT_EQ(table.tracked_clients(), 1u);  // its stream is still open
  table.CloseStream(a);
  EXPECT_EQ(table.tracked_clients(), 0u);
  // Refusals leave nothing behind either.
  IpTable strict({10, 10, 1});
  strict.TryOpenStream(a);
  EXPECT_FALSE(strict.TryOpenStream(a));
  strict.CloseStream(a);
  EXPECT_EQ(strict.tracked_clients(), 0u);
}

TEST(IpTable, UnmatchedCloseIsHarmless) {
  IpTable table;
  table.CloseConnection(Ip("198.51.100.1"));
  table.CloseStream(Ip("198.51.100.1"));
  EXPECT_EQ(table.connections(), 0);
  EXPECT_EQ(table.streams(), 0);
  EXPECT_EQ(table.tracked_clients(), 0u);
}

TEST(IpTable, ZeroMeansNoCap) {
  IpTable table({0, 0, 0});
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(table.TryOpenConnection(Ip("198.51.100.1")));
    ASSERT_TRUE(table.TryOpenStream(Ip("198.51.100.1")));
  }
}

TEST(IpTable, V6ClientsAreCountedByTheir64) {
  IpTable table({100, 2, 100});
  EXPECT_TRUE(table.TryOpenConnection(Ip("2001:db8:1:2::1")));
  EXPECT_TRUE(table.TryOpenConnection(Ip("2001:db8:1:2::2")));
  EXPECT_FALSE(table.TryOpenConnection(Ip("2001:db8:1:2::3")));
  EXPECT_TRUE(table.TryOpenConnection(Ip("2001:db8:1:3::1")));
}

TEST(IpTable, MappedAndPlainV4AreOneClient) {
  IpTable table({100, 1, 100});
  EXPECT_TRUE(table.TryOpenConnection(Ip("198.51.100.1")));
  EXPECT_FALSE(table.TryOpenConnection(Ip("::ffff:198.51.100.1")));
}

TEST(IpTable, NewLimitsApplyToTheNextAdmission) {
  IpTable table({100, 1, 100});
  IpAddress a = Ip("198.51.100.1");
  EXPECT_TRUE(table.TryOpenConnection(a));
  EXPECT_FALSE(table.TryOpenConnection(a));
  table.SetLimits({100, 2, 100});
  EXPECT_TRUE(table.TryOpenConnection(a));
  table.SetLimits({100, 1, 100});  // nothing open is closed
  EXPECT_EQ(table.ConnectionsOf(a), 2);
  EXPECT_FALSE(table.TryOpenConnection(a));
}

TEST(IpTable, SlotsCloseWhatTheyHold) {
  IpTable table({100, 1, 1});
  IpAddress a = Ip("198.51.100.1");
  {
    IpTable::Slot connection = table.OpenConnection(a);
    ASSERT_TRUE(connection.ok());
    IpTable::Slot stream = table.OpenStream(a);
    ASSERT_TRUE(stream);
    IpTable::Slot refused = table.OpenStream(a);
    EXPECT_FALSE(refused.ok());
    EXPECT_EQ(refused.reason(), RejectReason::kMaxStreamsPerIp);
    IpTable::Slot moved = std::move(stream);
    EXPECT_FALSE(stream.ok());  // NOLINT(bugprone-use-after-move)
    EXPECT_EQ(table.streams(), 1);
    moved.Release();
    EXPECT_EQ(table.streams(), 0);
    moved.Release();  // once only
    EXPECT_EQ(table.streams(), 0);
    EXPECT_EQ(table.connections(), 1);
  }
  EXPECT_EQ(table.connections(), 0);
  EXPECT_EQ(table.tracked_clients(), 0u);
}

TEST(IpTable, ConcurrentOpensNeverPassTheCaps) {
  IpTable table({1000, 50, 50});
  constexpr int kThreads = 8;
  std::vector<std::thread> threads;
  std::atomic<int> admitted{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        IpAddress ip =
            *IpAddress::Parse(absl::StrCat("198.51.100.", (i + t) % 30));
        if (table.TryOpenConnection(ip)) {
          admitted++;
          if (i % 3 == 0) {
            table.CloseConnection(ip);
            admitted--;
          }
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(table.connections(), admitted.load());
  EXPECT_LE(table.connections(), 30 * 50);
  EXPECT_LE(table.connections(), 1000);
  for (int i = 0; i < 30; ++i) {
    EXPECT_LE(table.ConnectionsOf(Ip(absl::StrCat("198.51.100.", i))), 50);
  }
}

}  // namespace
}  // namespace aigw
