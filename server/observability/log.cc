#include "observability/log.h"

#include <atomic>
#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace ringcast::server {
namespace {

std::atomic<bool> log_enabled{true};  // relaxed: a switch, orders nothing

void AppendJsonString(std::string& out, absl::string_view s) {
  out.push_back('"');
  for (const char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          absl::StrAppend(&out, "\\u00", absl::Hex(static_cast<unsigned char>(c), absl::kZeroPad2));
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

absl::string_view LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

}  // namespace

void SetLogEnabled(bool enabled) { log_enabled.store(enabled, std::memory_order_relaxed); }

void Log(LogLevel level, absl::string_view message, std::initializer_list<LogField> fields) {
  if (!log_enabled.load(std::memory_order_relaxed)) return;
  std::string line = "{\"ts\":";
  AppendJsonString(line,
                   absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", absl::Now(), absl::UTCTimeZone()));
  line += ",\"level\":";
  AppendJsonString(line, LevelName(level));
  line += ",\"msg\":";
  AppendJsonString(line, message);
  for (const LogField& field : fields) {
    line.push_back(',');
    AppendJsonString(line, field.key);
    line.push_back(':');
    if (const auto* s = std::get_if<std::string>(&field.value)) {
      AppendJsonString(line, *s);
    } else if (const auto* i = std::get_if<int64_t>(&field.value)) {
      absl::StrAppend(&line, *i);
    } else if (const auto* d = std::get_if<double>(&field.value)) {
      absl::StrAppend(&line, *d);
    } else {
      line += std::get<bool>(field.value) ? "true" : "false";
    }
  }
  line += "}\n";
  // One fwrite per line: stdio locks the stream, so concurrent lines never interleave.
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace ringcast::server
