// Contextual nearest words (UER-py's scripts/topn_words_dep.py): for each "sentence<TAB>word"
// line, the candidates whose encoder output in the word's place is nearest to the word's own.
// The layer count is the config's; --layers_num overrides it only when given (the seed forces 4).
//
//   bazel run //tools:topn_words_dep -- --pretrained_model_path model.bin --vocab_path vocab.txt
//       --config_path models/bert/tiny.pbtxt --cand_vocab_path cand.txt --sent_path sents.tsv
#include <iostream>

#include <gflags/gflags.h>

#include "tools/model_tool_flags.h"
#include "tools/tool_common.h"
#include "core/runtime/apps/toolbox.h"

DEFINE_string(sent_path, "", "Lines of sentence<TAB>word.");
DEFINE_string(cand_vocab_path, "", "The candidate words, one a line.");
DEFINE_string(output_path, "", "Where the lists go (standard output if empty).");
DEFINE_int32(seq_length, 128, "Sequence length.");
DEFINE_int32(batch_size, 64, "Candidates encoded per batch.");
DEFINE_string(tokenizer, "space", "Tokenizer: bert, char, space.");
DEFINE_int32(topn, 20, "How many nearest words to print.");

int main(int argc, char** argv) {
  uer::tools::InitTool("Prints contextual nearest words.\nUsage: topn_words_dep --pretrained_model_path M --vocab_path V "
                       "[--config_path C] --cand_vocab_path CAND --sent_path SENTS", &argc, &argv);
  uer::tools::LoadPluginsFromFlags();
  auto source = uer::tools::ModelSourceFromFlags("space");
  if (!source.ok()) return uer::tools::ExitCode(source.status());
  uer::apps::TopnWordsDepOptions o;
  o.model = *source;
  o.sent_path = FLAGS_sent_path;
  o.cand_vocab_path = FLAGS_cand_vocab_path;
  o.output_path = FLAGS_output_path;
  o.seq_length = FLAGS_seq_length;
  o.batch_size = FLAGS_batch_size;
  o.topn = FLAGS_topn;
  if (o.sent_path.empty() || o.cand_vocab_path.empty()) {
    return uer::tools::ExitCode(absl::InvalidArgumentError("--sent_path and --cand_vocab_path are required"));
  }
  return uer::tools::ExitCode(uer::apps::TopnWordsDep(o, std::cout));
}
