// Masks a token of each line and writes the masked-LM head's top-n guesses there (UER-py's
// scripts/cloze_test.py), the position drawn from --seed so runs repeat.
//
//   bazel run //tools:cloze_test -- --pretrained_model_path model.bin --vocab_path vocab.txt
//       --config_path models/bert/tiny.pbtxt --input_path sents.txt --output_path cloze.txt
#include <iostream>

#include <gflags/gflags.h>

#include "tools/model_tool_flags.h"
#include "tools/tool_common.h"
#include "core/runtime/apps/toolbox.h"

DEFINE_string(input_path, "", "Sentences, one a line.");
DEFINE_string(test_path, "", "Same as --input_path (UER-py's newer name).");
DEFINE_string(output_path, "", "Where the guesses go.");
DEFINE_string(prediction_path, "", "Same as --output_path (UER-py's newer name).");
DEFINE_int32(seq_length, 100, "Sequence length.");
DEFINE_int32(batch_size, 64, "Batch size.");
DEFINE_string(tokenizer, "bert", "Tokenizer: bert, char, space.");
DEFINE_int32(topn, 10, "How many guesses to print.");
DEFINE_uint64(seed, 7, "Seed of the masked positions (Python's random.randint).");

int main(int argc, char** argv) {
  uer::tools::InitTool("Cloze test of a masked-LM model.\nUsage: cloze_test --pretrained_model_path M --vocab_path V "
                       "[--config_path C] --input_path IN --output_path OUT", &argc, &argv);
  uer::tools::LoadPluginsFromFlags();
  auto source = uer::tools::ModelSourceFromFlags("bert");
  if (!source.ok()) return uer::tools::ExitCode(source.status());
  uer::apps::ClozeTestOptions o;
  o.model = *source;
  o.input_path = uer::tools::FlagOrAlias("input_path", "test_path");
  o.output_path = uer::tools::FlagOrAlias("output_path", "prediction_path");
  o.seq_length = FLAGS_seq_length;
  o.batch_size = FLAGS_batch_size;
  o.topn = FLAGS_topn;
  o.seed = FLAGS_seed;
  if (o.input_path.empty() || o.output_path.empty()) {
    return uer::tools::ExitCode(absl::InvalidArgumentError("--input_path and --output_path are required"));
  }
  return uer::tools::ExitCode(uer::apps::ClozeTest(o, std::cout));
}
