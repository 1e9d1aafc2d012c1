// What the fuzz harnesses share: the input written to a file of this process (the parsers read
// files, as the tools hand them paths), removed when the process ends.
#ifndef UER_TESTING_FUZZ_FUZZ_UTIL_H_
#define UER_TESTING_FUZZ_FUZZ_UTIL_H_

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>

namespace uer::fuzz {

inline std::set<std::string>& WrittenFiles() {
  static auto* files = [] {
    auto* f = new std::set<std::string>();
    std::atexit([] {
      for (const std::string& p : WrittenFiles()) std::remove(p.c_str());
    });
    return f;
  }();
  return *files;
}

// TMPDIR/uer_fuzz.PID.NAME holding `size` bytes of `data`; its path.
inline std::string WriteInput(const void* data, size_t size, const std::string& name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  if (tmp == nullptr || *tmp == '\0') tmp = std::getenv("TMPDIR");
  const std::string path = std::string(tmp && *tmp ? tmp : "/tmp") + "/uer_fuzz." + std::to_string(getpid()) + "." + name;
  WrittenFiles().insert(path);
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) std::abort();
  if (size > 0 && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
  return path;
}

}  // namespace uer::fuzz

#endif  // UER_TESTING_FUZZ_FUZZ_UTIL_H_
