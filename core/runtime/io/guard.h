// The runtime's exception boundaries share this: an exception becomes a Status with the first line
// of its message (LibTorch's backtrace follows it). Readers use Guarded; jobs CatchTorchErrors
// (trainer.h); the tools' last resort is their terminate handler (tools/tool_common.cc).
#ifndef UER_CORE_RUNTIME_IO_GUARD_H_
#define UER_CORE_RUNTIME_IO_GUARD_H_

#include <cstring>
#include <exception>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace uer::runtime::io {

inline std::string FirstLine(const std::string& s) { return s.substr(0, s.find('\n')); }

// Runs a reader: a JSON value of the wrong type, or a LibTorch refusal, deep in a damaged file is an
// error naming the file, never an abort (checkpoint_fuzz).
template <typename Read>
auto Guarded(const std::string& file, Read read) -> decltype(read()) {
  try {
    return read();
  } catch (const std::exception& e) {
    return absl::DataLossError(absl::StrCat("cannot read ", file, ": ", FirstLine(e.what())));
  }
}

// Whether the bytes are a git-LFS pointer file instead of the weights.
inline bool IsLfsPointer(const char* data, size_t size) {
  static constexpr char kLfs[] = "version https://git-lfs";
  return size >= sizeof(kLfs) - 1 && std::memcmp(data, kLfs, sizeof(kLfs) - 1) == 0;
}

}  // namespace uer::runtime::io

#endif  // UER_CORE_RUNTIME_IO_GUARD_H_
