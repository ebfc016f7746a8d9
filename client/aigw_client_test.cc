// The client library against an in-process aigw.v1 server whose answers
// each test scripts (retries, cancellation, deadlines, error details), and
// against the real aigw binary on a loopback port.
#include "client/aigw_client.h"

#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <functional>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "re2/re2.h"

namespace aigw::client {
namespace {

v1::ChatCompletionChunk Chunk(const std::string& text) {
  v1::ChatCompletionChunk chunk;
  chunk.set_id("c1");
  chunk.add_choices()->mutable_delta()->set_content(text);
  return chunk;
}

v1::ChatCompletionRequest Request(const std::string& model) {
  v1::ChatCompletionRequest request;
  request.set_model(model);
  v1::Message* message = request.add_messages();
  message->set_role("user");
  message->set_content("hi");
  return request;
}

// A scriptable aigw.v1 server; `calls` counts every call.
class FakeService final : public v1::ChatCompletions::Service {
 public:
  using StreamFn = std::function<grpc::Status(
      grpc::ServerContext*, grpc::ServerWriter<v1::ChatCompletionChunk>*,
      int call)>;
  using CreateFn = std::function<grpc::Status(grpc::ServerContext*,
                                              v1::ChatCompletion*, int call)>;

  grpc::Status Create(grpc::ServerContext* context,
                      const v1::ChatCompletionRequest* request,
                      v1::ChatCompletion* response) override {
    Record(context);
    return create(context, response, ++calls);
  }
  grpc::Status Stream(
      grpc::ServerContext* context, const v1::ChatCompletionRequest* request,
      grpc::ServerWriter<v1::ChatCompletionChunk>* writer) override {
    Record(context);
    return stream(context, writer, ++calls);
  }
  grpc::Status ListModels(grpc::ServerContext* context,
                          const v1::ListModelsRequest*,
                          v1::ListModelsResponse* response) override {
    Record(context);
    ++calls;
    response->add_data()->set_id("m1");
    return grpc::Status::OK;
  }
  grpc::Status Embeddings(grpc::ServerContext* context,
                          const v1::EmbeddingsRequest* request,
                          v1::EmbeddingsResponse* response) override {
    Record(context);
    ++calls;
    for (int i = 0; i < request->input_size(); ++i) {
      response->add_data()->add_embedding(i + 0.5);
    }
    return grpc::Status::OK;
  }

  void Record(grpc::ServerContext* context) {
    auto auth = context->client_metadata().find("authorization");
    last_authorization =
        auth == context->client_metadata().end()
            ? ""
            : std::string(auth->second.data(), auth->second.size());
    last_deadline = absl::FromChrono(context->deadline());
  }

  StreamFn stream;
  CreateFn create;
  std::atomic<int> calls{0};
  std::string last_authorization;
  absl::Time last_deadline;
};

class ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    options_.target = absl::StrCat("127.0.0.1:", port);
    options_.api_key = "sk-test";
    options_.initial_backoff = absl::Milliseconds(10);
  }
  void TearDown() override { server_->Shutdown(); }

  std::unique_ptr<Client> NewClient() {
    absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(options_);
    EXPECT_TRUE(client.ok());
    return std::move(*client);
  }

  FakeService service_;
  std::unique_ptr<grpc::Server> server_;
  ClientOptions options_;
};

grpc::Status Unavailable() {
  return grpc::Status(grpc::StatusCode::UNAVAILABLE, "try again");
}

TEST_F(ClientTest, CreateSendsKeyAndDefaultDeadline) {
  service_.create = [](grpc::ServerContext*, v1::ChatCompletion* answer, int) {
    answer->set_id("done");
    return grpc::Status::OK;
  };
  options_.deadline = absl::Seconds(30);
  absl::Time start = absl::Now();
  absl::StatusOr<v1::ChatCompletion> answer = NewClient()->Create(Request("m"));
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(answer->id(), "done");
  EXPECT_EQ(service_.last_authorization, "Bearer sk-test");
  EXPECT_GT(service_.last_deadline, start + absl::Seconds(25));
  EXPECT_LT(service_.last_deadline, start + absl::Seconds(31));
}

TEST_F(ClientTest, CallOptionsOverrideKeyAndDeadline) {
  service_.create = [](grpc::ServerContext*, v1::ChatCompletion*, int) {
    return grpc::Status::OK;
  };
  CallOptions call;
  call.api_key = "sk-other";
  call.timeout = absl::Seconds(3);
  absl::Time start = absl::Now();
  ASSERT_TRUE(NewClient()->Create(Request("m"), call).ok());
  EXPECT_EQ(service_.last_authorization, "Bearer sk-other");
  EXPECT_LT(service_.last_deadline, start + absl::Seconds(3.5));
}

TEST_F(ClientTest, UnavailableIsRetriedThenSucceeds) {
  service_.create = [](grpc::ServerContext*, v1::ChatCompletion* answer,
                       int call) {
    if (call < 3) return Unavailable();
    answer->set_id("third");
    return grpc::Status::OK;
  };
  absl::StatusOr<v1::ChatCompletion> answer = NewClient()->Create(Request("m"));
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(service_.calls.load(), 3);
}

TEST_F(ClientTest, RetriesStopAtMaxAttempts) {
  service_.create = [](grpc::ServerContext*, v1::ChatCompletion*, int) {
    return Unavailable();
  };
  options_.max_attempts = 2;
  absl::StatusOr<v1::ChatCompletion> answer = NewClient()->Create(Request("m"));
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_FALSE(Unreachable(answer.status()));
  EXPECT_EQ(service_.calls.load(), 2);
}

TEST_F(ClientTest, ResourceExhaustedIsRetriedOnlyWithRetryAfter) {
  service_.create = [](grpc::ServerContext* context, v1::ChatCompletion*,
                       int call) {
    context->AddTrailingMetadata("x-aigw-error-code", "rate_limit_exceeded");
    if (call == 1) context->AddTrailingMetadata("retry-after", "0");
    return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "slow down");
  };
  absl::StatusOr<v1::ChatCompletion> answer = NewClient()->Create(Request("m"));
  // Call 1 said when (0 s): retried; call 2 did not: the error is returned.
  EXPECT_EQ(service_.calls.load(), 2);
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(GatewayErrorCode(answer.status()), "rate_limit_exceeded");
  EXPECT_LT(RetryAfter(answer.status()), absl::ZeroDuration());
}

TEST_F(ClientTest, RetryAfterLongerThanMaxBackoffIsNotWaitedFor) {
  service_.create = [](grpc::ServerContext* context, v1::ChatCompletion*, int) {
    context->AddTrailingMetadata("retry-after", "60");
    return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "later");
  };
  absl::Time start = absl::Now();
  absl::StatusOr<v1::ChatCompletion> answer = NewClient()->Create(Request("m"));
  EXPECT_EQ(service_.calls.load(), 1);
  EXPECT_EQ(RetryAfter(answer.status()), absl::Seconds(60));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

TEST_F(ClientTest, InvalidArgumentIsNeverRetried) {
  service_.create = [](grpc::ServerContext*, v1::ChatCompletion*, int) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "bad");
  };
  EXPECT_EQ(NewClient()->Create(Request("m")).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(service_.calls.load(), 1);
}

TEST_F(ClientTest, StreamDeliversChunksAsTheyArrive) {
  absl::Notification first_seen;
  service_.stream = [&](grpc::ServerContext*,
                        grpc::ServerWriter<v1::ChatCompletionChunk>* writer,
                        int) {
    writer->Write(Chunk("a"));
    // The second chunk waits until the client has seen the first.
    EXPECT_TRUE(first_seen.WaitForNotificationWithTimeout(absl::Seconds(5)));
    writer->Write(Chunk("b"));
    return grpc::Status::OK;
  };
  std::string text;
  absl::Status status = NewClient()->Stream(
      Request("m"), [&](const v1::ChatCompletionChunk& chunk) {
        text += chunk.choices(0).delta().content();
        if (!first_seen.HasBeenNotified()) first_seen.Notify();
        return true;
      });
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(text, "ab");
}

TEST_F(ClientTest, StreamRetriesOnlyBeforeTheFirstChunk) {
  service_.stream = [](grpc::ServerContext*,
                       grpc::ServerWriter<v1::ChatCompletionChunk>* writer,
                       int call) {
    if (call == 1) return Unavailable();
    writer->Write(Chunk("partial"));
    return Unavailable();
  };
  std::string text;
  absl::Status status =
      NewClient()->Stream(Request("m"), [&](const v1::ChatCompletionChunk& c) {
        text += c.choices(0).delta().content();
        return true;
      });
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(text, "partial");  // not "partialpartial": no retry after it
  EXPECT_EQ(service_.calls.load(), 2);
}

TEST_F(ClientTest, StoppingAStreamCancelsTheServerCall) {
  absl::Notification server_saw_cancel;
  service_.stream = [&](grpc::ServerContext* context,
                        grpc::ServerWriter<v1::ChatCompletionChunk>* writer,
                        int) {
    for (int i = 0; i < 500 && !context->IsCancelled(); ++i) {
      writer->Write(Chunk("x"));
      absl::SleepFor(absl::Milliseconds(10));
    }
    if (context->IsCancelled()) server_saw_cancel.Notify();
    return grpc::Status::OK;
  };
  int seen = 0;
  absl::Status status = NewClient()->Stream(
      Request("m"), [&](const v1::ChatCompletionChunk&) { return ++seen < 3; });
  EXPECT_EQ(status.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(seen, 3);
  EXPECT_TRUE(
      server_saw_cancel.WaitForNotificationWithTimeout(absl::Seconds(5)));
}

TEST_F(ClientTest, ReaderCancelFromAnotherThread) {
  service_.stream = [&](grpc::ServerContext* context,
                        grpc::ServerWriter<v1::ChatCompletionChunk>* writer,
                        int) {
    writer->Write(Chunk("first"));
    while (!context->IsCancelled()) absl::SleepFor(absl::Milliseconds(5));
    return grpc::Status::OK;
  };
  std::unique_ptr<Client> client = NewClient();
  std::unique_ptr<ChunkReader> reader = client->StartStream(Request("m"));
  v1::ChatCompletionChunk chunk;
  ASSERT_TRUE(reader->Next(&chunk));
  std::thread canceller([&] {
    absl::SleepFor(absl::Milliseconds(50));
    reader->Cancel();
  });
  EXPECT_FALSE(reader->Next(&chunk));
  canceller.join();
  EXPECT_EQ(reader->status().code(), absl::StatusCode::kCancelled);
}

TEST_F(ClientTest, DeadlineEndsAStalledStream) {
  service_.stream = [&](grpc::ServerContext* context,
                        grpc::ServerWriter<v1::ChatCompletionChunk>*, int) {
    while (!context->IsCancelled()) absl::SleepFor(absl::Milliseconds(5));
    return grpc::Status::OK;
  };
  CallOptions call;
  call.timeout = absl::Milliseconds(300);
  absl::Status status = NewClient()->Stream(
      Request("m"), [](const v1::ChatCompletionChunk&) { return true; }, call);
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded);
}

TEST_F(ClientTest, ListModelsAndEmbeddings) {
  std::unique_ptr<Client> client = NewClient();
  absl::StatusOr<v1::ListModelsResponse> models = client->ListModels();
  ASSERT_TRUE(models.ok()) << models.status();
  EXPECT_EQ(models->data(0).id(), "m1");
  v1::EmbeddingsRequest request;
  request.set_model("e");
  request.add_input("a");
  request.add_input("b");
  absl::StatusOr<v1::EmbeddingsResponse> vectors = client->Embeddings(request);
  ASSERT_TRUE(vectors.ok()) << vectors.status();
  ASSERT_EQ(vectors->data_size(), 2);
  EXPECT_EQ(vectors->data(1).embedding(0), 1.5);
}

TEST(ClientUnreachableTest, ARefusedPortIsMarkedUnreachable) {
  ClientOptions options;
  options.target = "127.0.0.1:1";
  options.max_attempts = 1;
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(options);
  ASSERT_TRUE(client.ok());
  absl::StatusOr<v1::ChatCompletion> answer = (*client)->Create(Request("m"));
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(Unreachable(answer.status()));
}

TEST(ClientOptionsTest, AMissingCaFileIsAnError) {
  ClientOptions options;
  options.tls = true;
  options.ca_file = "/nonexistent/ca.pem";
  EXPECT_EQ(Client::Connect(options).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// The real gateway: its built-in echo provider, on ephemeral ports.
class RealGatewayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string dir = ::testing::TempDir();
    config_ = dir + "/aigw_client_test.yaml";
    std::ofstream(config_) << "listen: {http: 127.0.0.1:0, grpc: 127.0.0.1:0, "
                              "admin: 127.0.0.1:0}\n"
                              "consumers: [{name: t, api_keys: [sk-real]}]\n"
                              "providers: [{name: echo, type: echo}]\n";
    int pipe_fds[2];
    ASSERT_EQ(pipe(pipe_fds), 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 2);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    std::string flag = "--config=" + config_;
    std::string binary = "server/aigw";
    char* argv[] = {binary.data(), flag.data(), nullptr};
    ASSERT_EQ(
        posix_spawn(&pid_, binary.c_str(), &actions, nullptr, argv, environ),
        0);
    posix_spawn_file_actions_destroy(&actions);
    close(pipe_fds[1]);
    // Reads stderr until the listening line names the gRPC port.
    FILE* err = fdopen(pipe_fds[0], "r");
    char line[4096];
    while (fgets(line, sizeof(line), err) != nullptr) {
      std::string grpc_address;
      if (RE2::PartialMatch(line, R"(grpc=([0-9.]+:[0-9]+))", &grpc_address)) {
        target_ = grpc_address;
        break;
      }
    }
    stderr_ = err;  // kept open: aigw must not get SIGPIPE
    ASSERT_FALSE(target_.empty());
  }
  void TearDown() override {
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
    fclose(stderr_);
  }

  std::string config_;
  pid_t pid_ = 0;
  std::string target_;
  FILE* stderr_ = nullptr;
};

TEST_F(RealGatewayTest, StreamsCreatesAndReportsErrorCodes) {
  ClientOptions options;
  options.target = target_;
  options.api_key = "sk-real";
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(options);
  ASSERT_TRUE(client.ok());
  std::string text;
  int chunks = 0;
  v1::ChatCompletionRequest request = Request("gpt-4o");
  request.mutable_messages(0)->set_content("one two three");
  absl::Status status =
      (*client)->Stream(request, [&](const v1::ChatCompletionChunk& chunk) {
        ++chunks;
        for (const auto& choice : chunk.choices()) {
          text += choice.delta().content();
        }
        return true;
      });
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(text, "one two three");
  EXPECT_GT(chunks, 3);

  std::unique_ptr<ChunkReader> reader = (*client)->StartStream(request);
  v1::ChatCompletionChunk chunk;
  ASSERT_TRUE(reader->Next(&chunk));
  EXPECT_FALSE(
      MetadataValue(reader->initial_metadata(), "x-request-id").empty());
  EXPECT_EQ(MetadataValue(reader->initial_metadata(), "x-aigw-provider"),
            "echo");
  while (reader->Next(&chunk)) {
  }
  EXPECT_TRUE(reader->status().ok());

  absl::StatusOr<v1::ChatCompletion> answer = (*client)->Create(request);
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(answer->choices(0).message().content(), "one two three");

  CallOptions wrong_key;
  wrong_key.api_key = "sk-wrong";
  absl::StatusOr<v1::ChatCompletion> refused =
      (*client)->Create(request, wrong_key);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(GatewayErrorCode(refused.status()), "invalid_api_key");
  EXPECT_FALSE(Unreachable(refused.status()));

  absl::StatusOr<v1::ListModelsResponse> models = (*client)->ListModels();
  ASSERT_TRUE(models.ok()) << models.status();
}

}  // namespace
}  // namespace aigw::client
