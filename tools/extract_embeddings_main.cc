// The word embedding table as word2vec text (UER-py's scripts/extract_embedding.py; HEAD's
// extract_embeddings.py flag names accepted too).
//
//   bazel run //tools:extract_embeddings -- --vocab_path vocab.txt --pretrained_model_path model.bin
//       --output_word_embedding_path embeddings.txt
#include <iostream>

#include <gflags/gflags.h>

#include "tools/tool_common.h"
#include "core/runtime/apps/toolbox.h"

DEFINE_string(vocab_path, "", "Path of the vocabulary file.");
DEFINE_string(pretrained_model_path, "", "The checkpoint (any format uer-cc reads).");
DEFINE_string(load_model_path, "", "Same as --pretrained_model_path (UER-py's newer name).");
DEFINE_string(output_word_embedding_path, "", "Where the word2vec text goes.");
DEFINE_string(word_embedding_path, "", "Same as --output_word_embedding_path (UER-py's newer name).");

int main(int argc, char** argv) {
  uer::tools::InitTool("Writes a model's word embeddings as word2vec text.\nUsage: extract_embeddings --vocab_path V "
                       "--pretrained_model_path M --output_word_embedding_path OUT", &argc, &argv);
  uer::tools::LoadPluginsFromFlags();  // the plugins declare which tensors are over the vocabulary
  uer::apps::ExtractEmbeddingsOptions o;
  o.vocab_path = FLAGS_vocab_path;
  o.load_model_path = FLAGS_pretrained_model_path.empty() ? FLAGS_load_model_path : FLAGS_pretrained_model_path;
  o.word_embedding_path = FLAGS_output_word_embedding_path.empty() ? FLAGS_word_embedding_path : FLAGS_output_word_embedding_path;
  if (o.vocab_path.empty() || o.load_model_path.empty() || o.word_embedding_path.empty()) {
    return uer::tools::ExitCode(absl::InvalidArgumentError(
        "--vocab_path, --pretrained_model_path and --output_word_embedding_path are required"));
  }
  return uer::tools::ExitCode(uer::apps::ExtractEmbeddings(o, std::cout));
}
