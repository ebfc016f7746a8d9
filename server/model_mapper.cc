#include "server/model_mapper.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace aigw {
namespace {

// The config writes capture groups as $1; RE2's rewrite syntax is \1.
std::string ToRe2Rewrite(const std::string& value) {
  std::string out;
  for (size_t i = 0; i < value.size(); ++i) {
    if (value[i] == '$' && i + 1 < value.size() &&
        absl::ascii_isdigit(value[i + 1])) {
      out += '\\';
    } else if (value[i] == '\\') {
      out += "\\\\";
    } else {
      out += value[i];
    }
  }
  return out;
}

}  // namespace

absl::StatusOr<ModelMapper> ModelMapper::Create(const ProviderConfig& config) {
  ModelMapper mapper;
  auto list = [&mapper](const std::string& name) {
    if (std::find(mapper.listed_.begin(), mapper.listed_.end(), name) ==
        mapper.listed_.end()) {
      mapper.listed_.push_back(name);
    }
  };
  for (const auto& [from, to] : config.model_mapping) {
    if (from.empty()) {
      return absl::InvalidArgumentError("empty model name as a mapping key");
    }
    if (from == "*") {
      mapper.fallback_ = to;
    } else if (from[0] == '~') {
      auto pattern = std::make_shared<const RE2>(from.substr(1));
      if (!pattern->ok()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "'", from, "' is not a valid regex: ", pattern->error()));
      }
      std::string rewrite = ToRe2Rewrite(to);
      std::string error;
      if (!to.empty() && !pattern->CheckRewriteString(rewrite, &error)) {
        return absl::InvalidArgumentError(
            absl::StrCat("'", to, "' for '", from, "': ", error));
      }
      mapper.regexes_.push_back({std::move(pattern), std::move(rewrite)});
    } else if (from.back() == '*') {
      mapper.prefixes_.emplace_back(from.substr(0, from.size() - 1), to);
    } else {
      mapper.exact_[from] = to;
      list(from);
    }
  }
  std::stable_sort(mapper.prefixes_.begin(), mapper.prefixes_.end(),
                   [](const auto& a, const auto& b) {
                     return a.first.size() > b.first.size();
                   });
  for (const std::string& model : config.models) {
    mapper.exact_.emplace(model, "");  // served as-is, like an exact entry
    list(model);
  }
  mapper.serves_all_ = config.model_mapping.empty() && config.models.empty();
  return mapper;
}

std::optional<std::string> ModelMapper::Map(
    const std::string& requested) const {
  auto keep_or = [&requested](const std::string& to) {
    return to.empty() ? requested : to;
  };
  auto exact = exact_.find(requested);
  if (exact != exact_.end()) return keep_or(exact->second);
  for (const auto& [prefix, to] : prefixes_) {
    if (absl::StartsWith(requested, prefix)) return keep_or(to);
  }
  for (const RegexRule& rule : regexes_) {
    if (!RE2::PartialMatch(requested, *rule.pattern)) continue;
    if (rule.rewrite.empty()) return requested;
    std::string out;
    RE2::Extract(requested, *rule.pattern, rule.rewrite, &out);
    return out;
  }
  if (fallback_.has_value()) return keep_or(*fallback_);
  if (serves_all_) return requested;
  return std::nullopt;
}

}  // namespace aigw
