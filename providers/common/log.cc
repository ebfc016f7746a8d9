#include "providers/common/log.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace aigw {
namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
std::atomic<int> g_format{static_cast<int>(LogFormat::kJson)};

constexpr char kHex[] = "0123456789abcdef";

// The length of the valid UTF-8 sequence starting at s[i], or 0 when the
// bytes there are not one (overlong forms, surrogates and code points past
// U+10FFFF included).
size_t Utf8SequenceLength(absl::string_view s, size_t i) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  size_t length;
  unsigned char low = 0x80, high = 0xbf;  // bounds of the second byte
  if (c >= 0xc2 && c <= 0xdf) {
    length = 2;
  } else if (c >= 0xe0 && c <= 0xef) {
    length = 3;
    if (c == 0xe0) low = 0xa0;
    if (c == 0xed) high = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    length = 4;
    if (c == 0xf0) low = 0x90;
    if (c == 0xf4) high = 0x8f;
  } else {
    return 0;
  }
  if (i + length > s.size()) return 0;
  unsigned char second = static_cast<unsigned char>(s[i + 1]);
  if (second < low || second > high) return 0;
  for (size_t k = 2; k < length; ++k) {
    unsigned char next = static_cast<unsigned char>(s[i + k]);
    if (next < 0x80 || next > 0xbf) return 0;
  }
  return length;
}

// The body of a JSON string (no quotes). Runs of plain bytes are copied at
// once: most log text needs no escaping.
void AppendJsonEscaped(std::string* out, absl::string_view s) {
  size_t plain = 0;  // start of the pending run of bytes copied as is
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
      ++i;
      continue;
    }
    size_t length = 1;
    if (c >= 0x80) {
      length = Utf8SequenceLength(s, i);
      if (length > 0) {
        i += length;
        continue;
      }
      length = 1;
    }
    out->append(s.data() + plain, i - plain);
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      default:
        if (c >= 0x80) {
          out->append("\\ufffd");
        } else {
          char escape[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xf]};
          out->append(escape, sizeof(escape));
        }
    }
    i += length;
    plain = i;
  }
  out->append(s.data() + plain, s.size() - plain);
}

bool NeedsQuotes(absl::string_view s) {
  if (s.empty()) return true;
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c <= 0x20 || c == '"' || c == '=' || c == '\\' || c >= 0x7f) {
      return true;
    }
  }
  return false;
}

void AppendDouble(std::string* out, double v) {
  if (std::isfinite(v)) {
    absl::StrAppend(out, v);
  } else {
    out->append("null");  // JSON has no NaN or infinity
  }
}

void Append2(std::string* out, int v) {
  char digits[] = {static_cast<char>('0' + v / 10),
                   static_cast<char>('0' + v % 10)};
  out->append(digits, 2);
}

void WriteLine(LogLevel level, absl::string_view message,
               std::initializer_list<LogField> fields) {
  std::string line;
  line.reserve(128 + message.size());
  absl::string_view level_name = LogLevelName(level);
  if (static_cast<LogFormat>(g_format.load(std::memory_order_relaxed)) ==
      LogFormat::kText) {
    AppendRfc3339Utc(&line, absl::Now());
    absl::StrAppend(&line, " ", level_name, " ");
    // The message stays readable; only what would break the line is escaped.
    AppendJsonEscaped(&line, message);
    for (const LogField& field : fields) {
      line.push_back(' ');
      line.append(field.first.data(), field.first.size());
      line.push_back('=');
      field.second.AppendText(&line);
    }
  } else {
    line.append("{\"ts\":\"");
    AppendRfc3339Utc(&line, absl::Now());
    absl::StrAppend(&line, "\",\"level\":\"", level_name, "\",\"msg\":");
    AppendJsonString(&line, message);
    for (const LogField& field : fields) {
      line.push_back(',');
      AppendJsonString(&line, field.first);
      line.push_back(':');
      field.second.AppendJson(&line);
    }
    line.push_back('}');
  }
  line.push_back('\n');
  WriteFully(STDERR_FILENO, line);
}

}  // namespace

bool ParseLogLevel(absl::string_view text, LogLevel* level) {
  std::string lower = absl::AsciiStrToLower(text);
  if (lower == "debug") {
    *level = LogLevel::kDebug;
  } else if (lower == "info") {
    *level = LogLevel::kInfo;
  } else if (lower == "warn" || lower == "warning") {
    *level = LogLevel::kWarn;
  } else if (lower == "error") {
    *level = LogLevel::kError;
  } else {
    return false;
  }
  return true;
}

bool ParseLogFormat(absl::string_view text, LogFormat* format) {
  std::string lower = absl::AsciiStrToLower(text);
  if (lower == "json") {
    *format = LogFormat::kJson;
  } else if (lower == "text") {
    *format = LogFormat::kText;
  } else {
    return false;
  }
  return true;
}

absl::string_view LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

void SetLogLevel(LogLevel level) {
  g_level.store(static_cast<int>(level), std::memory_order_relaxed);
}

void SetLogFormat(LogFormat format) {
  g_format.store(static_cast<int>(format), std::memory_order_relaxed);
}

bool LogEnabled(LogLevel level) {
  return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed);
}

void LogValue::AppendJson(std::string* out) const {
  switch (kind_) {
    case Kind::kString:
      AppendJsonString(out, string_);
      break;
    case Kind::kInt:
      absl::StrAppend(out, int_);
      break;
    case Kind::kUint:
      absl::StrAppend(out, uint_);
      break;
    case Kind::kDouble:
      AppendDouble(out, double_);
      break;
    case Kind::kBool:
      out->append(bool_ ? "true" : "false");
      break;
  }
}

void LogValue::AppendText(std::string* out) const {
  if (kind_ == Kind::kString) {
    AppendTextValue(out, string_);
  } else {
    AppendJson(out);
  }
}

void Log(LogLevel level, absl::string_view message,
         std::initializer_list<LogField> fields) {
  if (!LogEnabled(level)) return;
  WriteLine(level, message, fields);
}

void LogAlways(LogLevel level, absl::string_view message,
               std::initializer_list<LogField> fields) {
  WriteLine(level, message, fields);
}

void AppendRfc3339Utc(std::string* out, absl::Time t) {
  int64_t ms = absl::ToUnixMillis(t);  // rounds toward the past
  int64_t days = ms >= 0 ? ms / 86400000 : (ms - 86399999) / 86400000;
  int64_t ms_of_day = ms - days * 86400000;
  // Howard Hinnant's civil_from_days: no time zone database, no locale.
  int64_t z = days + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  int month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  if (year >= 0 && year <= 9999) {
    Append2(out, static_cast<int>(year / 100));
    Append2(out, static_cast<int>(year % 100));
  } else {
    absl::StrAppend(out, year);
  }
  out->push_back('-');
  Append2(out, month);
  out->push_back('-');
  Append2(out, day);
  out->push_back('T');
  Append2(out, static_cast<int>(ms_of_day / 3600000));
  out->push_back(':');
  Append2(out, static_cast<int>(ms_of_day / 60000 % 60));
  out->push_back(':');
  Append2(out, static_cast<int>(ms_of_day / 1000 % 60));
  out->push_back('.');
  int millis = static_cast<int>(ms_of_day % 1000);
  out->push_back(static_cast<char>('0' + millis / 100));
  Append2(out, millis % 100);
  out->push_back('Z');
}

std::string FormatRfc3339Utc(absl::Time t) {
  std::string out;
  AppendRfc3339Utc(&out, t);
  return out;
}

void AppendJsonString(std::string* out, absl::string_view s) {
  out->push_back('"');
  AppendJsonEscaped(out, s);
  out->push_back('"');
}

void AppendTextValue(std::string* out, absl::string_view s) {
  if (NeedsQuotes(s)) {
    AppendJsonString(out, s);
  } else {
    out->append(s.data(), s.size());
  }
}

bool WriteFully(int fd, absl::string_view data) {
  while (!data.empty()) {
    ssize_t written = ::write(fd, data.data(), data.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<size_t>(written));
  }
  return true;
}

}  // namespace aigw
