#include "server/observability/build_info.h"

#include <string>

#include "gtest/gtest.h"

namespace aigw {
namespace {

TEST(BuildInfo, RevisionIsACommitHashOrUnknown) {
  const std::string revision(BuildRevision());
  if (revision != "unknown") {
    EXPECT_GE(revision.size(), 7u) << revision;
    EXPECT_EQ(revision.find_first_not_of("0123456789abcdef"), std::string::npos)
        << revision;
  }
}

TEST(BuildInfo, GaugeIsOneLabeledByVersionAndRevision) {
  std::string out;
  AppendBuildInfo(&out);
  EXPECT_EQ(out,
            "# HELP aigw_build_info A metric with a constant '1' value labeled "
            "by the version and the git revision aigw was built from.\n"
            "# TYPE aigw_build_info gauge\n"
            "aigw_build_info{version=\"0.10.0\",revision=\"" +
                std::string(BuildRevision()) + "\"} 1\n");
}

}  // namespace
}  // namespace aigw
