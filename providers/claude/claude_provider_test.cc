#include "providers/claude/claude_provider.h"

#include <gtest/gtest.h>

#include "providers/registry.h"

namespace aigw {
namespace {

ProviderConfig Config() {
  ProviderConfig config;
  config.name = "anthropic";
  config.type = "claude";
  config.api_keys = {"sk-ant-1"};
  return config;
}

TEST(ClaudeProvider, RegisteredWithDefaults) {
  EXPECT_TRUE(ProviderRegistry::Global().Has("claude"));
  EXPECT_TRUE(ProviderRegistry::Global().Create(Config()).ok());
  ProviderConfig config = Config();
  config.options["anthropic_version"] = "2023-06-01";
  config.base_url = "http://127.0.0.1:1";
  EXPECT_TRUE(ProviderRegistry::Global().Create(config).ok());
}

TEST(ClaudeProvider, ConfigErrorsNameTheKey) {
  ProviderConfig config = Config();
  config.options["api_version"] = "v1";
  absl::StatusOr<std::unique_ptr<Provider>> provider =
      ProviderRegistry::Global().Create(config);
  ASSERT_FALSE(provider.ok());
  EXPECT_EQ(provider.status().message(),
            "api_version: not a key of the claude provider");

  config = Config();
  config.options["anthropic_version"] = "";
  provider = ProviderRegistry::Global().Create(config);
  ASSERT_FALSE(provider.ok());
  EXPECT_EQ(provider.status().message().rfind("anthropic_version:", 0), 0u);

  config = Config();
  config.api_keys.clear();
  provider = ProviderRegistry::Global().Create(config);
  ASSERT_FALSE(provider.ok());
  EXPECT_EQ(provider.status().message().rfind("api_keys:", 0), 0u);

  config = Config();
  config.base_url = "not a url";
  provider = ProviderRegistry::Global().Create(config);
  ASSERT_FALSE(provider.ok());
  EXPECT_EQ(provider.status().message().rfind("base_url:", 0), 0u);
}

}  // namespace
}  // namespace aigw
