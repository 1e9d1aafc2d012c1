// What every uer-cc tool does first: parse flags, start logging, load plugins, resolve the config.
//
//   int main(int argc, char** argv) {
//     uer::tools::InitTool("Tokenizes a text file.", &argc, &argv);
//     uer::tools::LoadPluginsFromFlags();           // exits with a message on failure
//     return uer::tools::ExitCode(uer::apps::RunTokenize(options));
//   }
#ifndef UER_TOOLS_TOOL_COMMON_H_
#define UER_TOOLS_TOOL_COMMON_H_

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/config.h"
#include "core/registry.h"

namespace uer::tools {

// Parses gflags (removing them from argv), starts glog (to stderr) and installs the failure handler.
// `before_check` runs on the command line (in the user's folder) before its flags are checked: where
// a tool declares the flags of the plugins it will run (OfferPluginOptions).
void InitTool(const char* usage, int* argc, char*** argv,
              const std::function<void(int argc, char** argv)>& before_check = nullptr);

// Whether the command line set --NAME (even to its default value).
bool FlagIsSet(const char* name);

// The value of --NAME on a command line not yet parsed ("--name=v", "--name v"); empty if absent.
std::string CommandLineValue(int argc, char** argv, const std::string& name);

// Makes each option `plugin` declares a flag of this tool (a tool flag of the same name and type is
// shared; another type exits with status 2, naming both).
void OfferPluginOptions(const core::FactoryBase& plugin);
// The current values of `plugin`'s options (their flags), by name.
std::map<std::string, std::string> PluginOptionValues(const core::FactoryBase& plugin);

// The command line as the process got it (before flags were parsed): what a launcher hands its ranks.
const std::vector<std::string>& OriginalArgv();

// Makes the built-in plugins load on first use, then loads --plugins and $UER_PLUGIN_PATH. Exits
// with status 2 and the loader's message on error.
void LoadPluginsFromFlags();
// The same for a comma-separated list of plugins (--plugins read before the flags are parsed).
void LoadPlugins(const std::string& list);

// defaults < the file at `config_path` (if not empty) < model flags given on the command line
// (a flag counts when the user set it, even to its default value). Without a file, a HuggingFace
// folder that --pretrained_model_path or --load_model_path names gives its config.json. Logs the
// resolved config.
absl::StatusOr<core::v1::ModelConfig> ResolveModelConfig(const std::string& config_path);
// --vocab_path, or else the vocab.txt (tokenizer.json) of that HuggingFace folder; "" if neither.
std::string ResolveVocabPath();

// --gpu_ranks: comma-separated integers ("" = none).
absl::StatusOr<std::vector<int>> ParseGpuRanks(const std::string& text);

// --loss_normalization: "global" (true) or "per_rank" (false).
absl::StatusOr<bool> ParseLossNormalization(const std::string& text);

// 0 for OK, 2 for usage errors (InvalidArgument, NotFound of an input), 1 otherwise; logs the error.
int ExitCode(const absl::Status& status);

}  // namespace uer::tools

#endif  // UER_TOOLS_TOOL_COMMON_H_
