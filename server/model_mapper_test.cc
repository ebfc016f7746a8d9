#include "server/model_mapper.h"

#include <gtest/gtest.h>

namespace aigw {
namespace {

ModelMapper Make(std::vector<std::pair<std::string, std::string>> mapping,
                 std::vector<std::string> models = {}) {
  ProviderConfig config;
  config.model_mapping = std::move(mapping);
  config.models = std::move(models);
  absl::StatusOr<ModelMapper> mapper = ModelMapper::Create(config);
  EXPECT_TRUE(mapper.ok()) << mapper.status();
  return *std::move(mapper);
}

TEST(ModelMapper, PrecedenceIsExactPrefixRegexThenStar) {
  ModelMapper mapper = Make({{"*", "turbo"},
                             {"~^gpt-4o-(.*)$", "re-$1"},
                             {"gpt-*", "short-prefix"},
                             {"gpt-4*", "long-prefix"},
                             {"gpt-4o", "qwen-max"}});
  EXPECT_EQ(mapper.Map("gpt-4o"), "qwen-max");          // exact
  EXPECT_EQ(mapper.Map("gpt-4o-mini"), "long-prefix");  // prefix beats re
  EXPECT_EQ(mapper.Map("gpt-3.5"), "short-prefix");     // longest prefix
  EXPECT_EQ(mapper.Map("claude"), "turbo");             // star
}

TEST(ModelMapper, RegexesInOrderWithCaptureGroups) {
  ModelMapper mapper = Make(
      {{"~^o(\\d)-mini$", "qwen-turbo-$1"}, {"~^o", "second"}, {"~mini", ""}});
  EXPECT_EQ(mapper.Map("o3-mini"), "qwen-turbo-3");
  EXPECT_EQ(mapper.Map("o1"), "second");
  EXPECT_EQ(mapper.Map("gpt-mini"), "gpt-mini");  // "" keeps the name
  EXPECT_EQ(mapper.Map("claude"), std::nullopt);
}

TEST(ModelMapper, EmptyValueKeepsRequestedName) {
  ModelMapper mapper = Make({{"rec-*", ""}, {"a", ""}});
  EXPECT_EQ(mapper.Map("rec-basic"), "rec-basic");
  EXPECT_EQ(mapper.Map("a"), "a");
  EXPECT_EQ(mapper.Map("b"), std::nullopt);
}

TEST(ModelMapper, ModelsAreServedAsIsAndListed) {
  ModelMapper mapper = Make({{"gpt-4o", "qwen-max"}}, {"qwen-max", "extra"});
  EXPECT_EQ(mapper.Map("extra"), "extra");
  EXPECT_EQ(mapper.Map("other"), std::nullopt);
  EXPECT_EQ(mapper.listed_models(),
            (std::vector<std::string>{"gpt-4o", "qwen-max", "extra"}));
}

TEST(ModelMapper, NoMappingNoModelsServesEverything) {
  ModelMapper mapper = Make({});
  EXPECT_EQ(mapper.Map("anything"), "anything");
  EXPECT_TRUE(mapper.listed_models().empty());
}

TEST(ModelMapper, InvalidRegexIsRejected) {
  ProviderConfig config;
  config.model_mapping = {{"~([a-z", "x"}};
  EXPECT_FALSE(ModelMapper::Create(config).ok());
  config.model_mapping = {{"~^a$", "$2"}};
  EXPECT_FALSE(ModelMapper::Create(config).ok());
}

}  // namespace
}  // namespace aigw
