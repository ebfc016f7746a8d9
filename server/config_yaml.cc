#include "server/config_yaml.h"

#include <cstdlib>
#include <map>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/config.h"

namespace aigw {

absl::Status KeyError(const std::string& key, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat(key, ": ", message));
}

absl::StatusOr<std::string> Scalar(const YAML::Node& node,
                                   const std::string& key) {
  if (!node.IsScalar()) return KeyError(key, "expected a single value");
  absl::StatusOr<std::string> expanded = ExpandEnv(node.Scalar());
  if (!expanded.ok()) return KeyError(key, expanded.status().message());
  return expanded;
}

std::vector<std::string> MissingEnvVars(absl::string_view text) {
  std::vector<std::string> missing;
  size_t open = text.find("${");
  while (open != absl::string_view::npos) {
    size_t close = text.find('}', open + 2);
    if (close == absl::string_view::npos) break;  // ExpandEnv reports it
    absl::string_view inner = text.substr(open + 2, close - open - 2);
    if (inner.find(":-") == absl::string_view::npos) {
      std::string name(inner);
      const char* env = std::getenv(name.c_str());
      if (env == nullptr || *env == '\0') missing.push_back(name);
    }
    open = text.find("${", close + 1);
  }
  return missing;
}

absl::Status CheckEnvSet(const YAML::Node& node, const std::string& key) {
  if (node.IsSequence()) {
    for (size_t i = 0; i < node.size(); ++i) {
      absl::Status status =
          CheckEnvSet(node[i], absl::StrCat(key, "[", i, "]"));
      if (!status.ok()) return status;
    }
    return absl::OkStatus();
  }
  if (!node.IsScalar()) return absl::OkStatus();  // the reader reports it
  std::vector<std::string> missing = MissingEnvVars(node.Scalar());
  if (missing.empty()) return absl::OkStatus();
  return KeyError(key, absl::StrCat("environment variable ", missing[0],
                                    " is not set (or empty); set it, or "
                                    "write ${",
                                    missing[0], ":-default}"));
}

absl::Status CheckDuplicateKeys(const YAML::Node& node,
                                const std::string& where) {
  if (node.IsSequence()) {
    for (size_t i = 0; i < node.size(); ++i) {
      absl::Status status =
          CheckDuplicateKeys(node[i], absl::StrCat(where, "[", i, "]"));
      if (!status.ok()) return status;
    }
  }
  if (!node.IsMap()) return absl::OkStatus();
  std::map<std::string, int> lines;  // key -> line it was first written on
  for (const auto& item : node) {
    std::string key = item.first.Scalar();
    std::string path = where.empty() ? key : absl::StrCat(where, ".", key);
    int line = item.first.Mark().line + 1;
    auto [first, inserted] = lines.emplace(key, line);
    if (!inserted) {
      return KeyError(path, absl::StrCat("written twice (lines ", first->second,
                                         " and ", line, ")"));
    }
    absl::Status status = CheckDuplicateKeys(item.second, path);
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::Status CheckKeys(const YAML::Node& map, const std::string& where,
                       const std::set<std::string>& known) {
  if (!map.IsMap()) return KeyError(where, "expected a mapping");
  for (const auto& item : map) {
    std::string key = item.first.Scalar();
    if (known.count(key) == 0) {
      return KeyError(where.empty() ? key : absl::StrCat(where, ".", key),
                      absl::StrCat("unknown key (expected one of: ",
                                   absl::StrJoin(known, ", "), ")"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> StringList(const YAML::Node& node,
                                                    const std::string& key) {
  if (!node.IsSequence()) return KeyError(key, "expected a list");
  std::vector<std::string> out;
  for (size_t i = 0; i < node.size(); ++i) {
    absl::StatusOr<std::string> value =
        Scalar(node[i], absl::StrCat(key, "[", i, "]"));
    if (!value.ok()) return value.status();
    out.push_back(*value);
  }
  return out;
}

absl::StatusOr<absl::Duration> DurationField(const YAML::Node& node,
                                             const std::string& key) {
  absl::StatusOr<std::string> text = Scalar(node, key);
  if (!text.ok()) return text.status();
  absl::StatusOr<absl::Duration> d = ParseDuration(*text);
  if (!d.ok()) return KeyError(key, d.status().message());
  return d;
}

absl::StatusOr<int> PositiveInt(const YAML::Node& node,
                                const std::string& key) {
  absl::StatusOr<std::string> text = Scalar(node, key);
  if (!text.ok()) return text.status();
  int value = 0;
  if (!absl::SimpleAtoi(*text, &value) || value <= 0) {
    return KeyError(
        key, absl::StrCat("'", *text, "' is not a positive whole number"));
  }
  return value;
}

absl::StatusOr<std::string> ExpandEnv(absl::string_view text) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] != '$' || i + 1 >= text.size() || text[i + 1] != '{') {
      out.push_back(text[i++]);
      continue;
    }
    size_t close = text.find('}', i + 2);
    if (close == absl::string_view::npos) {
      return absl::InvalidArgumentError("unterminated ${ in value");
    }
    absl::string_view inner = text.substr(i + 2, close - i - 2);
    size_t dash = inner.find(":-");
    std::string name(inner.substr(0, dash));
    if (name.empty()) return absl::InvalidArgumentError("empty ${} in value");
    const char* env = std::getenv(name.c_str());
    if (env != nullptr && (*env != '\0' || dash == absl::string_view::npos)) {
      out += env;
    } else if (dash != absl::string_view::npos) {
      out += std::string(inner.substr(dash + 2));
    }
    i = close + 1;
  }
  return out;
}

absl::StatusOr<absl::Duration> ParseDuration(absl::string_view text) {
  absl::Duration d;
  double number = 0;
  if (text != "0" && absl::SimpleAtod(text, &number)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", text, "' has no unit: write ", text, "ms or ", text, "s"));
  }
  if (!absl::ParseDuration(text, &d) || d < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", text, "' is not a duration such as 500ms, 2s, 1m"));
  }
  return d;
}

}  // namespace aigw
