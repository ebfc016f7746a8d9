// The OpenAI-compatible family: each type is the openai adapter with its
// provider's public base URL. Adding one is a line of data.
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "providers/openai/openai_provider.h"
#include "providers/registry.h"

namespace aigw {
namespace {

struct Preset {
  const char* type;
  const char* default_base_url;  // "" = base_url is required
  bool key_required;
};

constexpr Preset kPresets[] = {
    {"openai", "https://api.openai.com/v1", true},
    {"moonshot", "https://api.moonshot.cn/v1", true},
    {"deepseek", "https://api.deepseek.com/v1", true},
    {"ollama", "http://localhost:11434/v1", false},
    {"groq", "https://api.groq.com/openai/v1", true},
    {"mistral", "https://api.mistral.ai/v1", true},
    {"openrouter", "https://openrouter.ai/api/v1", true},
    {"together", "https://api.together.xyz/v1", true},
    {"zhipu", "https://open.bigmodel.cn/api/paas/v4", true},
    {"doubao", "https://ark.cn-beijing.volces.com/api/v3", true},
    {"baidu", "https://qianfan.baidubce.com/v2", true},
    {"minimax", "https://api.minimax.chat/v1", true},
    {"vllm", "http://localhost:8000/v1", false},
    {"generic", "", false},
};

absl::StatusOr<std::unique_ptr<Provider>> CreatePreset(
    const ProviderConfig& config, const Preset& preset) {
  bool openai = std::string(preset.type) == "openai";
  OpenAiDialect dialect = StandardOpenAiDialect();
  // Responses clients are passed through to OpenAI itself; behind another
  // base_url (a proxy, vLLM, LiteLLM) only with `responses_api: true`, as
  // such servers may lack /responses.
  dialect.responses_api = openai && config.base_url.empty();
  for (const auto& [key, value] : config.options) {
    if (openai && key == "responses_api" &&
        (value == "true" || value == "false")) {
      dialect.responses_api = value == "true";
      continue;
    }
    if (openai && key == "responses_api") {
      return absl::InvalidArgumentError(absl::StrCat(
          "responses_api: expected true or false, not '", value, "'"));
    }
    return absl::InvalidArgumentError(
        absl::StrCat(key, ": not a key of the ", config.type, " provider"));
  }
  return CreateOpenAiCompatible(config, preset.default_base_url,
                                preset.key_required, std::move(dialect));
}

const bool kRegistered = [] {
  for (const Preset& preset : kPresets) {
    ProviderRegistry::Global().Register(
        preset.type, [&preset](const ProviderConfig& config) {
          return CreatePreset(config, preset);
        });
  }
  return true;
}();

}  // namespace
}  // namespace aigw
