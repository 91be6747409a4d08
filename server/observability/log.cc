#include "observability/log.h"

#include <atomic>
#include <cstdio>
#include <string>
#include <variant>

#include <nlohmann/json.hpp>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace ringcast::server {
namespace {

std::atomic<bool> log_enabled{true};  // relaxed: a switch, orders nothing

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
  // ordered_json: the keys print as set, so every line starts with ts, level and msg.
  nlohmann::ordered_json object = {
      {"ts", absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", absl::Now(), absl::UTCTimeZone())},
      {"level", LevelName(level)},
      {"msg", message}};
  for (const LogField& field : fields) {
    std::visit([&](const auto& value) { object[std::string(field.key)] = value; }, field.value);
  }
  // A message or field that is not UTF-8 (a client's topic name, say) is logged with U+FFFD in
  // place of the bad bytes rather than lost.
  std::string line = object.dump(/*indent=*/-1, ' ', /*ensure_ascii=*/false,
                                 nlohmann::ordered_json::error_handler_t::replace);
  line.push_back('\n');
  // One fwrite per line: stdio locks the stream, so concurrent lines never interleave.
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace ringcast::server
