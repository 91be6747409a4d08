// Structured lifecycle logs: one JSON object per line on stderr, e.g.
//   {"ts":"2026-11-22T10:00:00.123456Z","level":"info","msg":"topic created","topic":"orders",...}
// Only lifecycle events are logged (start, listen addresses, topics created and deleted, slow
// subscribers cut off, shutdown), never individual events. Thread-safe.
#ifndef RINGCAST_SERVER_OBSERVABILITY_LOG_H_
#define RINGCAST_SERVER_OBSERVABILITY_LOG_H_

#include <cstdint>
#include <initializer_list>
#include <string>
#include <variant>

#include "absl/strings/string_view.h"

namespace ringcast::server {

enum class LogLevel { kInfo, kWarning, kError };

struct LogField {
  LogField(absl::string_view k, absl::string_view v) : key(k), value(std::string(v)) {}
  LogField(absl::string_view k, const char* v) : key(k), value(std::string(v)) {}
  LogField(absl::string_view k, const std::string& v) : key(k), value(v) {}
  LogField(absl::string_view k, int64_t v) : key(k), value(v) {}
  LogField(absl::string_view k, int v) : key(k), value(int64_t{v}) {}
  LogField(absl::string_view k, uint32_t v) : key(k), value(int64_t{v}) {}
  LogField(absl::string_view k, uint64_t v) : key(k), value(static_cast<int64_t>(v)) {}
  LogField(absl::string_view k, double v) : key(k), value(v) {}
  LogField(absl::string_view k, bool v) : key(k), value(v) {}

  absl::string_view key;
  std::variant<std::string, int64_t, double, bool> value;
};

void Log(LogLevel level, absl::string_view message, std::initializer_list<LogField> fields = {});

// Silences Log (tests that start many servers).
void SetLogEnabled(bool enabled);

}  // namespace ringcast::server

#endif  // RINGCAST_SERVER_OBSERVABILITY_LOG_H_
