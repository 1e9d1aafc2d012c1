// Fuzz harness: vocabulary files (Vocab::Load: one token a line, UER-py's and Google's formats).
#include <cstddef>
#include <cstdint>

#include "core/vocab.h"
#include "testing/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = uer::fuzz::WriteInput(data, size, "vocab.txt");
  auto vocab = uer::core::Vocab::Load(path);
  if (vocab.ok()) {
    // Every token maps to an id that holds the same token (duplicates: one of them).
    for (int64_t i = 0; i < vocab->size() && i < 4096; ++i) {
      const int64_t id = vocab->Id(vocab->Token(i));
      if (id < 0 || id >= vocab->size() || vocab->Token(id) != vocab->Token(i)) __builtin_trap();
    }
  }
  return 0;
}
