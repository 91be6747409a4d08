// SyncMode: when a topic's journal is fdatasynced, and what a publish acknowledgement means.
//
//   always    group commit: Write then Sync after every batch; an acknowledged event survives a
//             power cut.
//   interval  Sync on a timer (--journal_sync_interval); an acknowledged event survives the
//             process being killed, not the machine losing power within the interval.
//   none      never Sync explicitly (the kernel writes back when it likes); as interval, without
//             a bound.
//
// Usable as an absl flag type: AbslParseFlag/AbslUnparseFlag are found by argument-dependent
// lookup.
#ifndef RINGCAST_SERVER_STORAGE_SYNC_MODE_H_
#define RINGCAST_SERVER_STORAGE_SYNC_MODE_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace ringcast::server::storage {

enum class SyncMode { kAlways, kInterval, kNone };

// "always", "interval", "none".
absl::string_view SyncModeName(SyncMode mode) noexcept;
// The mode named exactly `text` (as SyncModeName spells it), nullopt otherwise.
std::optional<SyncMode> ParseSyncMode(absl::string_view text) noexcept;

bool AbslParseFlag(absl::string_view text, SyncMode* mode, std::string* error);
std::string AbslUnparseFlag(SyncMode mode);

}  // namespace ringcast::server::storage

#endif  // RINGCAST_SERVER_STORAGE_SYNC_MODE_H_
