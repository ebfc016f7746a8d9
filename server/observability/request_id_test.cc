#include "server/observability/request_id.h"

#include <set>
#include <string>

#include "gtest/gtest.h"

namespace aigw {
namespace {

TEST(NewRequestId, IsALowercaseVersion4Uuid) {
  for (int i = 0; i < 100; ++i) {
    std::string id = NewRequestId();
    ASSERT_EQ(id.size(), 36u) << id;
    for (size_t j = 0; j < id.size(); ++j) {
      if (j == 8 || j == 13 || j == 18 || j == 23) {
        EXPECT_EQ(id[j], '-') << id;
      } else {
        EXPECT_TRUE((id[j] >= '0' && id[j] <= '9') ||
                    (id[j] >= 'a' && id[j] <= 'f'))
            << id;
      }
    }
    EXPECT_EQ(id[14], '4') << id;
    EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos) << id;
    EXPECT_TRUE(ValidRequestId(id));
  }
}

TEST(NewRequestId, IsDistinct) {
  std::set<std::string> ids;
  for (int i = 0; i < 10000; ++i) ids.insert(NewRequestId());
  EXPECT_EQ(ids.size(), 10000u);
}

TEST(ValidRequestId, AcceptsSaneTokens) {
  EXPECT_TRUE(ValidRequestId("a"));
  EXPECT_TRUE(ValidRequestId("req-123_abc.DEF:g+h=i/j"));
  EXPECT_TRUE(ValidRequestId(std::string(128, 'x')));
}

TEST(ValidRequestId, RejectsEmptyLongOrUnsafe) {
  EXPECT_FALSE(ValidRequestId(""));
  EXPECT_FALSE(ValidRequestId(std::string(129, 'x')));
  EXPECT_FALSE(ValidRequestId("has space"));
  EXPECT_FALSE(ValidRequestId("line\nbreak"));
  EXPECT_FALSE(ValidRequestId("quote\""));
  EXPECT_FALSE(ValidRequestId("comma,"));
  EXPECT_FALSE(ValidRequestId("caf\xc3\xa9"));
  EXPECT_FALSE(ValidRequestId(std::string("nul\0", 4)));
}

}  // namespace
}  // namespace aigw
