#include "server/model_catalog.h"

#include <gtest/gtest.h>

#include <vector>

#include "providers/common/api_error.h"
#include "server/snapshot_testing.h"

namespace aigw {
namespace {

std::shared_ptr<const GatewaySnapshot> Build(const std::string& yaml) {
  return BuildFromYaml(yaml);
}

std::vector<std::string> Ids(const v1::ListModelsResponse& list) {
  std::vector<std::string> ids;
  for (const v1::Model& model : list.data()) ids.push_back(model.id());
  return ids;
}

TEST(ModelCatalog, DefaultConfigListsEcho) {
  auto snapshot = Build(kDefaultConfigYaml);
  v1::ListModelsResponse list = ListServedModels(*snapshot);
  EXPECT_EQ(Ids(list), (std::vector<std::string>{"echo"}));
  EXPECT_EQ(list.data(0).owned_by(), "echo");
  EXPECT_EQ(list.data(0).object(), "model");
  EXPECT_GT(list.data(0).created(), 0);
}

TEST(ModelCatalog, ListsConcreteNamesOfProvidersAndRoutesOnce) {
  auto snapshot = Build(R"(
providers:
  - {name: a, type: echo, model_mapping: {gpt-4o: x, "gpt-4*": y, "*": z}}
  - {name: b, type: echo, models: [b-model, gpt-4o]}
routes:
  - {models: [routed, "r-*", "~^re$"], providers: [b]}
)");
  v1::ListModelsResponse list = ListServedModels(*snapshot);
  EXPECT_EQ(Ids(list),
            (std::vector<std::string>{"gpt-4o", "b-model", "routed"}));
  // Each is owned by the provider a request for it reaches.
  EXPECT_EQ(list.data(0).owned_by(), "a");
  EXPECT_EQ(list.data(1).owned_by(), "a");  // a's "*" comes first
  EXPECT_EQ(list.data(2).owned_by(), "b");
}

TEST(ModelCatalog, FindServedModelFollowsRouting) {
  auto snapshot = Build(R"(
providers:
  - {name: a, type: echo, model_mapping: {"gpt-4*": y}}
  - {name: b, type: echo, models: [b-model]}
)");
  absl::StatusOr<v1::Model> model = FindServedModel(*snapshot, "gpt-4o-mini");
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ(model->id(), "gpt-4o-mini");
  EXPECT_EQ(model->owned_by(), "a");
  EXPECT_EQ(FindServedModel(*snapshot, "b-model")->owned_by(), "b");

  absl::StatusOr<v1::Model> missing = FindServedModel(*snapshot, "nope");
  ASSERT_FALSE(missing.ok());
  ErrorDetails details = GetErrorDetails(missing.status());
  EXPECT_EQ(details.http_status, 404);
  EXPECT_EQ(details.code, "model_not_found");
}

}  // namespace
}  // namespace aigw
