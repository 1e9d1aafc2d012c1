// Prints the header of a preprocessed dataset and N decoded instances (tokens, segments, targets).
//
//   bazel run //tools:inspect_dataset -- --dataset_path dataset.uer --vocab_path vocab.txt --show 3
#include <iostream>

#include <gflags/gflags.h>

#include "core/runtime/apps/inspect_dataset.h"
#include "tools/tool_common.h"

DEFINE_string(dataset_path, "dataset.uer", "Path of the preprocessed dataset.");
DEFINE_string(vocab_path, "", "Vocabulary to print tokens instead of ids (optional).");
DEFINE_int32(show, 3, "How many instances to print.");

int main(int argc, char** argv) {
  uer::tools::InitTool("Prints a preprocessed dataset.\nUsage: inspect_dataset --dataset_path D [--vocab_path V] [--show N]",
                       &argc, &argv);
  uer::tools::LoadPluginsFromFlags();  // the target's data side decodes the records
  return uer::tools::ExitCode(uer::apps::InspectDataset(FLAGS_dataset_path, FLAGS_vocab_path, FLAGS_show, std::cout));
}
