// Parses who may call and how much: consumers, limits, redis and admin.
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "server/config.h"
#include "server/config_yaml.h"
#include "server/model_mapper.h"

namespace aigw {
namespace {

absl::StatusOr<int64_t> PositiveCount(const YAML::Node& node,
                                      const std::string& key) {
  absl::StatusOr<std::string> text = Scalar(node, key);
  if (!text.ok()) return text.status();
  int64_t value = 0;
  if (!absl::SimpleAtoi(*text, &value) || value <= 0) {
    return KeyError(key, absl::StrCat("'", *text,
                                      "' is not a positive whole number "
                                      "(leave the key out for no limit)"));
  }
  return value;
}

// Model patterns as model_mapping writes them (exact, "prefix*", "~regex",
// "*"): checked by compiling them the same way.
absl::Status CheckPatterns(const std::vector<std::string>& patterns,
                           const std::string& key) {
  ProviderConfig probe;
  for (const std::string& pattern : patterns) {
    probe.model_mapping.emplace_back(pattern, "");
  }
  absl::StatusOr<ModelMapper> mapper = ModelMapper::Create(probe);
  if (!mapper.ok()) return KeyError(key, mapper.status().message());
  return absl::OkStatus();
}

absl::StatusOr<LimitValues> ParseLimitValues(const YAML::Node& node,
                                             const std::string& where,
                                             bool allow_models) {
  // Concurrency is the consumer's as a whole; a model has budgets only.
  std::set<std::string> known = {"requests_per_minute", "tokens_per_minute",
                                 "tokens_per_day"};
  if (allow_models) known.insert({"models", "max_concurrent"});
  absl::Status status = CheckKeys(node, where, known);
  if (!status.ok()) return status;
  LimitValues values;
  const std::pair<const char*, int64_t*> fields[] = {
      {"requests_per_minute", &values.requests_per_minute},
      {"tokens_per_minute", &values.tokens_per_minute},
      {"tokens_per_day", &values.tokens_per_day},
      {"max_concurrent", &values.max_concurrent},
  };
  for (const auto& [name, field] : fields) {
    if (!node[name]) continue;
    absl::StatusOr<int64_t> value =
        PositiveCount(node[name], absl::StrCat(where, ".", name));
    if (!value.ok()) return value.status();
    *field = *value;
  }
  return values;
}

absl::StatusOr<ConsumerLimits> ParseConsumerLimits(const YAML::Node& node,
                                                   const std::string& where) {
  ConsumerLimits limits;
  absl::StatusOr<LimitValues> all = ParseLimitValues(node, where, true);
  if (!all.ok()) return all.status();
  limits.all = *all;
  const YAML::Node& models = node["models"];
  if (!models) return limits;
  std::string key = where + ".models";
  if (!models.IsMap()) {
    return KeyError(key, "expected a map of model pattern -> limits");
  }
  std::vector<std::string> patterns;
  for (const auto& item : models) {
    std::string pattern = item.first.Scalar();
    absl::StatusOr<LimitValues> values =
        ParseLimitValues(item.second, absl::StrCat(key, ".", pattern), false);
    if (!values.ok()) return values.status();
    limits.models.emplace_back(pattern, *values);
    patterns.push_back(pattern);
  }
  absl::Status status = CheckPatterns(patterns, key);
  if (!status.ok()) return status;
  return limits;
}

// A key as written: plain, or "sha256:" and 64 hex digits.
absl::Status CheckApiKey(const std::string& api_key, const std::string& key) {
  if (api_key.empty()) return KeyError(key, "an API key may not be empty");
  if (!absl::StartsWith(api_key, "sha256:")) return absl::OkStatus();
  absl::string_view hex = absl::string_view(api_key).substr(7);
  bool valid = hex.size() == 64;
  for (char c : hex) valid = valid && absl::ascii_isxdigit(c);
  if (valid) return absl::OkStatus();
  return KeyError(key,
                  "'sha256:' must be followed by the key's SHA-256 as 64 "
                  "hex digits (e.g. from `printf %s KEY | sha256sum`)");
}

absl::StatusOr<ConsumerConfig> ParseConsumer(const YAML::Node& node,
                                             const std::string& where) {
  absl::Status status = CheckKeys(
      node, where,
      {"name", "api_keys", "models", "limits", "on_budget_exhausted"});
  if (!status.ok()) return status;
  ConsumerConfig consumer;
  // A missing key is a zombie node: IsScalar() on it throws.
  if (!node["name"]) return KeyError(where + ".name", "required");
  absl::StatusOr<std::string> name = Scalar(node["name"], where + ".name");
  if (!name.ok()) return name.status();
  if (name->empty()) return KeyError(where + ".name", "required");
  // It becomes a metric label and part of limiter keys.
  for (char c : *name) {
    if (!absl::ascii_isalnum(c) && c != '-' && c != '_' && c != '.') {
      return KeyError(where + ".name",
                      "use letters, digits, '-', '_' and '.' only");
    }
  }
  consumer.name = *name;
  std::string keys_key = where + ".api_keys";
  if (!node["api_keys"]) return KeyError(keys_key, "required");
  status = CheckEnvSet(node["api_keys"], keys_key);
  if (!status.ok()) return status;
  absl::StatusOr<std::vector<std::string>> keys =
      StringList(node["api_keys"], keys_key);
  if (!keys.ok()) return keys.status();
  if (keys->empty()) return KeyError(keys_key, "list at least one key");
  for (size_t i = 0; i < keys->size(); ++i) {
    status = CheckApiKey((*keys)[i], absl::StrCat(keys_key, "[", i, "]"));
    if (!status.ok()) return status;
  }
  consumer.api_keys = *std::move(keys);
  if (node["models"]) {
    absl::StatusOr<std::vector<std::string>> models =
        StringList(node["models"], where + ".models");
    if (!models.ok()) return models.status();
    status = CheckPatterns(*models, where + ".models");
    if (!status.ok()) return status;
    consumer.models = *std::move(models);
  }
  if (node["limits"]) {
    absl::StatusOr<ConsumerLimits> limits =
        ParseConsumerLimits(node["limits"], where + ".limits");
    if (!limits.ok()) return limits.status();
    consumer.has_limits = true;
    consumer.limits = *std::move(limits);
  }
  if (node["on_budget_exhausted"]) {
    std::string key = where + ".on_budget_exhausted";
    absl::StatusOr<std::string> value =
        Scalar(node["on_budget_exhausted"], key);
    if (!value.ok()) return value.status();
    if (*value == "finish") {
      consumer.on_budget_exhausted = BudgetExhausted::kFinish;
    } else if (*value == "cut") {
      consumer.on_budget_exhausted = BudgetExhausted::kCut;
    } else {
      return KeyError(
          key, absl::StrCat("'", *value, "' is not one of: finish, cut"));
    }
  }
  return consumer;
}

absl::Status ParseLimits(const YAML::Node& node, LimitsConfig* limits) {
  absl::Status status =
      CheckKeys(node, "limits",
                {"max_body_bytes", "default", "default_max_tokens", "store",
                 "on_store_error"});
  if (!status.ok()) return status;
  if (node["max_body_bytes"]) {
    absl::StatusOr<int64_t> bytes =
        PositiveCount(node["max_body_bytes"], "limits.max_body_bytes");
    if (!bytes.ok()) {
      return KeyError("limits.max_body_bytes",
                      "expected a positive number of bytes");
    }
    limits->max_body_bytes = static_cast<size_t>(*bytes);
  }
  if (node["default"]) {
    absl::StatusOr<ConsumerLimits> defaults =
        ParseConsumerLimits(node["default"], "limits.default");
    if (!defaults.ok()) return defaults.status();
    limits->default_limits = *std::move(defaults);
  }
  if (node["default_max_tokens"]) {
    absl::StatusOr<int64_t> tokens =
        PositiveCount(node["default_max_tokens"], "limits.default_max_tokens");
    if (!tokens.ok()) return tokens.status();
    limits->default_max_tokens = *tokens;
  }
  if (node["store"]) {
    absl::StatusOr<std::string> store = Scalar(node["store"], "limits.store");
    if (!store.ok()) return store.status();
    if (*store == "local") {
      limits->store = LimitStoreKind::kLocal;
    } else if (*store == "redis") {
      limits->store = LimitStoreKind::kRedis;
    } else {
      return KeyError(
          "limits.store",
          absl::StrCat("'", *store, "' is not one of: local, redis"));
    }
  }
  if (node["on_store_error"]) {
    absl::StatusOr<std::string> policy =
        Scalar(node["on_store_error"], "limits.on_store_error");
    if (!policy.ok()) return policy.status();
    if (*policy != "allow" && *policy != "deny") {
      return KeyError(
          "limits.on_store_error",
          absl::StrCat("'", *policy, "' is not one of: allow, deny"));
    }
    limits->deny_on_store_error = *policy == "deny";
  }
  return absl::OkStatus();
}

absl::Status ParseRedis(const YAML::Node& node, RedisConfig* redis) {
  absl::Status status = CheckKeys(
      node, "redis", {"address", "password", "db", "key_prefix", "timeout"});
  if (!status.ok()) return status;
  if (node["address"]) {
    absl::StatusOr<std::string> address =
        Scalar(node["address"], "redis.address");
    if (!address.ok()) return address.status();
    size_t colon = address->rfind(':');
    int port = 0;
    if (colon == std::string::npos || colon == 0 ||
        !absl::SimpleAtoi(address->substr(colon + 1), &port) || port <= 0 ||
        port > 65535) {
      return KeyError("redis.address",
                      absl::StrCat("'", *address, "' is not host:port"));
    }
    redis->address = *address;
  }
  if (node["password"]) {
    absl::StatusOr<std::string> password =
        Scalar(node["password"], "redis.password");
    if (!password.ok()) return password.status();
    redis->password = *password;
  }
  if (node["db"]) {
    absl::StatusOr<std::string> db = Scalar(node["db"], "redis.db");
    if (!db.ok()) return db.status();
    if (!absl::SimpleAtoi(*db, &redis->db) || redis->db < 0) {
      return KeyError("redis.db", "expected a database number >= 0");
    }
  }
  if (node["key_prefix"]) {
    absl::StatusOr<std::string> prefix =
        Scalar(node["key_prefix"], "redis.key_prefix");
    if (!prefix.ok()) return prefix.status();
    redis->key_prefix = *prefix;
  }
  if (node["timeout"]) {
    absl::StatusOr<absl::Duration> timeout =
        DurationField(node["timeout"], "redis.timeout");
    if (!timeout.ok()) return timeout.status();
    if (*timeout <= absl::ZeroDuration()) {
      return KeyError("redis.timeout", "must be more than 0");
    }
    redis->timeout = *timeout;
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ParseConsumers(const YAML::Node& root, GatewayConfig* config) {
  if (root["limits"]) {
    absl::Status status = ParseLimits(root["limits"], &config->limits);
    if (!status.ok()) return status;
  }
  if (root["redis"]) {
    absl::Status status = ParseRedis(root["redis"], &config->redis);
    if (!status.ok()) return status;
  }
  if (root["admin"]) {
    const YAML::Node& admin = root["admin"];
    absl::Status status = CheckKeys(admin, "admin", {"token"});
    if (!status.ok()) return status;
    if (admin["token"]) {
      status = CheckEnvSet(admin["token"], "admin.token");
      if (!status.ok()) return status;
      absl::StatusOr<std::string> token = Scalar(admin["token"], "admin.token");
      if (!token.ok()) return token.status();
      config->admin.token = *token;
    }
  }
  const YAML::Node& consumers = root["consumers"];
  if (!consumers) return absl::OkStatus();
  if (!consumers.IsSequence()) {
    return KeyError("consumers", "expected a list of consumers");
  }
  std::set<std::string> names;
  std::set<std::string> keys;
  for (size_t i = 0; i < consumers.size(); ++i) {
    std::string where = absl::StrCat("consumers[", i, "]");
    absl::StatusOr<ConsumerConfig> consumer =
        ParseConsumer(consumers[i], where);
    if (!consumer.ok()) return consumer.status();
    if (!names.insert(consumer->name).second) {
      return KeyError(where + ".name", absl::StrCat("duplicate consumer name '",
                                                    consumer->name, "'"));
    }
    for (size_t k = 0; k < consumer->api_keys.size(); ++k) {
      // Never echo the key itself: the error may reach a log.
      if (!keys.insert(consumer->api_keys[k]).second) {
        return KeyError(absl::StrCat(where, ".api_keys[", k, "]"),
                        "this key is already listed for another consumer");
      }
    }
    config->consumers.push_back(*std::move(consumer));
  }
  return absl::OkStatus();
}

}  // namespace aigw
