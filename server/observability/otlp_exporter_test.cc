#include "server/observability/otlp_exporter.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmath>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace aigw {
namespace {

using nlohmann::json;

struct Received {
  std::string path;
  std::string content_type;
  std::string authorization;
  std::string tenant;
  json body;
};

// An OTLP collector on 127.0.0.1:<any port> answering every POST with
// `status`.
class Collector {
 public:
  explicit Collector(int status = 200) : status_(status) {
    server_.Post(".*", [this](const httplib::Request& request,
                              httplib::Response& response) {
      absl::MutexLock lock(&mu_);
      received_.push_back({request.path,
                           request.get_header_value("Content-Type"),
                           request.get_header_value("Authorization"),
                           request.get_header_value("X-Tenant"),
                           json::parse(request.body, nullptr, false)});
      response.status = status_;
      response.set_content("{}", "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // stop() before the accept loop runs would not end it.
    while (!server_.is_running()) absl::SleepFor(absl::Milliseconds(1));
  }
  ~Collector() {
    server_.stop();
    thread_.join();
  }

  std::string endpoint() const {
    return "http://127.0.0.1:" + std::to_string(port_);
  }
  std::vector<Received> received() const {
    absl::MutexLock lock(&mu_);
    return received_;
  }
  // Waits up to `limit` for `count` requests.
  bool WaitFor(size_t count, absl::Duration limit) const {
    absl::Time deadline = absl::Now() + limit;
    while (absl::Now() < deadline) {
      if (received().size() >= count) return true;
      absl::SleepFor(absl::Milliseconds(5));
    }
    return false;
  }

 private:
  const int status_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  mutable absl::Mutex mu_;
  std::vector<Received> received_ ABSL_GUARDED_BY(mu_);
};

// A socket bound to 127.0.0.1:<port>; listening but never accepting (a
// collector that hangs), or closed right away (nothing there: refused).
class DeadPort {
 public:
  explicit DeadPort(bool hang) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    socklen_t size = sizeof(address);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &size);
    port_ = ntohs(address.sin_port);
    if (hang) {
      listen(fd_, 1);
    } else {
      close(fd_);
      fd_ = -1;
    }
  }
  ~DeadPort() {
    if (fd_ >= 0) close(fd_);
  }
  std::string endpoint() const {
    return "http://127.0.0.1:" + std::to_string(port_);
  }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// A collector that accepts, then answers one byte every `pause` for
// `total`: each read makes progress, so only a deadline over the whole
// POST ends it early.
class DribblingCollector {
 public:
  DribblingCollector(absl::Duration pause, absl::Duration total) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    socklen_t size = sizeof(address);
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &size);
    port_ = ntohs(address.sin_port);
    listen(listen_fd_, 4);
    thread_ = std::thread([this, pause, total] {
      int fd = accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) return;
      const std::string answer =
          "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
          "X-Padding: " +
          std::string(200, 'x') + "\r\nContent-Length: 2\r\n\r\n{}";
      absl::Time end = absl::Now() + total;
      for (size_t i = 0; i < answer.size() && absl::Now() < end; ++i) {
        if (send(fd, &answer[i], 1, MSG_NOSIGNAL) != 1) break;
        absl::SleepFor(pause);
      }
      close(fd);
    });
  }
  ~DribblingCollector() {
    shutdown(listen_fd_, SHUT_RDWR);
    thread_.join();
    close(listen_fd_);
  }
  std::string endpoint() const {
    return "http://127.0.0.1:" + std::to_string(port_);
  }

 private:
  int listen_fd_ = -1;
  int port_ = 0;
  std::thread thread_;
};

OtlpConfig ConfigFor(const std::string& endpoint) {
  OtlpConfig config;
  config.endpoint = endpoint;
  config.flush_interval = absl::Hours(1);  // tests send with Flush
  config.timeout = absl::Seconds(2);
  return config;
}

SpanRecord ServerSpan() {
  SpanRecord span;
  span.trace_id = NewTraceId();
  span.span_id = NewSpanId();
  span.name = "chat gpt-4o";
  span.kind = SpanRecord::Kind::kServer;
  span.start = absl::FromUnixNanos(1700000000123456789);
  span.end = absl::FromUnixNanos(1700000001987654321);
  span.attributes = {
      {"gen_ai.operation.name", std::string("chat")},
      {"gen_ai.provider.name", std::string("openai")},
      {"gen_ai.request.model", std::string("gpt-4o")},
      {"gen_ai.response.model", std::string("gpt-4o-2024-08-06")},
      {"gen_ai.usage.input_tokens", int64_t{12}},
      {"gen_ai.usage.output_tokens", int64_t{9007199254740993}},
      {"http.response.status_code", int64_t{200}},
      {"aigw.request_id", std::string("req-1")},
      {"aigw.stream", true},
      {"aigw.weight", 0.5},
  };
  return span;
}

SpanRecord ClientSpan(const SpanRecord& parent) {
  SpanRecord span;
  span.trace_id = parent.trace_id;
  span.span_id = NewSpanId();
  span.parent_span_id = parent.span_id;
  span.name = "chat gpt-4o";
  span.kind = SpanRecord::Kind::kClient;
  span.start = parent.start;
  span.end = parent.end;
  span.error = true;
  span.status_message = "upstream answered 503";
  span.attributes = {{"server.address", std::string("api.openai.com")},
                     {"server.port", int64_t{443}},
                     {"error.type", std::string("503")}};
  return span;
}

const json* FindAttribute(const json& attributes, const std::string& key) {
  for (const json& attribute : attributes) {
    if (attribute["key"] == key) return &attribute["value"];
  }
  return nullptr;
}

const json& Spans(const json& body) {
  return body["resourceSpans"][0]["scopeSpans"][0]["spans"];
}

TEST(SpansToOtlpJson, EncodesResourceIdsKindsTimesAttributesAndStatus) {
  SpanRecord server = ServerSpan();
  SpanRecord client = ClientSpan(server);
  SpanRecord internal = ServerSpan();
  internal.kind = SpanRecord::Kind::kInternal;
  internal.attributes = {{"nan", std::nan("")}};
  json body = json::parse(SpansToOtlpJson({server, client, internal}, "1.2.3"),
                          nullptr, false);
  ASSERT_FALSE(body.is_discarded());

  ASSERT_EQ(body["resourceSpans"].size(), 1u);
  const json& resource = body["resourceSpans"][0]["resource"]["attributes"];
  EXPECT_EQ((*FindAttribute(resource, "service.name"))["stringValue"], "aigw");
  EXPECT_EQ((*FindAttribute(resource, "service.version"))["stringValue"],
            "1.2.3");
  ASSERT_EQ(body["resourceSpans"][0]["scopeSpans"].size(), 1u);
  EXPECT_EQ(body["resourceSpans"][0]["scopeSpans"][0]["scope"]["name"], "aigw");

  const json& spans = Spans(body);
  ASSERT_EQ(spans.size(), 3u);
  const json& root = spans[0];
  EXPECT_EQ(root["traceId"], Hex(server.trace_id));
  EXPECT_EQ(root["spanId"], Hex(server.span_id));
  EXPECT_FALSE(root.contains("parentSpanId"));
  EXPECT_EQ(root["name"], "chat gpt-4o");
  EXPECT_EQ(root["kind"], 2);
  EXPECT_EQ(root["startTimeUnixNano"], "1700000000123456789");
  EXPECT_EQ(root["endTimeUnixNano"], "1700000001987654321");
  EXPECT_EQ(root["status"], json({{"code", 0}}));
  const json& attributes = root["attributes"];
  EXPECT_EQ(attributes.size(), server.attributes.size());
  EXPECT_EQ((*FindAttribute(attributes, "gen_ai.request.model"))["stringValue"],
            "gpt-4o");
  EXPECT_EQ(
      (*FindAttribute(attributes, "gen_ai.usage.input_tokens"))["intValue"],
      "12");
  // Past 2^53: a string keeps every digit.
  EXPECT_EQ(
      (*FindAttribute(attributes, "gen_ai.usage.output_tokens"))["intValue"],
      "9007199254740993");
  EXPECT_EQ((*FindAttribute(attributes, "aigw.stream"))["boolValue"], true);
  EXPECT_EQ((*FindAttribute(attributes, "aigw.weight"))["doubleValue"], 0.5);

  const json& child = spans[1];
  EXPECT_EQ(child["traceId"], Hex(server.trace_id));
  EXPECT_EQ(child["parentSpanId"], Hex(server.span_id));
  EXPECT_EQ(child["kind"], 3);
  EXPECT_EQ(child["status"],
            json({{"code", 2}, {"message", "upstream answered 503"}}));
  EXPECT_EQ((*FindAttribute(child["attributes"], "server.port"))["intValue"],
            "443");

  EXPECT_EQ(spans[2]["kind"], 1);
  EXPECT_EQ((*FindAttribute(spans[2]["attributes"], "nan"))["doubleValue"],
            "NaN");
}

TEST(SpansToOtlpJson, InvalidUtf8StillGivesValidJson) {
  SpanRecord span = ServerSpan();
  span.name = "bad \xff name";
  json body = json::parse(SpansToOtlpJson({span}, "1"), nullptr, false);
  ASSERT_FALSE(body.is_discarded());
  EXPECT_EQ(Spans(body)[0]["name"], "bad \xef\xbf\xbd name");
}

TEST(OtlpTracesTarget, AppendsV1TracesUnlessThePathEndsWithIt) {
  std::string origin, path;
  OtlpTracesTarget("http://collector:4318", &origin, &path);
  EXPECT_EQ(origin, "http://collector:4318");
  EXPECT_EQ(path, "/v1/traces");
  OtlpTracesTarget("https://collector/", &origin, &path);
  EXPECT_EQ(origin, "https://collector");
  EXPECT_EQ(path, "/v1/traces");
  OtlpTracesTarget("https://collector/custom/v1/traces", &origin, &path);
  EXPECT_EQ(path, "/custom/v1/traces");
  OtlpTracesTarget("https://gateway.example/otlp/", &origin, &path);
  EXPECT_EQ(path, "/otlp/v1/traces");
}

TEST(OtlpExporter, PostsJsonWithTheConfiguredHeaders) {
  Collector collector;
  OtlpExporter exporter;
  OtlpConfig config = ConfigFor(collector.endpoint() + "/");
  config.headers = {{"Authorization", "Bearer secret"}, {"X-Tenant", "t1"}};
  config.sample_ratio = 0.25;
  exporter.Configure(config);
  EXPECT_TRUE(exporter.enabled());
  EXPECT_EQ(exporter.sample_ratio(), 0.25);

  SpanRecord server = ServerSpan();
  exporter.Export(server);
  exporter.Export(ClientSpan(server));
  exporter.Flush();

  std::vector<Received> received = collector.received();
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(received[0].path, "/v1/traces");
  EXPECT_EQ(received[0].content_type, "application/json");
  EXPECT_EQ(received[0].authorization, "Bearer secret");
  EXPECT_EQ(received[0].tenant, "t1");
  ASSERT_FALSE(received[0].body.is_discarded());
  const json& spans = Spans(received[0].body);
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_EQ(spans[0]["spanId"], Hex(server.span_id));
  EXPECT_EQ(spans[1]["parentSpanId"], Hex(server.span_id));
  EXPECT_EQ(exporter.exported(), 2u);
  EXPECT_EQ(exporter.failed(), 0u);
  EXPECT_EQ(exporter.dropped(), 0u);
}

TEST(OtlpExporter, UsesAnEndpointEndingInV1TracesAsIs) {
  Collector collector;
  OtlpExporter exporter;
  exporter.Configure(ConfigFor(collector.endpoint() + "/otel/v1/traces"));
  exporter.Export(ServerSpan());
  exporter.Flush();
  ASSERT_EQ(collector.received().size(), 1u);
  EXPECT_EQ(collector.received()[0].path, "/otel/v1/traces");
}

TEST(OtlpExporter, SplitsIntoBatchesOfMaxBatch) {
  Collector collector;
  OtlpExporter exporter;
  OtlpConfig config = ConfigFor(collector.endpoint());
  config.max_batch = 512;
  exporter.Configure(config);
  for (int i = 0; i < 1000; ++i) exporter.Export(ServerSpan());
  exporter.Flush();
  std::vector<Received> received = collector.received();
  ASSERT_EQ(received.size(), 2u);
  EXPECT_EQ(Spans(received[0].body).size(), 512u);
  EXPECT_EQ(Spans(received[1].body).size(), 488u);
  EXPECT_EQ(exporter.exported(), 1000u);
}

TEST(OtlpExporter, SendsAPartialBatchAfterTheFlushInterval) {
  Collector collector;
  OtlpExporter exporter;
  OtlpConfig config = ConfigFor(collector.endpoint());
  config.flush_interval = absl::Milliseconds(50);
  exporter.Configure(config);
  for (int i = 0; i < 3; ++i) exporter.Export(ServerSpan());
  ASSERT_TRUE(collector.WaitFor(1, absl::Seconds(5)));
  EXPECT_EQ(Spans(collector.received()[0].body).size(), 3u);
}

TEST(OtlpExporter, CountsANon2xxAnswerAsFailed) {
  Collector collector(/*status=*/500);
  OtlpExporter exporter;
  exporter.Configure(ConfigFor(collector.endpoint()));
  for (int i = 0; i < 3; ++i) exporter.Export(ServerSpan());
  exporter.Flush();
  EXPECT_EQ(collector.received().size(), 1u);
  EXPECT_EQ(exporter.failed(), 3u);
  EXPECT_EQ(exporter.exported(), 0u);
}

TEST(OtlpExporter, CountsARefusedConnectionAsFailed) {
  DeadPort dead(/*hang=*/false);
  OtlpExporter exporter;
  exporter.Configure(ConfigFor(dead.endpoint()));
  for (int i = 0; i < 10; ++i) exporter.Export(ServerSpan());
  exporter.Flush();
  EXPECT_EQ(exporter.failed(), 10u);
  EXPECT_EQ(exporter.exported(), 0u);
}

TEST(OtlpExporter, ExportNeverWaitsForAHangingCollector) {
  DeadPort hanging(/*hang=*/true);
  OtlpExporter exporter;
  OtlpConfig config = ConfigFor(hanging.endpoint());
  config.max_batch = 1;  // the first span starts a POST that hangs
  config.timeout = absl::Milliseconds(500);
  exporter.Configure(config);
  exporter.Export(ServerSpan());
  absl::SleepFor(absl::Milliseconds(50));
  absl::Time start = absl::Now();
  for (int i = 0; i < 200; ++i) exporter.Export(ServerSpan());
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(200));
}

TEST(OtlpExporter, OneTimeoutBoundsAPostToACollectorThatNeverAnswers) {
  DeadPort hanging(/*hang=*/true);
  OtlpExporter exporter;
  OtlpConfig config = ConfigFor(hanging.endpoint());
  config.timeout = absl::Milliseconds(300);
  exporter.Configure(config);
  exporter.Export(ServerSpan());
  absl::Time start = absl::Now();
  exporter.Flush();
  absl::Duration took = absl::Now() - start;
  EXPECT_GE(took, absl::Milliseconds(250));
  EXPECT_LT(took, absl::Milliseconds(600));
  EXPECT_EQ(exporter.failed(), 1u);
}

TEST(OtlpExporter, OneTimeoutBoundsAPostWhoseAnswerDribbles) {
  // A byte every 50 ms: no read waits its 300 ms, the answer takes ~12 s.
  DribblingCollector dribbling(absl::Milliseconds(50), absl::Seconds(20));
  OtlpExporter exporter;
  OtlpConfig config = ConfigFor(dribbling.endpoint());
  config.timeout = absl::Milliseconds(300);
  exporter.Configure(config);
  exporter.Export(ServerSpan());
  absl::Time start = absl::Now();
  exporter.Flush();
  absl::Duration took = absl::Now() - start;
  EXPECT_GE(took, absl::Milliseconds(250));
  EXPECT_LT(took, absl::Milliseconds(600));
  EXPECT_EQ(exporter.failed(), 1u);
  EXPECT_EQ(exporter.exported(), 0u);
}

TEST(OtlpExporter, FlushUntilGivesUpAtItsDeadline) {
  DeadPort hanging(/*hang=*/true);
  Collector collector;  // outlives the exporter's kept-alive connection
  OtlpExporter exporter;
  OtlpConfig config = ConfigFor(hanging.endpoint());
  config.timeout = absl::Seconds(2);
  exporter.Configure(config);
  exporter.Export(ServerSpan());
  absl::Time start = absl::Now();
  EXPECT_FALSE(exporter.FlushUntil(start + absl::Milliseconds(200)));
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(500));

  exporter.Configure(ConfigFor(collector.endpoint()));
  exporter.Export(ServerSpan());
  EXPECT_TRUE(exporter.FlushUntil(absl::Now() + absl::Seconds(5)));
  EXPECT_EQ(exporter.exported(), 1u);
}

TEST(OtlpExporter, DropsAndCountsWhenTheQueueIsFull) {
  Collector collector;
  OtlpExporter exporter;
  OtlpConfig config = ConfigFor(collector.endpoint());
  config.max_queue = 10;
  config.max_batch = 100;
  exporter.Configure(config);
  for (int i = 0; i < 15; ++i) exporter.Export(ServerSpan());
  EXPECT_EQ(exporter.dropped(), 5u);
  exporter.Flush();
  EXPECT_EQ(exporter.exported(), 10u);
  ASSERT_EQ(collector.received().size(), 1u);
  EXPECT_EQ(Spans(collector.received()[0].body).size(), 10u);
}

TEST(OtlpExporter, AnEmptyEndpointDisablesAndDropsWhatIsQueued) {
  Collector collector;
  OtlpExporter exporter;
  EXPECT_FALSE(exporter.enabled());
  OtlpConfig config = ConfigFor(collector.endpoint());
  config.max_batch = 100;
  exporter.Configure(config);
  for (int i = 0; i < 5; ++i) exporter.Export(ServerSpan());
  exporter.Configure(OtlpConfig{});
  EXPECT_FALSE(exporter.enabled());
  EXPECT_EQ(exporter.dropped(), 5u);
  exporter.Export(ServerSpan());  // ignored while disabled
  exporter.Flush();
  EXPECT_EQ(exporter.dropped(), 5u);
  EXPECT_EQ(exporter.exported(), 0u);
  EXPECT_TRUE(collector.received().empty());

  exporter.Configure(config);  // and back on
  exporter.Export(ServerSpan());
  exporter.Flush();
  EXPECT_EQ(exporter.exported(), 1u);
}

TEST(OtlpExporter, FlushWithNothingQueuedReturns) {
  OtlpExporter exporter;
  exporter.Flush();
  Collector collector;
  exporter.Configure(ConfigFor(collector.endpoint()));
  exporter.Flush();
  EXPECT_TRUE(collector.received().empty());
}

TEST(OtlpExporter, DestructorSendsWhatIsQueued) {
  Collector collector;
  {
    OtlpExporter exporter;
    exporter.Configure(ConfigFor(collector.endpoint()));
    for (int i = 0; i < 3; ++i) exporter.Export(ServerSpan());
  }
  ASSERT_EQ(collector.received().size(), 1u);
  EXPECT_EQ(Spans(collector.received()[0].body).size(), 3u);
}

TEST(OtlpExporter, DestructorDoesNotHangOnADeadCollector) {
  DeadPort hanging(/*hang=*/true);
  absl::Time start;
  {
    OtlpExporter exporter;
    OtlpConfig config = ConfigFor(hanging.endpoint());
    config.max_batch = 10;  // 50 batches: 10 s if each waited its timeout
    config.timeout = absl::Milliseconds(200);
    exporter.Configure(config);
    for (int i = 0; i < 500; ++i) exporter.Export(ServerSpan());
    start = absl::Now();
  }
  // One POST in flight, then one more until the first failure.
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(700));
}

}  // namespace
}  // namespace aigw
