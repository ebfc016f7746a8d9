#include "server/observability/access_log.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"

namespace aigw {
namespace {

using Json = nlohmann::ordered_json;

AccessRecord FullRecord() {
  AccessRecord r;
  r.time = absl::FromUnixMillis(1796215212123);
  r.request_id = "req-1";
  r.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  r.consumer = "team-a";
  r.client = "203.0.113.7:51234";
  r.protocol = "http";
  r.method = "POST";
  r.path = "/v1/chat/completions";
  r.operation = "chat";
  r.model = "gpt-4o";
  r.upstream_model = "gpt-4o-2024-08-06";
  r.provider = "openai";
  r.attempts = 2;
  r.status = 200;
  r.grpc_status = "OK";
  r.error_type = "rate_limit_error";
  r.stream = true;
  r.input_tokens = 12;
  r.output_tokens = 34;
  r.cached_tokens = 5;
  r.reasoning_tokens = 0;
  r.ttft = absl::Microseconds(250500);
  r.duration = absl::Microseconds(1234567);
  r.overhead = absl::Nanoseconds(12500);
  r.dropped_params = {"logit_bias", "seed"};
  r.bytes_in = 345;
  r.bytes_out = 6789;
  return r;
}

std::vector<std::string> Keys(const Json& json) {
  std::vector<std::string> keys;
  for (auto it = json.begin(); it != json.end(); ++it) keys.push_back(it.key());
  return keys;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> Lines(const std::string& text) {
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

class TempDir {
 public:
  TempDir() {
    char name[] = "/tmp/access_log_test_XXXXXX";
    path_ = mkdtemp(name);
  }
  ~TempDir() {
    std::string command = absl::StrCat("rm -rf '", path_, "'");
    std::system(command.c_str());
  }
  std::string File(absl::string_view name) const {
    return absl::StrCat(path_, "/", name);
  }

 private:
  std::string path_;
};

AccessLogConfig FileConfig(const std::string& path,
                           LogFormat format = LogFormat::kJson) {
  AccessLogConfig config;
  config.path = path;
  config.format = format;
  return config;
}

TEST(AccessLogFormat, JsonHasEveryFieldInOrder) {
  std::string line = AccessLog::FormatJson(FullRecord());
  EXPECT_EQ(line.find('\n'), std::string::npos);
  Json json = Json::parse(line);
  EXPECT_EQ(Keys(json), (std::vector<std::string>{"ts",
                                                  "request_id",
                                                  "trace_id",
                                                  "consumer",
                                                  "client",
                                                  "protocol",
                                                  "method",
                                                  "path",
                                                  "operation",
                                                  "model",
                                                  "upstream_model",
                                                  "provider",
                                                  "attempts",
                                                  "status",
                                                  "grpc_status",
                                                  "error_type",
                                                  "stream",
                                                  "input_tokens",
                                                  "output_tokens",
                                                  "cached_tokens",
                                                  "reasoning_tokens",
                                                  "ttft_ms",
                                                  "duration_ms",
                                                  "overhead_us",
                                                  "dropped_params",
                                                  "bytes_in",
                                                  "bytes_out"}));
  EXPECT_EQ(json["ts"], "2026-12-02T12:40:12.123Z");
  EXPECT_EQ(json["request_id"], "req-1");
  EXPECT_EQ(json["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(json["consumer"], "team-a");
  EXPECT_EQ(json["client"], "203.0.113.7:51234");
  EXPECT_EQ(json["protocol"], "http");
  EXPECT_EQ(json["method"], "POST");
  EXPECT_EQ(json["path"], "/v1/chat/completions");
  EXPECT_EQ(json["operation"], "chat");
  EXPECT_EQ(json["model"], "gpt-4o");
  EXPECT_EQ(json["upstream_model"], "gpt-4o-2024-08-06");
  EXPECT_EQ(json["provider"], "openai");
  EXPECT_EQ(json["attempts"], 2);
  EXPECT_EQ(json["status"], 200);
  EXPECT_EQ(json["grpc_status"], "OK");
  EXPECT_EQ(json["error_type"], "rate_limit_error");
  EXPECT_EQ(json["stream"], true);
  EXPECT_EQ(json["input_tokens"], 12);
  EXPECT_EQ(json["output_tokens"], 34);
  EXPECT_EQ(json["cached_tokens"], 5);
  EXPECT_EQ(json["reasoning_tokens"], 0);
  EXPECT_DOUBLE_EQ(json["ttft_ms"].get<double>(), 250.5);
  EXPECT_DOUBLE_EQ(json["duration_ms"].get<double>(), 1234.567);
  EXPECT_DOUBLE_EQ(json["overhead_us"].get<double>(), 12.5);
  EXPECT_EQ(json["dropped_params"], Json::array({"logit_bias", "seed"}));
  EXPECT_EQ(json["bytes_in"], 345);
  EXPECT_EQ(json["bytes_out"], 6789);
  // Numbers as written: up to 3 decimals, no trailing zeros.
  EXPECT_NE(line.find("\"ttft_ms\":250.5,\"duration_ms\":1234.567,"
                      "\"overhead_us\":12.5,"),
            std::string::npos);
}

TEST(AccessLogFormat, UnknownAndEmptyFieldsAreOmitted) {
  AccessRecord r;
  r.time = absl::FromUnixMillis(0);
  r.request_id = "req-2";
  r.client = "127.0.0.1";
  r.protocol = "grpc";
  r.method = "/aigw.v1.ChatCompletions/Stream";
  r.status = 429;
  r.duration = absl::Milliseconds(2);
  Json json = Json::parse(AccessLog::FormatJson(r));
  EXPECT_EQ(Keys(json),
            (std::vector<std::string>{
                "ts", "request_id", "client", "protocol", "method", "model",
                "upstream_model", "provider", "attempts", "status", "stream",
                "duration_ms", "overhead_us", "bytes_in", "bytes_out"}));
  EXPECT_EQ(json["model"], "");
  EXPECT_EQ(json["stream"], false);
  EXPECT_EQ(json["duration_ms"], 2);
  EXPECT_EQ(json["overhead_us"], 0);
}

TEST(AccessLogFormat, HostileValuesStayOneValidLine) {
  AccessRecord r = FullRecord();
  r.request_id = "a\"b\nc\\d\r\te";
  r.consumer = "bad\xff\xfeutf8\x01";
  r.model = "\"},\"status\":1,\"x\":\"";
  r.dropped_params = {"p\"q", "r\ns"};
  for (const std::string& line :
       {AccessLog::FormatJson(r), AccessLog::FormatText(r)}) {
    EXPECT_EQ(line.find('\n'), std::string::npos) << line;
    EXPECT_EQ(line.find('\r'), std::string::npos) << line;
    EXPECT_EQ(line.find('\x01'), std::string::npos) << line;
    EXPECT_EQ(line.find('\xff'), std::string::npos) << line;
  }
  Json json = Json::parse(AccessLog::FormatJson(r));
  EXPECT_EQ(json["request_id"], "a\"b\nc\\d\r\te");
  EXPECT_EQ(json["consumer"], "bad\xef\xbf\xbd\xef\xbf\xbdutf8\x01");
  EXPECT_EQ(json["model"], "\"},\"status\":1,\"x\":\"");
  EXPECT_EQ(json["status"], 200);
  EXPECT_EQ(json["dropped_params"], Json::array({"p\"q", "r\ns"}));
}

TEST(AccessLogFormat, TextIsTimestampThenKeyValuesInOrder) {
  AccessRecord r = FullRecord();
  r.consumer = "team a";
  EXPECT_EQ(AccessLog::FormatText(r),
            "2026-12-02T12:40:12.123Z request_id=req-1 "
            "trace_id=4bf92f3577b34da6a3ce929d0e0e4736 consumer=\"team a\" "
            "client=203.0.113.7:51234 protocol=http method=POST "
            "path=/v1/chat/completions operation=chat model=gpt-4o "
            "upstream_model=gpt-4o-2024-08-06 provider=openai attempts=2 "
            "status=200 grpc_status=OK error_type=rate_limit_error "
            "stream=true input_tokens=12 output_tokens=34 cached_tokens=5 "
            "reasoning_tokens=0 ttft_ms=250.5 duration_ms=1234.567 "
            "overhead_us=12.5 dropped_params=logit_bias,seed bytes_in=345 "
            "bytes_out=6789");
  AccessRecord empty;
  empty.time = absl::FromUnixMillis(0);
  EXPECT_EQ(AccessLog::FormatText(empty),
            "1970-01-01T00:00:00.000Z request_id=\"\" client=\"\" "
            "protocol=\"\" method=\"\" model=\"\" upstream_model=\"\" "
            "provider=\"\" attempts=0 status=0 stream=false duration_ms=0 "
            "overhead_us=0 bytes_in=0 bytes_out=0");
}

TEST(AccessLog, FileSinkWritesLinesAndReopensOnANewPath) {
  TempDir dir;
  AccessLog log;
  ASSERT_TRUE(log.Configure(FileConfig(dir.File("a.log"))).ok());
  for (int i = 0; i < 3; ++i) log.Write(FullRecord());
  log.Flush();
  std::vector<std::string> a = Lines(ReadFile(dir.File("a.log")));
  ASSERT_EQ(a.size(), 3u);
  EXPECT_EQ(Json::parse(a[0])["request_id"], "req-1");

  ASSERT_TRUE(
      log.Configure(FileConfig(dir.File("b.log"), LogFormat::kText)).ok());
  log.Write(FullRecord());
  log.Flush();
  EXPECT_EQ(Lines(ReadFile(dir.File("a.log"))).size(), 3u);
  std::vector<std::string> b = Lines(ReadFile(dir.File("b.log")));
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0], AccessLog::FormatText(FullRecord()));
}

TEST(AccessLog, ARotatedFileIsLetGoOnConfigure) {
  TempDir dir;
  AccessLog log;
  std::string path = dir.File("access.log");
  ASSERT_TRUE(log.Configure(FileConfig(path)).ok());
  log.Write(FullRecord());
  log.Flush();
  ASSERT_EQ(rename(path.c_str(), dir.File("access.log.1").c_str()), 0);
  ASSERT_TRUE(log.Configure(FileConfig(path)).ok());  // the SIGHUP reload
  log.Write(FullRecord());
  log.Write(FullRecord());
  log.Flush();
  EXPECT_EQ(Lines(ReadFile(dir.File("access.log.1"))).size(), 1u);
  EXPECT_EQ(Lines(ReadFile(path)).size(), 2u);
  // The same file again is kept open, not reopened.
  ASSERT_TRUE(log.Configure(FileConfig(path)).ok());
  log.Write(FullRecord());
  log.Flush();
  EXPECT_EQ(Lines(ReadFile(path)).size(), 3u);
}

TEST(AccessLog, DisabledWritesNothing) {
  TempDir dir;
  AccessLog log;
  AccessLogConfig config = FileConfig(dir.File("a.log"));
  ASSERT_TRUE(log.Configure(config).ok());
  log.Write(FullRecord());
  config.enabled = false;
  ASSERT_TRUE(log.Configure(config).ok());
  EXPECT_FALSE(log.enabled());
  log.Write(FullRecord());
  log.Flush();
  EXPECT_EQ(Lines(ReadFile(dir.File("a.log"))).size(), 1u);
  EXPECT_EQ(log.dropped(), 0u);
}

TEST(AccessLog, NothingIsWrittenBeforeConfigure) {
  AccessLog log;
  EXPECT_FALSE(log.enabled());
  log.Write(FullRecord());
  log.Flush();
  EXPECT_EQ(log.dropped(), 0u);
}

TEST(AccessLog, AFileThatCannotBeOpenedKeepsThePreviousSink) {
  TempDir dir;
  AccessLog log;
  ASSERT_TRUE(log.Configure(FileConfig(dir.File("a.log"))).ok());
  absl::Status status = log.Configure(FileConfig("/nonexistent/dir/x.log"));
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("/nonexistent/dir/x.log"), std::string::npos);
  log.Write(FullRecord());
  log.Flush();
  EXPECT_EQ(Lines(ReadFile(dir.File("a.log"))).size(), 1u);
}

TEST(AccessLog, OverTheCapLinesAreDroppedAndCounted) {
  TempDir dir;
  AccessLog::Options options;
  options.max_buffer_bytes = 2000;
  options.flush_bytes = 1 << 20;            // never early
  options.flush_interval = absl::Hours(1);  // nor on time
  AccessLog log(options);
  ASSERT_TRUE(log.Configure(FileConfig(dir.File("a.log"))).ok());
  size_t line_bytes = AccessLog::FormatJson(FullRecord()).size() + 1;
  size_t fit = 2000 / line_bytes;
  for (int i = 0; i < 20; ++i) log.Write(FullRecord());
  EXPECT_EQ(log.dropped(), 20 - fit);
  log.Flush();
  EXPECT_EQ(Lines(ReadFile(dir.File("a.log"))).size(), fit);
  log.Write(FullRecord());  // room again once written out
  log.Flush();
  EXPECT_EQ(Lines(ReadFile(dir.File("a.log"))).size(), fit + 1);
}

TEST(AccessLog, TheWriterThreadWritesWithoutFlush) {
  TempDir dir;
  AccessLog log;
  ASSERT_TRUE(log.Configure(FileConfig(dir.File("a.log"))).ok());
  log.Write(FullRecord());
  absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (ReadFile(dir.File("a.log")).empty() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(Lines(ReadFile(dir.File("a.log"))).size(), 1u);
}

TEST(AccessLog, ConcurrentWritersNeverInterleave) {
  TempDir dir;
  AccessLog log;
  ASSERT_TRUE(log.Configure(FileConfig(dir.File("a.log"))).ok());
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&log, t] {
      AccessRecord r = FullRecord();
      for (int i = 0; i < 2000; ++i) {
        r.request_id = absl::StrCat(t, "-", i);
        log.Write(r);
      }
    });
  }
  for (std::thread& writer : writers) writer.join();
  log.Flush();
  std::vector<std::string> lines = Lines(ReadFile(dir.File("a.log")));
  ASSERT_EQ(lines.size(), 8000u);
  for (const std::string& line : lines) {
    ASSERT_TRUE(Json::accept(line)) << line;
  }
  EXPECT_EQ(log.dropped(), 0u);
}

TEST(AccessLog, DestructionWritesWhatIsBuffered) {
  TempDir dir;
  {
    AccessLog::Options options;
    options.flush_interval = absl::Hours(1);
    AccessLog log(options);
    ASSERT_TRUE(log.Configure(FileConfig(dir.File("a.log"))).ok());
    log.Write(FullRecord());
  }
  EXPECT_EQ(Lines(ReadFile(dir.File("a.log"))).size(), 1u);
}

}  // namespace
}  // namespace aigw
