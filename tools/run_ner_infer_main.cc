// Tags with a run_ner model (UER-py's inference/run_ner_infer.py): a prediction file with a header
// (pred_label) and the space-separated labels of each input, one per token (up to --seq_length).
// The label map is LOAD_MODEL_PATH.labels.json (written by run_ner) unless --label2id_path is given.
//
//   bazel run //tools:run_ner_infer -- --load_model_path models/ner_model.bin
//       --vocab_path vocab.txt --config_path models/bert/small.pbtxt --test_path test.tsv
//       --prediction_path prediction.tsv
#include "tools/finetune_flags.h"
#include "tools/tool_common.h"

int main(int argc, char** argv) {
  uer::tools::InitTaskTool("Tags a TSV (text_a: space-separated tokens) with a fine-tuned model.\nUsage: run_ner_infer --load_model_path M "
                       "--vocab_path V --test_path T --prediction_path P [--config_path C] [--label2id_path L]", &argc, &argv, "ner");
  return uer::tools::RunInferTool("ner");
}
