// CRC32C (Castagnoli, the iSCSI polynomial): the checksum of journal records and index files.
// Computed by ISA-L's crc32_iscsi, which picks SSE4.2/PCLMUL code at run time.
#ifndef RINGCAST_SERVER_STORAGE_CRC32C_H_
#define RINGCAST_SERVER_STORAGE_CRC32C_H_

#include <cstdint>

#include "absl/strings/string_view.h"

namespace ringcast::server::storage {

// The standard CRC32C of `data` (Crc32c("123456789") == 0xE3069283), continuing from `crc`, the
// CRC32C of what came before it: Crc32c(b, Crc32c(a)) == Crc32c(a + b).
uint32_t Crc32c(absl::string_view data, uint32_t crc = 0) noexcept;

}  // namespace ringcast::server::storage

#endif  // RINGCAST_SERVER_STORAGE_CRC32C_H_
