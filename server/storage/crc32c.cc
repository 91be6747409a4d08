#include "storage/crc32c.h"

#include <isa-l/crc.h>

#include <algorithm>
#include <cstddef>

namespace ringcast::server::storage {

uint32_t Crc32c(absl::string_view data, uint32_t crc) noexcept {
  // crc32_iscsi works on the register before the final inversion: it starts from ~0 and leaves
  // the result uninverted, so the standard value is ~register on both sides.
  uint32_t reg = ~crc;
  // ISA-L takes a non-const pointer and an int length; it only reads the buffer.
  auto* p = reinterpret_cast<unsigned char*>(const_cast<char*>(data.data()));
  std::size_t left = data.size();
  while (left > 0) {
    const std::size_t n = std::min<std::size_t>(left, std::size_t{1} << 30);
    reg = crc32_iscsi(p, static_cast<int>(n), reg);
    p += n;
    left -= n;
  }
  return ~reg;
}

}  // namespace ringcast::server::storage
