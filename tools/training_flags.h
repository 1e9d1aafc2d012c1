// The flags of the training tools (pretrain, finetune, run_classifier, run_ner, run_mrc), defined
// once and mapped once to runtime::TrainingRunOptions, which PretrainOptions and FinetuneOptions
// embed. A tool changes a default before InitTool (SetFlagDefault) and adds its own flags.
//
//   auto run = uer::tools::TrainingRunFromFlags();
//   if (!run.ok()) return uer::tools::ExitCode(run.status());
//   if (run->place.launcher) return run->place.exit_code;   // this process started the ranks
#ifndef UER_TOOLS_TRAINING_FLAGS_H_
#define UER_TOOLS_TRAINING_FLAGS_H_

#include <string>

#include "absl/status/statusor.h"
#include "core/runtime/trainer.h"

namespace uer::tools {

// Changes a flag's default (what --help shows and what applies when the flag is not given).
void SetFlagDefault(const char* name, const std::string& value);

// The run the flags describe, and this process's place in it (ResolveLaunch: alone, a rank, or the
// launcher of this machine's ranks). Installs the SIGTERM/SIGINT handler that asks the run to stop
// (a checkpoint is saved). Errors name the flag.
absl::StatusOr<runtime::TrainingRunOptions> TrainingRunFromFlags();

}  // namespace uer::tools

#endif  // UER_TOOLS_TRAINING_FLAGS_H_
