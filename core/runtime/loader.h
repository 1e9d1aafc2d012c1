// Loads plugin shared libraries and commits their registrations after checking their stamps.
//
// Order used by every tool (tools/tool_common.cc): built-in plugins (found beside the binary or in
// its runfiles, each loaded the first time its name is looked up), then `--plugins=a.so,b.so`, then
// $UER_PLUGIN_PATH (a ':'-separated list of .so files or folders of them).
//
//   UER_RETURN_IF_ERROR(uer::runtime::LoadPlugin("/opt/acme/libacme_encoder.so"));
//
// The stamp (core/plugin_stamp.h) is read from the file's ELF section before the library is mapped:
// a plugin built for another uer-cc is refused before any of its code runs. Libraries are opened
// with RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE and never closed; loading the same file twice (after
// realpath) is a no-op. Loading is serialized, and lookups on other threads may run meanwhile.
#ifndef UER_CORE_RUNTIME_LOADER_H_
#define UER_CORE_RUNTIME_LOADER_H_

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace uer::runtime {

// A plugin's stamp: the keys of its "key=value" lines (name, api, uer, torch, protobuf, cxx11_abi,
// compiler, sdk).
using PluginStamp = std::map<std::string, std::string>;

// Loads one plugin. Errors name the path and the dlerror() text or both stamp values.
absl::Status LoadPlugin(const std::string& path);
// Loads each entry of a `sep`-separated list; an entry that is a folder loads every shared object
// below it that carries a uer-cc stamp (sorted; the others are listed in a log line). Empty entries
// are skipped.
absl::Status LoadPluginList(std::string_view list, char sep);
// Loads every plugin below the built-in plugin folders (see BuiltinPluginDirs).
absl::Status LoadBuiltinPlugins();
// Makes the built-in plugins load on demand: a lookup of (kind, name) that misses loads
// libuer_<kind>_<name>.so from the built-in folders (a tool that only tokenizes never maps LibTorch).
void EnableLazyBuiltinPlugins();
// Where built-in plugins are looked for: $UER_BUILTIN_PLUGIN_DIR, the binary's runfiles
// (<exe>.runfiles/uer_cc/plugins or $RUNFILES_DIR/uer_cc/plugins) and <exe dir>/plugins.
std::vector<std::string> BuiltinPluginDirs();
// Canonical paths of the plugins loaded so far, in load order.
std::vector<std::string> LoadedPluginPaths();

// The stamp in a plugin file (NotFound when the file has none; errors name the file).
absl::StatusOr<PluginStamp> ReadPluginStamp(const std::string& path);
// The stamp of this build, to compare against a plugin's.
const PluginStamp& CoreStamp();
// Empty when compatible; otherwise one line per mismatching field ("LibTorch version 1.13.1
// (plugin) vs 2.11.0 (core)").
std::vector<std::string> CompareStamps(const PluginStamp& plugin, const PluginStamp& core);

}  // namespace uer::runtime

#endif  // UER_CORE_RUNTIME_LOADER_H_
