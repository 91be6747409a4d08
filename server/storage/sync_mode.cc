#include "storage/sync_mode.h"

namespace ringcast::server::storage {

absl::string_view SyncModeName(SyncMode mode) noexcept {
  switch (mode) {
    case SyncMode::kAlways:
      return "always";
    case SyncMode::kInterval:
      return "interval";
    case SyncMode::kNone:
      return "none";
  }
  return "unknown";
}

std::optional<SyncMode> ParseSyncMode(absl::string_view text) noexcept {
  for (const SyncMode mode : {SyncMode::kAlways, SyncMode::kInterval, SyncMode::kNone}) {
    if (text == SyncModeName(mode)) return mode;
  }
  return std::nullopt;
}

bool AbslParseFlag(absl::string_view text, SyncMode* mode, std::string* error) {
  const std::optional<SyncMode> parsed = ParseSyncMode(text);
  if (!parsed) {
    *error = "must be always, interval or none";
    return false;
  }
  *mode = *parsed;
  return true;
}

std::string AbslUnparseFlag(SyncMode mode) { return std::string(SyncModeName(mode)); }

}  // namespace ringcast::server::storage
