#include "core/runtime/io/atomic_file.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/log.h"

namespace uer::runtime {

std::string TemporaryPath(const std::string& path) { return absl::StrCat(path, ".tmp.", getpid()); }

absl::Status CommitTemporary(const std::string& tmp, const std::string& path) {
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string err = std::strerror(errno);
    unlink(tmp.c_str());
    return absl::DataLossError(absl::StrCat("cannot rename ", tmp, " to ", path, ": ", err));
  }
  return absl::OkStatus();
}

absl::Status WriteFileAtomically(const std::string& path, const std::string& content) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  std::error_code ec;
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (ec) return absl::PermissionDeniedError(absl::StrCat("cannot create ", parent.string(), ": ", ec.message()));
  const std::string tmp = TemporaryPath(path);
  FILE* f = fopen(tmp.c_str(), "wb");
  if (f == nullptr) return absl::PermissionDeniedError(absl::StrCat("cannot write ", tmp, ": ", std::strerror(errno)));
  bool ok = fwrite(content.data(), 1, content.size(), f) == content.size();
  ok = (fflush(f) == 0) && ok;
  ok = (fsync(fileno(f)) == 0) && ok;
  ok = (fclose(f) == 0) && ok;
  if (!ok) {
    std::string err = std::strerror(errno);
    unlink(tmp.c_str());
    return absl::DataLossError(absl::StrCat("cannot write ", path, ": ", err));
  }
  return CommitTemporary(tmp, path);
}

std::vector<std::string> RemoveStaleTemporaries(const std::string& path) {
  namespace fs = std::filesystem;
  const fs::path p(path);
  const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
  const std::string prefix = p.filename().string();
  std::vector<std::string> removed;
  uint64_t bytes = 0;
  std::error_code ec;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    const size_t at = name.rfind(".tmp.");
    if (name.rfind(prefix, 0) != 0 || at == std::string::npos || at < prefix.size()) continue;
    const std::string digits = name.substr(at + 5);
    long pid = 0;
    if (digits.empty() || digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos) continue;
    pid = std::stol(digits);
    // Only a dead process's: a live one (another run writing here) keeps its file.
    if (pid <= 0 || pid == getpid() || kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;
    std::error_code size_ec;
    const uintmax_t size = fs::file_size(it->path(), size_ec);
    if (fs::remove(it->path(), size_ec)) {
      removed.push_back(it->path().string());
      if (size != static_cast<uintmax_t>(-1)) bytes += size;
    }
  }
  if (!removed.empty()) {
    UER_LOG(WARNING) << "removed " << removed.size() << " temporary file(s) (" << bytes / (1 << 20)
                     << " MiB) that dead processes left beside " << path << ": " << absl::StrJoin(removed, ", ");
  }
  return removed;
}

}  // namespace uer::runtime
