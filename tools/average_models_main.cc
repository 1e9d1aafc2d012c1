// The element-wise mean of checkpoints (UER-py's scripts/average_model.py).
//
//   bazel run //tools:average_models -- --model_list_path a.bin b.bin c.bin --output_model_path avg.bin
#include <iostream>

#include <gflags/gflags.h>

#include "absl/strings/str_split.h"

#include "tools/tool_common.h"
#include "core/runtime/apps/toolbox.h"

DEFINE_string(model_list_path, "", "The checkpoints to average: space-separated (as UER-py's nargs) or comma-separated.");
DEFINE_string(output_model_path, "", "Where the average goes (.safetensors for safetensors, else torch.save).");

int main(int argc, char** argv) {
  // UER-py's --model_list_path takes several values: the words after it up to the next flag.
  std::vector<std::string> paths;
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--model_list_path" || a == "-model_list_path") {
      while (i + 1 < argc && argv[i + 1][0] != '-') paths.push_back(argv[++i]);
      continue;
    }
    rest.push_back(argv[i]);
  }
  int n = static_cast<int>(rest.size());
  char** args = rest.data();
  uer::tools::InitTool("Averages checkpoints.\nUsage: average_models --model_list_path A B [C ...] --output_model_path OUT",
                       &n, &args);
  if (!FLAGS_model_list_path.empty()) {
    for (const auto& p : absl::StrSplit(FLAGS_model_list_path, ',', absl::SkipEmpty())) paths.emplace_back(p);
  }
  uer::apps::AverageModelsOptions o;
  o.model_paths = paths;
  o.output_model_path = FLAGS_output_model_path;
  if (o.output_model_path.empty()) return uer::tools::ExitCode(absl::InvalidArgumentError("--output_model_path is required"));
  return uer::tools::ExitCode(uer::apps::AverageModels(o, std::cout));
}
