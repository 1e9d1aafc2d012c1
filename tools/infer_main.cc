// Writes the predictions of a model fine-tuned on any task plugin (run_classifier_infer and
// run_ner_infer are this tool with their task).
//
//   bazel run //tools:infer -- --task classifier --load_model_path models/classifier.bin
//       --vocab_path vocab.txt --test_path test.tsv --prediction_path prediction.tsv
#include "tools/finetune_flags.h"
#include "tools/tool_common.h"

int main(int argc, char** argv) {
  uer::tools::InitTaskTool("Predicts with a fine-tuned model.\nUsage: infer --task NAME --load_model_path M --vocab_path V "
                       "--test_path T --prediction_path P [--config_path C]",
                       &argc, &argv, "");
  return uer::tools::RunInferTool("");
}
