// Prints kind, name, origin (the .so path), stability and help of every registered plugin.
//
//   bazel run //tools:list_plugins
//   bazel run //tools:list_plugins -- --plugins=/path/libuer_encoder_acme_tiny.so
#include <iostream>

#include <gflags/gflags.h>

#include "absl/strings/str_format.h"
#include "core/runtime/loader.h"
#include "core/registry.h"
#include "tools/tool_common.h"

DEFINE_string(kind, "", "Only list plugins of this kind (embedding, encoder, target, tokenizer, "
                        "subencoder, task, target_data).");

int main(int argc, char** argv) {
  uer::tools::InitTool("Lists the registered plugins.\nUsage: list_plugins [--plugins=a.so,b.so] [--kind=encoder]",
                       &argc, &argv);
  uer::tools::LoadPluginsFromFlags();
  if (absl::Status st = uer::runtime::LoadBuiltinPlugins(); !st.ok()) return uer::tools::ExitCode(st);
  std::cout << absl::StrFormat("%-11s  %-12s  %-9s  %-62s  %s\n", "KIND", "NAME", "STABILITY", "HELP", "ORIGIN");
  int shown = 0;
  for (const uer::core::RegistryEntry& e : uer::core::registry::List()) {
    if (!FLAGS_kind.empty() && std::string(uer::core::KindName(e.kind)) != FLAGS_kind) continue;
    std::cout << absl::StrFormat("%-11s  %-12s  %-9s  %-62s  %s\n", uer::core::KindName(e.kind), e.name,
                                 e.factory->stability(), e.factory->help(), e.origin);
    ++shown;
  }
  if (shown == 0) std::cerr << "no plugins registered" << (FLAGS_kind.empty() ? "" : " of that kind") << "\n";
  return 0;
}
