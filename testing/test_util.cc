#include "testing/test_util.h"

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace uer::testing {

std::string RunfilePath(const std::string& rel) {
  const char* srcdir = getenv("TEST_SRCDIR");
  const char* ws = getenv("TEST_WORKSPACE");
  if (srcdir && ws) return std::string(srcdir) + "/" + ws + "/" + rel;
  return rel;
}

std::string SharedDir() {
  namespace fs = std::filesystem;
  if (const char* d = getenv("UER_SHARED_DIR"); d && *d) return fs::is_directory(d) ? d : "";
  // The test runs inside Bazel's sandbox: find the source tree through a runfile's real path.
  std::error_code ec;
  fs::path ws_file = fs::canonical(RunfilePath("testing/BUILD"), ec);
  if (!ec) {
    fs::path shared = ws_file.parent_path().parent_path().parent_path() / "shared";
    if (fs::is_directory(shared / "data")) return shared.string();
  }
  return "";
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string WriteUerVocab(const std::string& dir, const std::string& tokens) {
  std::string v = "[PAD]\n";
  for (int i = 1; i < 100; ++i) v += "[unused" + std::to_string(i) + "]\n";
  v += "[UNK]\n[CLS]\n[SEP]\n[MASK]\n";
  for (char c : tokens) v += std::string(1, c) + "\n";
  const std::string path = dir + "/vocab.txt";
  std::ofstream(path) << v;
  return path;
}

std::string TempDir(const std::string& name) {
  const char* t = getenv("TEST_TMPDIR");
  std::string dir = std::string(t ? t : "/tmp") + "/" + name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace uer::testing
