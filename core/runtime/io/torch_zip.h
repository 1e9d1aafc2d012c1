// torch.save's zip container, read and written without LibTorch's miniz (core/runtime/checkpoint.h
// is the public side): read, the records are views of the mapped file; written, PyTorch's layout,
// with the whole file's CRC-32 in the zip's comment, checked on reading.
#ifndef UER_CORE_RUNTIME_IO_TORCH_ZIP_H_
#define UER_CORE_RUNTIME_IO_TORCH_ZIP_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <torch/types.h>

#include "absl/status/statusor.h"

namespace uer::runtime::io {

// A stored record of a mapped zip: its bytes.
struct ZipRecord {
  const char* data;
  uint64_t size;
};
using ZipRecords = std::map<std::string, ZipRecord>;

// The records of a zip mapped at `data`; errors name `path`.
absl::StatusOr<ZipRecords> ReadZip(const std::string& path, const char* data, uint64_t size);

// Writes a torch.save file atomically: the pickle as archive/data.pkl, each storage as
// archive/data/N, and PyTorch's byteorder, version and serialization id.
absl::Status WriteTorchZip(const std::string& path, const std::string& pickle, const std::vector<torch::Tensor>& storages);

// Sizes and offsets from `bytes` on are written as zip64 fields (normally from 4 GiB on).
void SetZip64Threshold(uint64_t bytes);

}  // namespace uer::runtime::io

#endif  // UER_CORE_RUNTIME_IO_TORCH_ZIP_H_
