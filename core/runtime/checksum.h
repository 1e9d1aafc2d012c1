// Checksums the runtime's file formats use: CRC-32C (Castagnoli), as TensorFlow's tensor bundles and
// TFRecord / tfevents files store it, masked as LevelDB and TensorFlow mask it.
#ifndef UER_CORE_RUNTIME_CHECKSUM_H_
#define UER_CORE_RUNTIME_CHECKSUM_H_

#include <cstddef>
#include <cstdint>

namespace uer::runtime {

// CRC-32C of `n` bytes, continuing `crc` (0 to start).
uint32_t Crc32c(const void* data, size_t n, uint32_t crc = 0);
// TensorFlow's masked CRC: rotated right by 15 bits, plus a constant.
inline uint32_t MaskCrc(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }

}  // namespace uer::runtime

#endif  // UER_CORE_RUNTIME_CHECKSUM_H_
