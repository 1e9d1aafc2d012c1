// Moves a checkpoint to a new vocabulary (UER-py's scripts/dynamic_vocab_adapter.py): rows of words
// in both are kept, new words get N(0, 0.02) rows (seeded), in the word embedding and every
// output layer over the vocabulary.
//
//   bazel run //tools:dynamic_vocab_adapter -- --old_model_path old.bin --old_vocab_path old.txt
//       --new_vocab_path new.txt --new_model_path new.bin
#include <iostream>

#include <gflags/gflags.h>

#include "tools/tool_common.h"
#include "core/runtime/apps/toolbox.h"

DEFINE_string(old_model_path, "", "The checkpoint to adapt.");
DEFINE_string(old_vocab_path, "", "Its vocabulary.");
DEFINE_string(new_vocab_path, "", "The new vocabulary.");
DEFINE_string(new_model_path, "", "Where the adapted checkpoint goes.");
DEFINE_uint64(seed, 7, "Seed of the new words' rows.");

int main(int argc, char** argv) {
  uer::tools::InitTool("Adapts a checkpoint to a new vocabulary.\nUsage: dynamic_vocab_adapter --old_model_path M "
                       "--old_vocab_path V --new_vocab_path W --new_model_path OUT", &argc, &argv);
  uer::tools::LoadPluginsFromFlags();  // the plugins declare which tensors are over the vocabulary
  uer::apps::VocabAdapterOptions o;
  o.old_model_path = FLAGS_old_model_path;
  o.old_vocab_path = FLAGS_old_vocab_path;
  o.new_vocab_path = FLAGS_new_vocab_path;
  o.new_model_path = FLAGS_new_model_path;
  o.seed = FLAGS_seed;
  if (o.old_model_path.empty() || o.old_vocab_path.empty() || o.new_vocab_path.empty() || o.new_model_path.empty()) {
    return uer::tools::ExitCode(absl::InvalidArgumentError(
        "--old_model_path, --old_vocab_path, --new_vocab_path and --new_model_path are required"));
  }
  return uer::tools::ExitCode(uer::apps::AdaptVocab(o, std::cout));
}
