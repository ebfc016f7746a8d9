// aigw-cli over the gateway's gRPC API, with the client library.
#include <google/protobuf/util/json_util.h>

#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "client/aigw_client.h"
#include "client/cli/gateway.h"

namespace aigw::cli {

namespace {

constexpr char kDefaultTarget[] = "127.0.0.1:9090";

std::string ToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;  // OpenAI's names
  std::string text;
  if (!google::protobuf::util::MessageToJsonString(message, &text, options)
           .ok()) {
    return "{}";
  }
  return text;
}

class GrpcGateway : public Gateway {
 public:
  explicit GrpcGateway(std::unique_ptr<client::Client> client)
      : client_(std::move(client)) {}

  absl::Status Chat(const CliOptions& options, const std::string& prompt,
                    std::FILE* out) override {
    v1::ChatCompletionRequest request;
    request.set_model(options.model);
    if (!options.system.empty()) {
      v1::Message* system = request.add_messages();
      system->set_role("system");
      system->set_content(options.system);
    }
    v1::Message* user = request.add_messages();
    user->set_role("user");
    user->set_content(prompt);
    if (options.max_tokens) request.set_max_tokens(*options.max_tokens);
    if (options.no_stream) {
      absl::StatusOr<v1::ChatCompletion> answer = client_->Create(request);
      if (!answer.ok()) return answer.status();
      if (options.json) {
        WriteNow(out, ToJson(*answer) + "\n");
      } else if (answer->choices_size() > 0) {
        WriteNow(out, answer->choices(0).message().content() + "\n");
      }
      return absl::OkStatus();
    }
    request.set_stream(true);
    if (options.json) request.mutable_stream_options()->set_include_usage(true);
    bool ended_line = true;
    absl::Status status =
        client_->Stream(request, [&](const v1::ChatCompletionChunk& chunk) {
          if (options.json) {
            WriteNow(out, ToJson(chunk) + "\n");
            return true;
          }
          for (const v1::ChunkChoice& choice : chunk.choices()) {
            const std::string& text = choice.delta().content();
            if (choice.index() != 0 || text.empty()) continue;
            WriteNow(out, text);
            ended_line = text.back() == '\n';
          }
          return true;
        });
    if (!options.json && !ended_line) WriteNow(out, "\n");
    return status;
  }

  absl::Status Models(const CliOptions& options, std::FILE* out) override {
    absl::StatusOr<v1::ListModelsResponse> list = client_->ListModels();
    if (!list.ok()) return list.status();
    if (options.json) {
      WriteNow(out, ToJson(*list) + "\n");
      return absl::OkStatus();
    }
    for (const v1::Model& model : list->data()) {
      WriteNow(out, absl::StrCat(model.id(), "\t", model.owned_by(), "\n"));
    }
    return absl::OkStatus();
  }

  absl::Status Embed(const CliOptions& options,
                     const std::vector<std::string>& texts,
                     std::FILE* out) override {
    v1::EmbeddingsRequest request;
    request.set_model(options.model);
    for (const std::string& text : texts) request.add_input(text);
    absl::StatusOr<v1::EmbeddingsResponse> answer =
        client_->Embeddings(request);
    if (!answer.ok()) return answer.status();
    if (options.json) {
      WriteNow(out, ToJson(*answer) + "\n");
      return absl::OkStatus();
    }
    for (const v1::Embedding& item : answer->data()) {
      nlohmann::json vector = nlohmann::json::array();
      for (double value : item.embedding()) vector.push_back(value);
      WriteNow(out, vector.dump() + "\n");
    }
    return absl::OkStatus();
  }

 private:
  std::unique_ptr<client::Client> client_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Gateway>> NewGrpcGateway(
    const CliOptions& options) {
  client::ClientOptions client_options;
  std::string target_text =
      options.target.empty() ? kDefaultTarget : options.target;
  absl::string_view target = target_text;
  if (absl::ConsumePrefix(&target, "grpcs://")) {
    client_options.tls = true;
  } else if (absl::StartsWith(target, "http://") ||
             absl::StartsWith(target, "https://")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--grpc wants --target=host:port (or grpcs://host:port), not '", target,
        "'"));
  } else {
    absl::ConsumePrefix(&target, "grpc://");
  }
  client_options.target = std::string(target);
  // A long answer may take longer than the library's default deadline.
  client_options.deadline = absl::ZeroDuration();
  client_options.api_key = options.api_key;
  client_options.ca_file = options.ca_file;
  client_options.tls = client_options.tls || !options.ca_file.empty();
  absl::StatusOr<std::unique_ptr<client::Client>> client =
      client::Client::Connect(client_options);
  if (!client.ok()) return client.status();
  return std::make_unique<GrpcGateway>(std::move(*client));
}

}  // namespace aigw::cli
