// The encoder's output for each input line (UER-py's scripts/extract_feature.py): torch.save of
// one tensor, [N, seq_length, hidden] as the seed writes it, or [N, hidden] sentence vectors with
// --pooling.
//
//   bazel run //tools:extract_features -- --input_path sents.txt --pretrained_model_path model.bin
//       --vocab_path vocab.txt --config_path models/bert/tiny.pbtxt --output_path features.pt
#include <iostream>

#include <gflags/gflags.h>

#include "tools/model_tool_flags.h"
#include "tools/tool_common.h"
#include "core/runtime/apps/toolbox.h"

DEFINE_string(input_path, "", "Sentences, one a line.");
DEFINE_string(test_path, "", "Same as --input_path (UER-py's newer name).");
DEFINE_string(output_path, "", "Where the features go (torch.save of one tensor).");
DEFINE_string(prediction_path, "", "Same as --output_path (UER-py's newer name).");
DEFINE_int32(seq_length, 128, "Sequence length.");
DEFINE_int32(batch_size, 8, "Batch size.");
DEFINE_string(tokenizer, "bert", "Tokenizer: bert, char, space.");
DEFINE_string(pooling, "none", "none: [N, L, H] (the seed's); first, last, mean, max: one vector a sentence.");

int main(int argc, char** argv) {
  uer::tools::InitTool("Writes the encoder's features of each line.\nUsage: extract_features --input_path IN "
                       "--pretrained_model_path M --vocab_path V [--config_path C] --output_path OUT", &argc, &argv);
  uer::tools::LoadPluginsFromFlags();
  auto source = uer::tools::ModelSourceFromFlags("bert");
  if (!source.ok()) return uer::tools::ExitCode(source.status());
  uer::apps::ExtractFeaturesOptions o;
  o.model = *source;
  o.input_path = uer::tools::FlagOrAlias("input_path", "test_path");
  o.output_path = uer::tools::FlagOrAlias("output_path", "prediction_path");
  o.seq_length = FLAGS_seq_length;
  o.batch_size = FLAGS_batch_size;
  o.pooling = FLAGS_pooling;
  if (o.input_path.empty() || o.output_path.empty()) {
    return uer::tools::ExitCode(absl::InvalidArgumentError("--input_path and --output_path are required"));
  }
  return uer::tools::ExitCode(uer::apps::ExtractFeatures(o, std::cout));
}
