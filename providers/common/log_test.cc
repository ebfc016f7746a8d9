#include "providers/common/log.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/str_split.h"

namespace aigw {
namespace {

std::string Json(absl::string_view s) {
  std::string out;
  AppendJsonString(&out, s);
  return out;
}

// Points fd 2 at a temporary file for the test's lifetime.
class StderrCapture {
 public:
  StderrCapture() {
    char name[] = "/tmp/log_test_XXXXXX";
    fd_ = mkstemp(name);
    unlink(name);
    saved_ = dup(STDERR_FILENO);
    dup2(fd_, STDERR_FILENO);
  }
  ~StderrCapture() {
    dup2(saved_, STDERR_FILENO);
    close(saved_);
    close(fd_);
  }
  std::string Text() const {
    std::string text;
    char buffer[4096];
    for (off_t at = 0;;) {
      ssize_t n = pread(fd_, buffer, sizeof(buffer), at);
      if (n <= 0) break;
      text.append(buffer, n);
      at += n;
    }
    return text;
  }

 private:
  int fd_ = -1;
  int saved_ = -1;
};

class LogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SetLogLevel(LogLevel::kInfo);
    SetLogFormat(LogFormat::kJson);
  }
  void TearDown() override { SetUp(); }
};

TEST(AppendJsonString, EscapesQuotesBackslashesAndControls) {
  EXPECT_EQ(Json("plain"), "\"plain\"");
  EXPECT_EQ(Json("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(Json("\n\r\t\b\f"), "\"\\n\\r\\t\\b\\f\"");
  EXPECT_EQ(Json(std::string("\x01\x1f\0", 3)), "\"\\u0001\\u001f\\u0000\"");
  EXPECT_EQ(Json("\x7f"), "\"\x7f\"");  // DEL is allowed as is by RFC 8259
}

TEST(AppendJsonString, KeepsValidUtf8) {
  EXPECT_EQ(Json("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
            "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
}

TEST(AppendJsonString, ReplacesInvalidUtf8) {
  EXPECT_EQ(Json("a\xff"
                 "b"),
            "\"a\\ufffdb\"");
  EXPECT_EQ(Json("\xc3"), "\"\\ufffd\"");                        // truncated
  EXPECT_EQ(Json("\xc0\xaf"), "\"\\ufffd\\ufffd\"");             // overlong
  EXPECT_EQ(Json("\xed\xa0\x80"), "\"\\ufffd\\ufffd\\ufffd\"");  // surrogate
  EXPECT_EQ(Json("\xf4\x90\x80\x80"),  // past U+10FFFF
            "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
}

TEST(FormatRfc3339Utc, MillisecondsInUtc) {
  absl::Time t = absl::FromUnixMillis(1796215212123);
  EXPECT_EQ(FormatRfc3339Utc(t), "2026-12-02T12:40:12.123Z");
  EXPECT_EQ(FormatRfc3339Utc(absl::UnixEpoch()), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatRfc3339Utc(absl::FromUnixMillis(951782400999)),
            "2000-02-29T00:00:00.999Z");
  // Rounded down, also before the epoch.
  EXPECT_EQ(FormatRfc3339Utc(absl::FromUnixMicros(-1)),
            "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(FormatRfc3339Utc(absl::FromUnixMicros(1999)),
            "1970-01-01T00:00:00.001Z");
}

TEST(ParseLogLevel, AcceptsTheDocumentedNames) {
  LogLevel level;
  ASSERT_TRUE(ParseLogLevel("debug", &level));
  EXPECT_EQ(level, LogLevel::kDebug);
  ASSERT_TRUE(ParseLogLevel("INFO", &level));
  EXPECT_EQ(level, LogLevel::kInfo);
  ASSERT_TRUE(ParseLogLevel("warning", &level));
  EXPECT_EQ(level, LogLevel::kWarn);
  ASSERT_TRUE(ParseLogLevel("warn", &level));
  EXPECT_EQ(level, LogLevel::kWarn);
  ASSERT_TRUE(ParseLogLevel("error", &level));
  EXPECT_EQ(level, LogLevel::kError);
  EXPECT_FALSE(ParseLogLevel("loud", &level));
  EXPECT_FALSE(ParseLogLevel("", &level));
}

TEST_F(LogTest, JsonLineWithFields) {
  StderrCapture capture;
  Log(LogLevel::kInfo, "config reloaded (SIGHUP)",
      {{"trigger", "SIGHUP"},
       {"attempts", 3},
       {"bytes", uint64_t{18446744073709551615u}},
       {"ratio", 0.5},
       {"stream", true},
       {"quote", std::string("say \"hi\"\n")}});
  std::string text = capture.Text();
  ASSERT_EQ(text.substr(0, 7), "{\"ts\":\"");
  // ts is 24 characters: "2026-12-02T12:40:12.123Z".
  ASSERT_GT(text.size(), 31u);
  EXPECT_EQ(text[7 + 23], 'Z');
  EXPECT_EQ(text.substr(7 + 24),
            "\",\"level\":\"info\",\"msg\":\"config reloaded (SIGHUP)\","
            "\"trigger\":\"SIGHUP\",\"attempts\":3,"
            "\"bytes\":18446744073709551615,\"ratio\":0.5,\"stream\":true,"
            "\"quote\":\"say \\\"hi\\\"\\n\"}\n");
}

TEST_F(LogTest, TextLineQuotesOnlyWhatNeedsIt) {
  SetLogFormat(LogFormat::kText);
  StderrCapture capture;
  Log(LogLevel::kWarn, "model-a via provider 'p' failed:\nboom",
      {{"provider", "p"},
       {"error", "read timeout"},
       {"empty", ""},
       {"eq", "a=b"},
       {"attempt", 2}});
  std::string text = capture.Text();
  ASSERT_GT(text.size(), 25u);
  EXPECT_EQ(text[23], 'Z');
  EXPECT_EQ(text.substr(24),
            " warn model-a via provider 'p' failed:\\nboom provider=p "
            "error=\"read timeout\" empty=\"\" eq=\"a=b\" attempt=2\n");
}

TEST_F(LogTest, LinesBelowTheLevelAreDropped) {
  SetLogLevel(LogLevel::kWarn);
  EXPECT_FALSE(LogEnabled(LogLevel::kInfo));
  EXPECT_TRUE(LogEnabled(LogLevel::kWarn));
  EXPECT_TRUE(LogEnabled(LogLevel::kError));
  StderrCapture capture;
  Log(LogLevel::kDebug, "debug line");
  Log(LogLevel::kInfo, "info line");
  Log(LogLevel::kWarn, "warn line");
  Log(LogLevel::kError, "error line");
  LogAlways(LogLevel::kInfo, "always line");
  std::vector<std::string> lines =
      absl::StrSplit(capture.Text(), '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_NE(lines[0].find("\"level\":\"warn\",\"msg\":\"warn line\""),
            std::string::npos);
  EXPECT_NE(lines[1].find("\"level\":\"error\",\"msg\":\"error line\""),
            std::string::npos);
  EXPECT_NE(lines[2].find("\"level\":\"info\",\"msg\":\"always line\""),
            std::string::npos);
}

TEST_F(LogTest, NonFiniteDoublesAreJsonNull) {
  StderrCapture capture;
  Log(LogLevel::kInfo, "m", {{"x", 1.0 / 0.0}});
  EXPECT_NE(capture.Text().find("\"x\":null}"), std::string::npos);
}

}  // namespace
}  // namespace aigw
