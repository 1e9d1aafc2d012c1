// Predicts with a run_classifier model (UER-py's inference/run_classifier_infer.py): a prediction
// file with a header (label [logits] [prob]) and a line per input. The number of labels is read
// from the checkpoint unless --labels_num is given.
//
//   bazel run //tools:run_classifier_infer -- --load_model_path models/classifier_model.bin
//       --vocab_path vocab.txt --config_path models/bert/small.pbtxt --test_path test_nolabel.tsv
//       --prediction_path prediction.tsv --output_prob
#include "tools/finetune_flags.h"
#include "tools/tool_common.h"

int main(int argc, char** argv) {
  uer::tools::InitTaskTool("Classifies a TSV with a fine-tuned model.\nUsage: run_classifier_infer --load_model_path M "
                       "--vocab_path V --test_path T --prediction_path P [--config_path C] [--output_logits] "
                       "[--output_prob]", &argc, &argv, "classifier");
  return uer::tools::RunInferTool("classifier");
}
