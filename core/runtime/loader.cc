#include "core/runtime/loader.h"

#include <dlfcn.h>
#include <elf.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "core/log.h"
#include "core/plugin_stamp.h"
#include "core/registry.h"

namespace uer::runtime {
namespace {

namespace fs = std::filesystem;
using core::FactoryBase;
using core::KindName;
using core::PluginKind;

constexpr char kStampSection[] = ".uer_plugin_stamp";

struct LoaderState {
  std::mutex mu;
  std::set<std::string> loaded;
  std::vector<std::string> order;
  // Plugins mapped and then refused (a duplicate name): loading them again gives the same error.
  std::map<std::string, absl::Status> refused;
};

LoaderState& GetLoaderState() {
  static LoaderState* s = new LoaderState();
  return *s;
}

bool IsSharedObject(const fs::path& p) {
  const std::string f = p.filename().string();
  return f.size() > 3 && f.compare(f.size() - 3, 3, ".so") == 0;
}

absl::Status LoadFolder(const fs::path& dir) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::follow_directory_symlink, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (IsSharedObject(it->path()) && fs::is_regular_file(it->path())) files.push_back(it->path());
  }
  if (ec) return absl::NotFoundError(absl::StrCat("cannot read plugin folder ", dir.string(), ": ", ec.message()));
  std::sort(files.begin(), files.end());
  std::vector<std::string> skipped;
  for (const fs::path& f : files) {
    // A folder may hold other libraries beside the plugins (a plugin's own dependencies): only
    // files that carry a stamp are plugins.
    absl::StatusOr<PluginStamp> stamp = ReadPluginStamp(f.string());
    // No stamp, or not a 64-bit ELF object at all (a linker script named .so): not a plugin.
    if (!stamp.ok() && (stamp.status().code() == absl::StatusCode::kNotFound ||
                        stamp.status().code() == absl::StatusCode::kFailedPrecondition)) {
      skipped.push_back(f.filename().string());
      continue;
    }
    absl::Status st = LoadPlugin(f.string());
    if (!st.ok()) return st;
  }
  if (!skipped.empty()) {
    UER_LOG(INFO) << "plugin folder " << dir.string() << ": skipped " << absl::StrJoin(skipped, ", ")
                  << " (no uer-cc stamp: not plugins)";
  }
  return absl::OkStatus();
}

PluginStamp ParseStamp(std::string_view text) {
  PluginStamp s;
  for (absl::string_view line : absl::StrSplit(absl::string_view(text.data(), text.size()), '\n', absl::SkipEmpty())) {
    const size_t eq = line.find('=');
    if (eq == absl::string_view::npos) continue;
    s[std::string(line.substr(0, eq))] = std::string(line.substr(eq + 1));
  }
  return s;
}

}  // namespace

absl::StatusOr<PluginStamp> ReadPluginStamp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::PermissionDeniedError(absl::StrCat("cannot read plugin ", path, ": ", std::strerror(errno)));
  auto bad = [&](const char* why) {
    return absl::FailedPreconditionError(absl::StrCat("cannot load plugin ", path, ": not a 64-bit ELF shared object (", why, ")"));
  };
  Elf64_Ehdr eh;
  if (!in.read(reinterpret_cast<char*>(&eh), sizeof(eh))) return bad("too short");
  if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0) return bad("no ELF magic");
  if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_shentsize != sizeof(Elf64_Shdr)) return bad("not ELF64");
  if (eh.e_shnum == 0 || eh.e_shstrndx >= eh.e_shnum || eh.e_shnum > 65535) return bad("no section table");
  std::vector<Elf64_Shdr> sections(eh.e_shnum);
  in.seekg(static_cast<std::streamoff>(eh.e_shoff));
  if (!in.read(reinterpret_cast<char*>(sections.data()), sizeof(Elf64_Shdr) * sections.size())) return bad("truncated section table");
  const Elf64_Shdr& names = sections[eh.e_shstrndx];
  if (names.sh_size > (1u << 24)) return bad("section names too large");
  std::string strtab(names.sh_size, '\0');
  in.seekg(static_cast<std::streamoff>(names.sh_offset));
  if (!in.read(strtab.data(), static_cast<std::streamsize>(strtab.size()))) return bad("truncated section names");
  for (const Elf64_Shdr& sh : sections) {
    if (sh.sh_name >= strtab.size() || std::strcmp(strtab.c_str() + sh.sh_name, kStampSection) != 0) continue;
    if (sh.sh_size == 0 || sh.sh_size > 65536) return bad("a stamp section of an odd size");
    std::string text(sh.sh_size, '\0');
    in.seekg(static_cast<std::streamoff>(sh.sh_offset));
    if (!in.read(text.data(), static_cast<std::streamsize>(text.size()))) return bad("truncated stamp");
    text.resize(strnlen(text.data(), text.size()));
    return ParseStamp(text);
  }
  return absl::NotFoundError(absl::StrCat(
      "plugin ", path, " has no uer-cc stamp (section ", kStampSection,
      "): build it with the uer_plugin() Bazel macro or add UER_PLUGIN_DEFINE_INFO(\"name\") to one of its sources "
      "(core/plugin_stamp.h)"));
}

const PluginStamp& CoreStamp() {
  static const PluginStamp* stamp = new PluginStamp(ParseStamp(UER_PLUGIN_STAMP_TEXT("uer_core")));
  return *stamp;
}

std::vector<std::string> CompareStamps(const PluginStamp& p, const PluginStamp& c) {
  static const std::vector<std::pair<std::string, std::string>> kFields = {
      {"api", "plugin API version"}, {"uer", "uer-cc version"},          {"torch", "LibTorch version"},
      {"protobuf", "protobuf version"}, {"cxx11_abi", "_GLIBCXX_USE_CXX11_ABI"}, {"compiler", "compiler"},
      {"sdk", "SDK headers hash"}};
  std::vector<std::string> diffs;
  auto get = [](const PluginStamp& s, const std::string& k) {
    auto it = s.find(k);
    return it == s.end() ? std::string("(none)") : it->second;
  };
  for (const auto& [key, what] : kFields) {
    const std::string pv = get(p, key), cv = get(c, key);
    if (pv != cv) diffs.push_back(absl::StrCat(what, " ", pv, " (plugin) vs ", cv, " (core)"));
    if (key == "api" && pv != cv) return diffs;  // the rest may mean other things
  }
  return diffs;
}

absl::Status LoadPlugin(const std::string& path) {
  char resolved[PATH_MAX];
  if (realpath(path.c_str(), resolved) == nullptr) {
    return absl::NotFoundError(absl::StrCat("cannot load plugin ", path, ": ", std::strerror(errno)));
  }
  const std::string canonical(resolved);
  if (fs::is_directory(canonical)) {
    return absl::InvalidArgumentError(absl::StrCat("cannot load plugin ", canonical, ": it is a directory (give it to --plugins to load the plugins in it)"));
  }
  LoaderState& s = GetLoaderState();
  std::lock_guard<std::mutex> lock(s.mu);
  if (s.loaded.count(canonical)) return absl::OkStatus();
  if (auto it = s.refused.find(canonical); it != s.refused.end()) return it->second;

  // The stamp first, from the file: nothing of a refused plugin runs.
  absl::StatusOr<PluginStamp> stamp = ReadPluginStamp(canonical);
  if (!stamp.ok()) {
    if (stamp.status().code() == absl::StatusCode::kNotFound) return absl::InvalidArgumentError(stamp.status().message());
    return stamp.status();
  }
  std::vector<std::string> diffs = CompareStamps(*stamp, CoreStamp());
  if (!diffs.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("plugin ", canonical, " does not match this uer-cc and was refused: ",
                     absl::StrJoin(diffs, "; "), ". Rebuild the plugin against this plugin_api"));
  }
  // Registrations linked into the binary itself are not the plugin's: commit them first.
  core::internal::CommitPendingAsBuiltin().IgnoreError();
  std::vector<std::unique_ptr<FactoryBase>> pending;
  {
    core::internal::LoadingScope scope;
    dlerror();
    void* handle = dlopen(canonical.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    pending = scope.Take();
    if (handle == nullptr) {
      const char* err = dlerror();
      return absl::FailedPreconditionError(
          absl::StrCat("cannot load plugin ", canonical, ": ", err ? err : "unknown dlopen error"));
    }
  }
  // Commit all or nothing: check every name first.
  std::set<std::pair<PluginKind, std::string>> seen;
  for (const auto& f : pending) {
    auto key = std::make_pair(f->kind(), f->name());
    std::string origin;
    if (!seen.insert(key).second) {
      origin = canonical;
    } else if (core::registry::IsRegistered(f->kind(), f->name())) {
      origin = "builtin";
      for (const core::RegistryEntry& e : core::registry::List()) {
        if (e.kind == f->kind() && e.name == f->name()) origin = e.origin;
      }
    }
    if (!origin.empty()) {
      absl::Status st = absl::AlreadyExistsError(absl::StrCat(KindName(f->kind()), " \"", f->name(),
                                                              "\" is registered twice: by ", origin, " and by ", canonical));
      s.refused.emplace(canonical, st);
      return st;
    }
  }
  for (auto& f : pending) {
    absl::Status st = core::registry::Register(std::move(f), canonical);
    if (!st.ok()) return st;
  }
  s.loaded.insert(canonical);
  s.order.push_back(canonical);
  return absl::OkStatus();
}

absl::Status LoadPluginList(std::string_view list, char sep) {
  for (absl::string_view e : absl::StrSplit(std::string(list), sep, absl::SkipWhitespace())) {
    const std::string entry(e);
    const fs::path p{entry};
    std::error_code ec;
    absl::Status st = fs::is_directory(p, ec) ? LoadFolder(p) : LoadPlugin(p.string());
    if (!st.ok()) return st;
  }
  return absl::OkStatus();
}

std::vector<std::string> BuiltinPluginDirs() {
  std::vector<std::string> dirs;
  if (const char* d = getenv("UER_BUILTIN_PLUGIN_DIR"); d && *d) dirs.push_back(d);
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (const char* r = getenv("RUNFILES_DIR"); r && *r) dirs.push_back(std::string(r) + "/uer_cc/plugins");
  if (const char* t = getenv("TEST_SRCDIR"); t && *t) dirs.push_back(std::string(t) + "/uer_cc/plugins");
  if (!ec) {
    dirs.push_back(exe.string() + ".runfiles/uer_cc/plugins");
    dirs.push_back((exe.parent_path() / "plugins").string());
  }
  std::vector<std::string> existing;
  for (const std::string& d : dirs) {
    if (fs::is_directory(d, ec) && std::find(existing.begin(), existing.end(), d) == existing.end()) {
      existing.push_back(d);
    }
  }
  return existing;
}

absl::Status LoadBuiltinPlugins() {
  std::vector<std::string> dirs = BuiltinPluginDirs();
  if (dirs.empty()) {
    UER_LOG(WARNING) << "no built-in plugin folder found beside the binary or in its runfiles; "
                        "set UER_BUILTIN_PLUGIN_DIR or UER_PLUGIN_PATH";
    return absl::OkStatus();
  }
  // The first folder that exists wins: the others hold the same files under other paths.
  return LoadFolder(dirs.front());
}

void EnableLazyBuiltinPlugins() {
  std::vector<std::string> dirs = BuiltinPluginDirs();
  if (dirs.empty()) return;
  auto index = std::make_shared<std::map<std::string, std::string>>();  // file name -> path
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dirs.front(), fs::directory_options::follow_directory_symlink, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const std::string f = it->path().filename().string();
    if (f.rfind("libuer_", 0) == 0 && IsSharedObject(it->path())) index->emplace(f, it->path().string());
  }
  const std::string dir = dirs.front();
  core::registry::SetResolver(
      [index](PluginKind kind, const std::string& name) {
        std::string file = absl::StrCat("libuer_", KindName(kind), "_", name, ".so");
        std::replace(file.begin() + 7, file.end() - 3, '.', '_');
        auto it = index->find(file);
        if (it == index->end()) return false;
        absl::Status st = LoadPlugin(it->second);
        if (!st.ok()) UER_LOG(ERROR) << st.message();
        return st.ok();
      },
      [dir] {
        absl::Status st = LoadFolder(dir);
        if (!st.ok()) UER_LOG(ERROR) << st.message();
      });
}

std::vector<std::string> LoadedPluginPaths() {
  LoaderState& s = GetLoaderState();
  std::lock_guard<std::mutex> lock(s.mu);
  return s.order;
}

}  // namespace uer::runtime
