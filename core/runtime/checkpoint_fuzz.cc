// Fuzz harness: the model files uer-cc reads, the first byte choosing the reader:
//   0: a torch.save zip (LoadStateDict: zip structure, CRC-32s, pickle, storages);
//   1: a pickle alone, put into a well-formed zip with four storages, so that mutations reach the
//      unpickler instead of stopping at a CRC;
//   2: a safetensors file;   3: a TensorFlow tensor bundle (the rest: a uint32 index size, the .index
//      file, then the .data-00000-of-00001 file);   4: a HuggingFace config.json.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include <caffe2/serialize/inline_container.h>

#include "core/runtime/checkpoint.h"
#include "core/runtime/hf_config.h"
#include "core/runtime/interop.h"
#include "testing/fuzz/fuzz_util.h"

namespace {

std::string ZipWithPickle(const char* pickle, size_t size) {
  std::string out;
  caffe2::serialize::PyTorchStreamWriter writer([&](const void* p, size_t n) {
    out.append(static_cast<const char*>(p), n);
    return n;
  });
  writer.writeRecord("data.pkl", pickle, size);
  writer.writeRecord("byteorder", "little", 6);
  char storage[64];
  for (int k = 0; k < 4; ++k) {
    std::memset(storage, k + 1, sizeof(storage));
    writer.writeRecord("data/" + std::to_string(k), storage, sizeof(storage));
  }
  writer.writeEndOfFile();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const char* rest = reinterpret_cast<const char*>(data) + 1;
  const size_t n = size - 1;
  switch (data[0] % 5) {
    case 0:
      (void)uer::runtime::LoadStateDict(uer::fuzz::WriteInput(rest, n, "model.bin"));
      break;
    case 1: {
      const std::string zip = ZipWithPickle(rest, n);
      (void)uer::runtime::LoadTorchFile(uer::fuzz::WriteInput(zip.data(), zip.size(), "pickle.bin"));
      break;
    }
    case 2:
      (void)uer::runtime::LoadSafetensors(uer::fuzz::WriteInput(rest, n, "model.safetensors"));
      break;
    case 3: {
      if (n < 4) break;
      uint32_t index_size;
      std::memcpy(&index_size, rest, 4);
      index_size = std::min<uint32_t>(index_size, static_cast<uint32_t>(n - 4));
      const std::string prefix = uer::fuzz::WriteInput(rest + 4, index_size, "bundle.index");
      uer::fuzz::WriteInput(rest + 4 + index_size, n - 4 - index_size, "bundle.data-00000-of-00001");
      (void)uer::runtime::LoadTfCheckpoint(prefix.substr(0, prefix.size() - 6));  // without ".index"
      break;
    }
    default:
      (void)uer::runtime::ConfigFromHuggingFace(uer::fuzz::WriteInput(rest, n, "config.json"));
      break;
  }
  return 0;
}
