// Compares two vocabularies: their sizes, differences and intersection (UER-py's diff_vocab).
//
//   bazel run //tools:diff_vocab -- --vocab_1 a.txt --vocab_2 b.txt
#include <iostream>

#include <gflags/gflags.h>

#include "tools/tool_common.h"
#include "core/runtime/apps/vocab_tools.h"

DEFINE_string(vocab_1, "", "The first vocabulary.");
DEFINE_string(vocab_2, "", "The second vocabulary.");

int main(int argc, char** argv) {
  uer::tools::InitTool("Compares two vocabularies.\nUsage: diff_vocab --vocab_1 A --vocab_2 B", &argc, &argv);
  if (FLAGS_vocab_1.empty() || FLAGS_vocab_2.empty()) {
    return uer::tools::ExitCode(absl::InvalidArgumentError("--vocab_1 and --vocab_2 are required"));
  }
  return uer::tools::ExitCode(uer::apps::RunDiffVocab(FLAGS_vocab_1, FLAGS_vocab_2, std::cout));
}
