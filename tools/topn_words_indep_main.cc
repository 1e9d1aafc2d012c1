// Nearest words by their word embeddings (UER-py's scripts/topn_words_indep.py): printed to
// standard output as the seed prints them.
//
//   bazel run //tools:topn_words_indep -- --pretrained_model_path model.bin --vocab_path vocab.txt
//       --cand_vocab_path cand.txt --target_words_path words.txt --topn 10
#include <iostream>

#include <gflags/gflags.h>

#include "tools/tool_common.h"
#include "core/runtime/apps/toolbox.h"

DEFINE_string(pretrained_model_path, "", "The checkpoint (any format uer-cc reads).");
DEFINE_string(load_model_path, "", "Same as --pretrained_model_path (UER-py's newer name).");
DEFINE_string(vocab_path, "", "Path of the vocabulary file.");
DEFINE_string(cand_vocab_path, "", "The candidate words, one a line.");
DEFINE_string(target_words_path, "", "The target words, one a line (the first field).");
DEFINE_int32(topn, 20, "How many nearest words to print.");

int main(int argc, char** argv) {
  uer::tools::InitTool("Prints the nearest words of each target word by word embedding.\nUsage: topn_words_indep "
                       "--pretrained_model_path M --vocab_path V --cand_vocab_path C --target_words_path W", &argc, &argv);
  uer::tools::LoadPluginsFromFlags();  // the plugins declare which tensors are over the vocabulary
  uer::apps::TopnWordsIndepOptions o;
  o.load_model_path = FLAGS_pretrained_model_path.empty() ? FLAGS_load_model_path : FLAGS_pretrained_model_path;
  o.vocab_path = FLAGS_vocab_path;
  o.cand_vocab_path = FLAGS_cand_vocab_path;
  o.target_words_path = FLAGS_target_words_path;
  o.topn = FLAGS_topn;
  if (o.load_model_path.empty() || o.vocab_path.empty() || o.cand_vocab_path.empty() || o.target_words_path.empty()) {
    return uer::tools::ExitCode(absl::InvalidArgumentError(
        "--pretrained_model_path, --vocab_path, --cand_vocab_path and --target_words_path are required"));
  }
  return uer::tools::ExitCode(uer::apps::TopnWordsIndep(o, std::cout));
}
