// libFuzzer target: YAML config text -> GatewayConfig. Provider types are
// registered with a stub factory: ParseConfig only checks the type exists.
#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "providers/registry.h"
#include "server/config.h"

namespace {

absl::StatusOr<std::unique_ptr<aigw::Provider>> StubCreate(
    const aigw::ProviderConfig&) {
  return absl::UnimplementedError("fuzz stub");
}

const aigw::ProviderRegistration kEcho("echo", StubCreate);
const aigw::ProviderRegistration kOpenAi("openai", StubCreate);
const aigw::ProviderRegistration kClaude("claude", StubCreate);
const aigw::ProviderRegistration kGemini("gemini", StubCreate);
const aigw::ProviderRegistration kQwen("qwen", StubCreate);
const aigw::ProviderRegistration kAzure("azure", StubCreate);

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view yaml(reinterpret_cast<const char*>(data), size);
  auto config = aigw::ParseConfig(yaml);
  (void)config;
  return 0;
}
