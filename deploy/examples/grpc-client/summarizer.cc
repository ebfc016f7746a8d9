// The example service of this folder: reads a text on stdin and streams a
// summary from aigw's gRPC API on the pod's loopback (AIGW_TARGET, default
// 127.0.0.1:9090; AIGW_API_KEY when the gateway has consumers).
//
//   bazel build //deploy/examples/grpc-client:summarizer
//   echo "long text" | bazel-bin/deploy/examples/grpc-client/summarizer
#include <cstdlib>
#include <iostream>
#include <sstream>

#include "client/aigw_client.h"

int main() {
  aigw::client::ClientOptions options;
  if (const char* target = std::getenv("AIGW_TARGET")) options.target = target;
  if (const char* key = std::getenv("AIGW_API_KEY")) options.api_key = key;
  auto client = aigw::client::Client::Connect(options);
  if (!client.ok()) {
    std::cerr << client.status() << "\n";
    return 1;
  }
  std::stringstream text;
  text << std::cin.rdbuf();

  aigw::v1::ChatCompletionRequest request;
  request.set_model("gpt-4o");
  aigw::v1::Message* system = request.add_messages();
  system->set_role("system");
  system->set_content("Summarize the user's text in one sentence.");
  aigw::v1::Message* user = request.add_messages();
  user->set_role("user");
  user->set_content(text.str());

  absl::Status status = (*client)->Stream(
      request, [](const aigw::v1::ChatCompletionChunk& chunk) {
        for (const auto& choice : chunk.choices()) {
          std::cout << choice.delta().content() << std::flush;
        }
        return true;  // false would cancel the stream and the upstream call
      });
  std::cout << "\n";
  if (!status.ok()) {
    std::cerr << "summarizer: " << status.message() << " ("
              << absl::StatusCodeToString(status.code()) << ", "
              << aigw::client::GatewayErrorCode(status) << ")\n";
    return 1;
  }
  return 0;
}
