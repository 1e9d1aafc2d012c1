// Fuzz harness: dataset files (Dataset::Open and every instance decoded by its target's data side).
// Each input is tried twice: as it is (the checks at open: magic, versions, header checksum, sizes,
// offsets, payload CRC-32), and with its checksums made right, so that mutations reach the offsets
// and the records' decoders instead of stopping at a CRC.
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "core/runtime/dataset.h"
#include "core/runtime/loader.h"
#include "testing/fuzz/fuzz_util.h"

namespace {

void OpenAndDecode(const std::string& path) {
  auto ds = uer::runtime::Dataset::Open(path);
  if (!ds.ok()) return;
  for (uint64_t i = 0; i < (*ds)->size() && i < 256; ++i) (void)uer::runtime::DecodeInstance(**ds, i);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  uer::runtime::EnableLazyBuiltinPlugins();  // the targets' data sides, as the tools load them
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using uer::runtime::DatasetHeader;
  OpenAndDecode(uer::fuzz::WriteInput(data, size, "raw.uer"));
  if (size < sizeof(DatasetHeader)) return 0;
  std::string b(reinterpret_cast<const char*>(data), size);
  DatasetHeader h;
  std::memcpy(&h, b.data(), sizeof(h));
  const uLong crc = crc32_z(0, reinterpret_cast<const Bytef*>(b.data() + sizeof(h)), b.size() - sizeof(h));
  h.payload_crc32 = static_cast<uint32_t>(crc);
  h.flags |= uer::runtime::kDatasetPayloadCrc;
  h.header_checksum = uer::runtime::Fnv1a64(&h, offsetof(DatasetHeader, header_checksum));
  std::memcpy(b.data(), &h, sizeof(h));
  OpenAndDecode(uer::fuzz::WriteInput(b.data(), b.size(), "fixed.uer"));
  return 0;
}
