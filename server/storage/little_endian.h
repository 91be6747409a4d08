// Little-endian loads and stores of fixed-width integers: the byte order of every number in the
// journal's files, whatever the host's.
#ifndef RINGCAST_SERVER_STORAGE_LITTLE_ENDIAN_H_
#define RINGCAST_SERVER_STORAGE_LITTLE_ENDIAN_H_

#include <cstdint>

namespace ringcast::server::storage {

inline void StoreLittle32(char* out, uint32_t value) noexcept {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>(value >> (8 * i));
}
inline void StoreLittle64(char* out, uint64_t value) noexcept {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(value >> (8 * i));
}
inline uint32_t LoadLittle32(const char* in) noexcept {
  uint32_t value = 0;
  for (int i = 0; i < 4; ++i) value |= uint32_t{static_cast<unsigned char>(in[i])} << (8 * i);
  return value;
}
inline uint64_t LoadLittle64(const char* in) noexcept {
  uint64_t value = 0;
  for (int i = 0; i < 8; ++i) value |= uint64_t{static_cast<unsigned char>(in[i])} << (8 * i);
  return value;
}

}  // namespace ringcast::server::storage

#endif  // RINGCAST_SERVER_STORAGE_LITTLE_ENDIAN_H_
