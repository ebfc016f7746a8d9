#include "server/gateway.h"

#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "providers/common/api_error.h"
#include "providers/registry.h"

namespace aigw {
namespace {

struct Route {
  const Backend* backend = nullptr;
  std::string upstream_model;
};

absl::Status Validate(const v1::ChatCompletionRequest& request) {
  if (request.model().empty()) {
    return InvalidRequest("you must provide a model parameter", "model",
                          "missing_required");
  }
  if (request.messages_size() == 0) {
    return InvalidRequest(
        "Invalid 'messages': empty array. Expected an array with minimum "
        "length 1, but got an empty array instead.",
        "messages", "empty_array");
  }
  for (int i = 0; i < request.messages_size(); ++i) {
    const std::string& role = request.messages(i).role();
    if (role != "system" && role != "developer" && role != "user" &&
        role != "assistant" && role != "tool" && role != "function") {
      std::string param = absl::StrCat("messages[", i, "].role");
      return InvalidRequest(
          absl::StrCat("Invalid value for '", param, "': '", role,
                       "'. Supported values are: 'system', 'developer', "
                       "'user', 'assistant', 'tool' and 'function'."),
          param, "invalid_value");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Route> FindRoute(const GatewaySnapshot& snapshot,
                                const std::string& model) {
  for (const Backend& backend : snapshot.backends) {
    std::optional<std::string> mapped = backend.mapper.Map(model);
    if (mapped.has_value()) return Route{&backend, std::move(*mapped)};
  }
  ApiErrorSpec spec;
  spec.code = absl::StatusCode::kNotFound;
  spec.message = absl::StrCat("The model `", model,
                              "` does not exist or you do not have access "
                              "to it.");
  spec.error_code = "model_not_found";
  spec.param = "model";
  return MakeApiError(spec);
}

// Presents the provider's chunks as the client expects them: the model name
// it asked for, and the usage chunk only when it asked for usage.
class ClientChunkSink : public ChunkSink {
 public:
  ClientChunkSink(ChunkSink& out, std::string model, bool include_usage)
      : out_(out), model_(std::move(model)), include_usage_(include_usage) {}

  bool Write(v1::ChatCompletionChunk chunk) override {
    if (chunk.has_usage()) usage_ = chunk.usage();
    if (chunk.has_usage() && !include_usage_) {
      if (chunk.choices_size() == 0) return true;
      chunk.clear_usage();
    }
    chunk.set_model(model_);
    return out_.Write(std::move(chunk));
  }

  const v1::Usage& usage() const { return usage_; }

 private:
  ChunkSink& out_;
  const std::string model_;
  const bool include_usage_;
  v1::Usage usage_;
};

}  // namespace

absl::StatusOr<std::shared_ptr<const GatewaySnapshot>> BuildSnapshot(
    GatewayConfig config) {
  auto snapshot = std::make_shared<GatewaySnapshot>();
  for (size_t i = 0; i < config.providers.size(); ++i) {
    const ProviderConfig& provider_config = config.providers[i];
    std::string where = absl::StrCat("providers[", i, "]");
    absl::StatusOr<ModelMapper> mapper = ModelMapper::Create(provider_config);
    if (!mapper.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ".model_mapping: ", mapper.status().message()));
    }
    absl::StatusOr<std::unique_ptr<Provider>> provider =
        ProviderRegistry::Global().Create(provider_config);
    if (!provider.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ".", provider.status().message()));
    }
    snapshot->backends.push_back(
        Backend{provider_config, std::move(*mapper), std::move(*provider)});
  }
  snapshot->config = std::move(config);
  return std::shared_ptr<const GatewaySnapshot>(std::move(snapshot));
}

Gateway::Gateway(std::shared_ptr<const GatewaySnapshot> snapshot,
                 Metrics* metrics)
    : snapshot_(std::move(snapshot)), metrics_(metrics) {}

std::shared_ptr<const GatewaySnapshot> Gateway::snapshot() const {
  absl::MutexLock lock(&mu_);
  return snapshot_;
}

void Gateway::SetSnapshot(std::shared_ptr<const GatewaySnapshot> snapshot) {
  absl::MutexLock lock(&mu_);
  snapshot_ = std::move(snapshot);
}

absl::StatusOr<v1::ChatCompletion> Gateway::Create(
    v1::ChatCompletionRequest request, CancelToken* cancel) {
  absl::Time start = absl::Now();
  std::shared_ptr<const GatewaySnapshot> snapshot = this->snapshot();
  std::string provider_name;
  absl::StatusOr<v1::ChatCompletion> result =
      [&]() -> absl::StatusOr<v1::ChatCompletion> {
    absl::Status valid = Validate(request);
    if (!valid.ok()) return valid;
    absl::StatusOr<Route> route = FindRoute(*snapshot, request.model());
    if (!route.ok()) return route.status();
    provider_name = route->backend->config.name;
    std::string requested = request.model();
    request.set_model(route->upstream_model);
    request.set_stream(false);
    request.clear_stream_options();
    CancelToken never_cancelled;
    CallContext ctx{cancel != nullptr ? cancel : &never_cancelled};
    absl::StatusOr<v1::ChatCompletion> completion =
        route->backend->provider->Complete(request, ctx);
    if (!completion.ok()) return completion.status();
    completion->set_model(requested);
    if (completion->has_usage()) {
      metrics_->RecordUsage(provider_name, completion->usage());
    }
    return completion;
  }();
  metrics_->RecordRequest(
      provider_name, false,
      result.ok() ? 200 : GetErrorDetails(result.status()).http_status,
      absl::Now() - start);
  return result;
}

absl::Status Gateway::Stream(v1::ChatCompletionRequest request, ChunkSink& sink,
                             CancelToken* cancel) {
  absl::Time start = absl::Now();
  std::shared_ptr<const GatewaySnapshot> snapshot = this->snapshot();
  std::string provider_name;
  metrics_->StreamOpened();
  absl::Status status = [&]() -> absl::Status {
    absl::Status valid = Validate(request);
    if (!valid.ok()) return valid;
    absl::StatusOr<Route> route = FindRoute(*snapshot, request.model());
    if (!route.ok()) return route.status();
    provider_name = route->backend->config.name;
    ClientChunkSink client_sink(sink, request.model(),
                                request.stream_options().include_usage());
    request.set_model(route->upstream_model);
    request.set_stream(true);
    CancelToken never_cancelled;
    CallContext ctx{cancel != nullptr ? cancel : &never_cancelled};
    absl::Status result =
        route->backend->provider->Stream(request, ctx, client_sink);
    metrics_->RecordUsage(provider_name, client_sink.usage());
    return result;
  }();
  metrics_->StreamClosed();
  metrics_->RecordRequest(
      provider_name, true,
      status.ok() ? 200 : GetErrorDetails(status).http_status,
      absl::Now() - start);
  return status;
}

absl::StatusOr<v1::EmbeddingsResponse> Gateway::Embed(
    v1::EmbeddingsRequest request, CancelToken* cancel) {
  absl::Time start = absl::Now();
  std::shared_ptr<const GatewaySnapshot> snapshot = this->snapshot();
  std::string provider_name;
  absl::StatusOr<v1::EmbeddingsResponse> result =
      [&]() -> absl::StatusOr<v1::EmbeddingsResponse> {
    if (request.model().empty()) {
      return InvalidRequest("you must provide a model parameter", "model",
                            "missing_required");
    }
    if (request.input_size() == 0) {
      return InvalidRequest("'input' must not be empty.", "input",
                            "missing_required");
    }
    absl::StatusOr<Route> route = FindRoute(*snapshot, request.model());
    if (!route.ok()) return route.status();
    provider_name = route->backend->config.name;
    std::string requested = request.model();
    request.set_model(route->upstream_model);
    CancelToken never_cancelled;
    CallContext ctx{cancel != nullptr ? cancel : &never_cancelled};
    absl::StatusOr<v1::EmbeddingsResponse> response =
        route->backend->provider->Embed(request, ctx);
    if (!response.ok()) return response.status();
    response->set_model(requested);
    metrics_->RecordUsage(provider_name, response->usage());
    return response;
  }();
  metrics_->RecordRequest(
      provider_name, false,
      result.ok() ? 200 : GetErrorDetails(result.status()).http_status,
      absl::Now() - start);
  return result;
}

v1::ListModelsResponse Gateway::ListModels() const {
  std::shared_ptr<const GatewaySnapshot> snapshot = this->snapshot();
  v1::ListModelsResponse response;
  response.set_object("list");
  std::set<std::string> seen;
  for (const Backend& backend : snapshot->backends) {
    for (const std::string& name : backend.mapper.listed_models()) {
      if (!seen.insert(name).second) continue;
      // Owned by the provider a request for this name would reach.
      absl::StatusOr<Route> route = FindRoute(*snapshot, name);
      v1::Model* model = response.add_data();
      model->set_id(name);
      model->set_object("model");
      model->set_owned_by(route.ok() ? route->backend->config.name
                                     : backend.config.name);
    }
  }
  return response;
}

}  // namespace aigw
