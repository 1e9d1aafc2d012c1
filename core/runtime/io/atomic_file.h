// Outputs appear whole or not at all: each is written to a temporary beside it ("PATH.tmp.PID"),
// then renamed over PATH. A temporary never outlives a failed write; those of processes that died
// are removed by the next run (RemoveStaleTemporaries). Torch-free.
//
//   const std::string tmp = TemporaryPath(path);
//   ... write tmp, fsync ...
//   UER_RETURN_IF_ERROR(CommitTemporary(tmp, path));   // renamed, or removed and the error named
#ifndef UER_CORE_RUNTIME_IO_ATOMIC_FILE_H_
#define UER_CORE_RUNTIME_IO_ATOMIC_FILE_H_

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace uer::runtime {

// PATH.tmp.PID: this process's temporary for `path`.
std::string TemporaryPath(const std::string& path);
// Renames `tmp` to `path`; on failure removes `tmp` and names both.
absl::Status CommitTemporary(const std::string& tmp, const std::string& path);
// `content` as the whole of `path` (folders made as needed), synced before the rename: a crash
// leaves the old file or the new one, never half of one.
absl::Status WriteFileAtomically(const std::string& path, const std::string& content);
// Removes the temporaries beside `path` (PATH*.tmp.PID: a dataset's parts, a checkpoint being
// written) whose process is dead: what a kill -9 left. A live process's are kept. Logs and returns
// what was removed.
std::vector<std::string> RemoveStaleTemporaries(const std::string& path);

}  // namespace uer::runtime

#endif  // UER_CORE_RUNTIME_IO_ATOMIC_FILE_H_
