// The operational log: one line per event on stderr, JSON (the default) or
// text, for the process's own events (listening, reloads, failed attempts,
// keys cooling down). Requests themselves go to the access log.
//
//   {"ts":"2026-12-02T12:40:12.123Z","level":"info","msg":"config reloaded
//   (SIGHUP)","trigger":"SIGHUP"} 2026-12-02T12:40:12.123Z info config reloaded
//   (SIGHUP) trigger=SIGHUP
//
// Each line goes out in one write(2), so threads never interleave. Level and
// format are process-wide and may change at any time (atomics). A few lines
// that tools and operators find the process by (the "aigw listening ..."
// line) are written with LogAlways, whatever the level: --log-level=error
// keeps them.
#ifndef AIGW_PROVIDERS_COMMON_LOG_H_
#define AIGW_PROVIDERS_COMMON_LOG_H_

#include <cstdint>
#include <initializer_list>
#include <string>
#include <type_traits>
#include <utility>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace aigw {

enum class LogLevel { kDebug, kInfo, kWarn, kError };
enum class LogFormat { kJson, kText };

// debug | info | warn | warning | error (any case).
bool ParseLogLevel(absl::string_view text, LogLevel* level);
// json | text.
bool ParseLogFormat(absl::string_view text, LogFormat* format);
absl::string_view LogLevelName(LogLevel level);

void SetLogLevel(LogLevel level);
void SetLogFormat(LogFormat format);
bool LogEnabled(LogLevel level);

// A field's value; borrows strings for the duration of the Log call.
class LogValue {
 public:
  enum class Kind { kString, kInt, kUint, kDouble, kBool };

  LogValue(absl::string_view v) : kind_(Kind::kString), string_(v) {}
  LogValue(const char* v) : LogValue(absl::string_view(v)) {}
  LogValue(const std::string& v) : LogValue(absl::string_view(v)) {}
  LogValue(bool v) : kind_(Kind::kBool), bool_(v) {}
  LogValue(double v) : kind_(Kind::kDouble), double_(v) {}
  template <typename T,
            std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>,
                             int> = 0>
  LogValue(T v) {
    if constexpr (std::is_signed_v<T>) {
      kind_ = Kind::kInt;
      int_ = v;
    } else {
      kind_ = Kind::kUint;
      uint_ = v;
    }
  }

  // Appends the value as JSON (strings quoted and escaped).
  void AppendJson(std::string* out) const;
  // Appends the value for the text format: quoted only when it must be.
  void AppendText(std::string* out) const;

 private:
  Kind kind_;
  absl::string_view string_;
  union {
    int64_t int_;
    uint64_t uint_;
    double double_;
    bool bool_;
  };
};

using LogField = std::pair<absl::string_view, LogValue>;

// Drops the line cheaply when `level` is below the process's level.
void Log(LogLevel level, absl::string_view message,
         std::initializer_list<LogField> fields = {});
// Written whatever the level (see the top of this file).
void LogAlways(LogLevel level, absl::string_view message,
               std::initializer_list<LogField> fields = {});

// Shared with the access log.
// "2026-12-02T12:40:12.123Z": UTC, milliseconds (rounded down).
std::string FormatRfc3339Utc(absl::Time t);
void AppendRfc3339Utc(std::string* out, absl::Time t);
// Quoted and escaped per RFC 8259 (\" \\ \n \r \t \b \f, other controls as
// \u00XX); bytes that are not valid UTF-8 become \ufffd, so any input gives
// a line a JSON parser accepts.
void AppendJsonString(std::string* out, absl::string_view s);
// For the text format: `s` as is when it is not empty and has no space,
// quote, backslash, '=', control or non-ASCII byte; else AppendJsonString.
void AppendTextValue(std::string* out, absl::string_view s);
// Writes all of `data` to `fd`, retrying EINTR and partial writes; false on
// any other error.
bool WriteFully(int fd, absl::string_view data);

}  // namespace aigw

#endif  // AIGW_PROVIDERS_COMMON_LOG_H_
