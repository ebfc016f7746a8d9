#include "server/filters/auth/config.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/filters/auth/filter.h"

namespace aigw {

// OpenSSL 3's one-shot SHA256() fetches the algorithm from its provider
// registry under a lock on every call (about 1 µs); the direct functions,
// deprecated but kept by 3.x, hash a key in a tenth of that.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
std::string Sha256(absl::string_view text) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  SHA256_Update(&ctx, text.data(), text.size());
  SHA256_Final(digest, &ctx);
  return std::string(reinterpret_cast<const char*>(digest), sizeof(digest));
}
#pragma GCC diagnostic pop

absl::StatusOr<std::shared_ptr<AuthConfig>> AuthConfig::Create(
    const std::vector<ConsumerConfig>& consumers) {
  if (consumers.empty()) return std::shared_ptr<AuthConfig>();
  auto config = std::make_shared<AuthConfig>();
  for (size_t i = 0; i < consumers.size(); ++i) {
    auto consumer = std::make_unique<Consumer>();
    consumer->config = consumers[i];
    if (!consumers[i].models.empty()) {
      ProviderConfig patterns;
      for (const std::string& model : consumers[i].models) {
        patterns.model_mapping.emplace_back(model, "");
      }
      absl::StatusOr<ModelMapper> allowed = ModelMapper::Create(patterns);
      if (!allowed.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "consumers[", i, "].models: ", allowed.status().message()));
      }
      consumer->allowed_models = std::move(*allowed);
    }
    for (const std::string& key : consumers[i].api_keys) {
      std::string digest =
          absl::StartsWith(key, "sha256:")
              ? absl::HexStringToBytes(absl::AsciiStrToLower(key.substr(7)))
              : Sha256(key);
      // The same key twice, one written plain and one as its hash.
      if (!config->by_digest_.emplace(digest, consumer.get()).second) {
        return absl::InvalidArgumentError(absl::StrCat(
            "consumers[", i,
            "].api_keys: a key is listed twice (plain or as sha256:)"));
      }
    }
    // Requests need the keys no more; the digests stay.
    consumer->config.api_keys.clear();
    config->consumers_.push_back(std::move(consumer));
  }
  return config;
}

const Consumer* AuthConfig::Find(absl::string_view api_key) const {
  std::string digest = Sha256(api_key);
  auto found = by_digest_.find(digest);
  if (found == by_digest_.end()) return nullptr;
  // The map compared digests; this says so again without an early exit.
  if (CRYPTO_memcmp(found->first.data(), digest.data(), digest.size()) != 0) {
    return nullptr;
  }
  return found->second;
}

std::unique_ptr<RequestFilter> AuthConfig::Create(const RequestContext&) const {
  return std::make_unique<AuthFilter>(*this);
}

}  // namespace aigw
