// Loads plugin shared libraries and commits their registrations after checking their stamps.
//
// Order used by every tool (tools/tool_common.cc): built-in plugins (found beside the binary or in
// its runfiles), then `--plugins=a.so,b.so`, then $UER_PLUGIN_PATH (a ':'-separated list of .so
// files or folders holding libuer_*.so files).
//
//   UER_RETURN_IF_ERROR(uer::core::LoadPlugin("/opt/acme/libacme_encoder.so"));
//
// Libraries are opened with RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE and never closed. Loading the same
// file twice (after realpath) is a no-op.
#ifndef UER_CORE_LOADER_H_
#define UER_CORE_LOADER_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

struct UerPluginInfo;

namespace uer::core {

// Loads one plugin. Errors name the path and the dlerror() text or both stamp values.
absl::Status LoadPlugin(const std::string& path);
// Loads each entry of a `sep`-separated list; an entry that is a folder loads every libuer_*.so in
// it (sorted). Empty entries are skipped.
absl::Status LoadPluginList(std::string_view list, char sep);
// Loads every libuer_*.so below the built-in plugin folders (see BuiltinPluginDirs).
absl::Status LoadBuiltinPlugins();
// Makes the built-in plugins load on demand: a lookup of (kind, name) that misses loads
// libuer_<kind>_<name>.so from the built-in folders (a tool that only tokenizes never maps LibTorch).
void EnableLazyBuiltinPlugins();
// Where built-in plugins are looked for: $UER_BUILTIN_PLUGIN_DIR, the binary's runfiles
// (<exe>.runfiles/uer_cc/plugins or $RUNFILES_DIR/uer_cc/plugins) and <exe dir>/plugins.
std::vector<std::string> BuiltinPluginDirs();
// Canonical paths of the plugins loaded so far, in load order.
std::vector<std::string> LoadedPluginPaths();

// The stamp of this build of core, to compare against a plugin's.
const UerPluginInfo& CoreStamp();
// Empty when compatible; otherwise one line per mismatching field ("LibTorch 1.13.1 (plugin) vs
// 2.11.0 (core)").
std::vector<std::string> CompareStamps(const UerPluginInfo& plugin, const UerPluginInfo& core);

}  // namespace uer::core

#endif  // UER_CORE_LOADER_H_
