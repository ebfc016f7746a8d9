// The models a client can ask for, as GET /v1/models, GET /v1/models/{id}
// and the gRPC ListModels answer them: from one snapshot, so the list and a
// request for one of its names always agree.
#ifndef AIGW_SERVER_MODEL_CATALOG_H_
#define AIGW_SERVER_MODEL_CATALOG_H_

#include <string>

#include "absl/status/statusor.h"
#include "proto/aigw/v1/chat.pb.h"
#include "server/snapshot.h"

namespace aigw {

// Every concrete name a client can send (model_mapping's exact keys, each
// provider's `models`, the exact names of routes), once each, owned by the
// provider a request for it would reach first.
v1::ListModelsResponse ListServedModels(const GatewaySnapshot& snapshot);

// One name a request may use, patterns and `*` included; 404
// model_not_found when no provider serves it.
absl::StatusOr<v1::Model> FindServedModel(const GatewaySnapshot& snapshot,
                                          const std::string& id);

}  // namespace aigw

#endif  // AIGW_SERVER_MODEL_CATALOG_H_
