#include "core/loader.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "core/log.h"
#include "core/plugin_stamp.h"
#include "core/registry.h"

namespace uer::core {
namespace {

namespace fs = std::filesystem;

struct LoaderState {
  std::mutex mu;
  std::set<std::string> loaded;
  std::vector<std::string> order;
};

LoaderState& GetLoaderState() {
  static LoaderState* s = new LoaderState();
  return *s;
}

bool IsPluginFile(const fs::path& p) {
  const std::string f = p.filename().string();
  return f.rfind("libuer_", 0) == 0 && p.extension() == ".so";
}

absl::Status LoadFolder(const fs::path& dir) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::follow_directory_symlink, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (IsPluginFile(it->path()) && !fs::is_directory(it->path())) files.push_back(it->path());
  }
  if (ec) return absl::NotFoundError(absl::StrCat("cannot read plugin folder ", dir.string(), ": ", ec.message()));
  std::sort(files.begin(), files.end());
  for (const fs::path& f : files) {
    absl::Status st = LoadPlugin(f.string());
    if (!st.ok()) return st;
  }
  return absl::OkStatus();
}

}  // namespace

const UerPluginInfo& CoreStamp() {
  static const UerPluginInfo info = UER_PLUGIN_INFO_INITIALIZER("uer_core");
  return info;
}

std::vector<std::string> CompareStamps(const UerPluginInfo& p, const UerPluginInfo& c) {
  std::vector<std::string> diffs;
  auto cmp = [&](const char* what, const std::string& pv, const std::string& cv) {
    if (pv != cv) diffs.push_back(absl::StrCat(what, " ", pv, " (plugin) vs ", cv, " (core)"));
  };
  cmp("plugin API version", std::to_string(p.api_version), std::to_string(c.api_version));
  if (p.api_version != c.api_version || p.struct_size != c.struct_size) {
    cmp("stamp size", std::to_string(p.struct_size), std::to_string(c.struct_size));
    return diffs;  // the other fields may not be laid out the same way
  }
  auto str = [](const char* s) { return std::string(s ? s : "(null)"); };
  cmp("uer-cc version", str(p.uer_version), str(c.uer_version));
  cmp("LibTorch version", str(p.torch_version), str(c.torch_version));
  cmp("protobuf version", std::to_string(p.protobuf_version), std::to_string(c.protobuf_version));
  cmp("_GLIBCXX_USE_CXX11_ABI", std::to_string(p.cxx11_abi), std::to_string(c.cxx11_abi));
  cmp("compiler", str(p.compiler), str(c.compiler));
  return diffs;
}

absl::Status LoadPlugin(const std::string& path) {
  char resolved[PATH_MAX];
  if (realpath(path.c_str(), resolved) == nullptr) {
    return absl::NotFoundError(absl::StrCat("cannot load plugin ", path, ": ", std::strerror(errno)));
  }
  const std::string canonical(resolved);
  LoaderState& s = GetLoaderState();
  std::lock_guard<std::mutex> lock(s.mu);
  if (s.loaded.count(canonical)) return absl::OkStatus();

  // Registrations linked into the binary itself are not the plugin's: commit them first.
  internal::CommitPendingAsBuiltin().IgnoreError();
  dlerror();
  void* handle = dlopen(canonical.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
  if (handle == nullptr) {
    internal::TakePendingRegistrations();  // whatever ran before the failure is discarded
    const char* err = dlerror();
    return absl::FailedPreconditionError(
        absl::StrCat("cannot load plugin ", canonical, ": ", err ? err : "unknown dlopen error"));
  }
  // From here on the library stays mapped (RTLD_NODELETE, never dlclose'd).
  std::vector<std::unique_ptr<FactoryBase>> pending = internal::TakePendingRegistrations();
  using InfoFn = const UerPluginInfo* (*)();
  auto info_fn = reinterpret_cast<InfoFn>(dlsym(handle, "uer_plugin_info"));
  if (info_fn == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "plugin ", canonical,
        " has no uer_plugin_info symbol: build it with the uer_plugin() Bazel macro or add "
        "UER_PLUGIN_DEFINE_INFO(\"name\") to one of its sources (core/plugin_stamp.h)"));
  }
  const UerPluginInfo* info = info_fn();
  std::vector<std::string> diffs = CompareStamps(*info, CoreStamp());
  if (!diffs.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("plugin ", canonical, " does not match this uer-cc and was refused: ",
                     absl::StrJoin(diffs, "; "), ". Rebuild the plugin against this plugin_api"));
  }
  // Commit all or nothing: check every name first.
  std::set<std::pair<PluginKind, std::string>> seen;
  for (const auto& f : pending) {
    auto key = std::make_pair(f->kind(), f->name());
    if (!seen.insert(key).second) {
      return absl::AlreadyExistsError(absl::StrCat(KindName(f->kind()), " \"", f->name(),
                                                   "\" is registered twice: by ", canonical,
                                                   " and by ", canonical));
    }
    if (registry::IsRegistered(f->kind(), f->name())) {
      std::string origin = "builtin";
      for (const RegistryEntry& e : registry::List()) {
        if (e.kind == f->kind() && e.name == f->name()) origin = e.origin;
      }
      return absl::AlreadyExistsError(absl::StrCat(KindName(f->kind()), " \"", f->name(),
                                                   "\" is registered twice: by ", origin,
                                                   " and by ", canonical));
    }
  }
  for (auto& f : pending) {
    absl::Status st = registry::Register(std::move(f), canonical);
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
    if (fs::is_directory(d, ec) &&
        std::find(existing.begin(), existing.end(), d) == existing.end()) {
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
    if (IsPluginFile(it->path())) index->emplace(it->path().filename().string(), it->path().string());
  }
  const std::string dir = dirs.front();
  registry::SetResolver(
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

}  // namespace uer::core
