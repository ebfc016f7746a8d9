// The REST front door's own answers. A handler that throws is still a 500
// OpenAI error with the request's id, recorded in the metrics and the
// access log; a stream already under way ends with an SSE error event.
#include "server/rest_server.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "absl/strings/match.h"
#include "nlohmann/json.hpp"
#include "server/front_door_testing.h"

namespace aigw {
namespace {

bool Has(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

// Routes every request to a handler that throws: at once, or (a request
// whose body asks for a stream) after the stream's first event went out.
class ThrowingRestServer : public RestServer {
 public:
  using RestServer::RestServer;

 protected:
  boost::asio::awaitable<absl::Status> Route(HttpRequest& request,
                                             HttpResponder& responder,
                                             RequestContext&) override {
    if (absl::StrContains(request.body(), "\"stream\":true")) {
      HttpResponse head;
      head.headers.emplace_back("Content-Type", "text/event-stream");
      head.body = "data: {\"first\":true}\n\n";
      co_await responder.StartChunked(std::move(head));
    }
    throw std::runtime_error("a bug in a handler");
  }
};

class RestServerTest : public ::testing::Test {
 protected:
  void Start() {
    fixture_ = std::make_unique<FrontDoorFixture>(
        "providers:\n  - {name: echo, type: echo}\n");
    server_ = std::make_unique<ThrowingRestServer>(
        fixture_->gateway(), fixture_->loops(), fixture_->drain(),
        fixture_->protection(), fixture_->metrics(), fixture_->observer());
    absl::StatusOr<int> port = server_->Bind("127.0.0.1:0");
    ASSERT_TRUE(port.ok()) << port.status();
    server_->Start();
    client_ = std::make_unique<httplib::Client>("127.0.0.1", *port);
    client_->set_read_timeout(10, 0);
  }
  void TearDown() override {
    client_.reset();
    server_.reset();
    fixture_.reset();
  }

  httplib::Result Chat(bool stream, const std::string& request_id) {
    nlohmann::json body = {
        {"model", "gpt-4o"},
        {"messages", {{{"role", "user"}, {"content", "hi"}}}}};
    if (stream) body["stream"] = true;
    return client_->Post("/v1/chat/completions", {{"x-request-id", request_id}},
                         body.dump(), "application/json");
  }

  std::unique_ptr<FrontDoorFixture> fixture_;
  std::unique_ptr<RestServer> server_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(RestServerTest, AHandlerThatThrowsAnswers500WithItsRequestIdRecorded) {
  Start();
  httplib::Result result = Chat(/*stream=*/false, "req-throw-1");
  ASSERT_TRUE(result) << httplib::to_string(result.error());
  EXPECT_EQ(result->status, 500);
  EXPECT_EQ(result->get_header_value("x-request-id"), "req-throw-1");
  EXPECT_EQ(result->get_header_value("Connection"), "close");
  nlohmann::json error = nlohmann::json::parse(result->body, nullptr, false);
  ASSERT_FALSE(error.is_discarded()) << result->body;
  EXPECT_EQ(error["error"]["type"], "server_error");
  EXPECT_EQ(error["error"]["code"], "internal_error");
  EXPECT_EQ(error["error"]["message"], "Internal error.");
  EXPECT_TRUE(error["error"]["param"].is_null());

  // The observer records the request after its response went out: wait.
  const std::string series =
      "aigw_requests_total{protocol=\"http\",gen_ai_operation_"
      "name=\"chat\",stream=\"false\",aigw_provider=\"none\","
      "aigw_consumer=\"anonymous\",gen_ai_request_model=\"other\","
      "code=\"500\"} 1";
  std::string metrics;
  std::string log;
  for (int i = 0; i < 300; ++i) {
    metrics = fixture_->metrics()->RenderPrometheus();
    log = fixture_->AccessLogText();
    if (Has(metrics, series) &&
        log.find("\"request_id\":\"req-throw-1\"") != std::string::npos) {
      break;
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_TRUE(Has(metrics, series)) << metrics;
  EXPECT_NE(log.find("\"request_id\":\"req-throw-1\""), std::string::npos)
      << log;
  EXPECT_NE(log.find("\"status\":500"), std::string::npos) << log;
  EXPECT_NE(log.find("\"error_type\":\"internal\""), std::string::npos) << log;
}

TEST_F(RestServerTest,
       AStreamThatThrowsAfterItsFirstEventEndsWithAnErrorEvent) {
  Start();
  httplib::Result result = Chat(/*stream=*/true, "req-throw-2");
  ASSERT_TRUE(result) << httplib::to_string(result.error());
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(result->get_header_value("x-request-id"), "req-throw-2");
  EXPECT_TRUE(absl::StartsWith(result->body, "data: {\"first\":true}\n\n"))
      << result->body;
  // The last event is the error (no [DONE]).
  size_t error = result->body.rfind("data: {\"error\":{");
  ASSERT_NE(error, std::string::npos) << result->body;
  EXPECT_NE(result->body.find("\"code\":\"internal_error\"", error),
            std::string::npos)
      << result->body;
  EXPECT_EQ(result->body.find("[DONE]"), std::string::npos) << result->body;

  std::string log;
  for (int i = 0; i < 300; ++i) {
    log = fixture_->AccessLogText();
    if (log.find("\"request_id\":\"req-throw-2\"") != std::string::npos) {
      break;
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_NE(log.find("\"request_id\":\"req-throw-2\""), std::string::npos)
      << log;
  EXPECT_NE(log.find("\"error_type\":\"internal\""), std::string::npos) << log;
}

}  // namespace
}  // namespace aigw
