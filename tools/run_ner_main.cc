// Fine-tunes a sequence tagger (UER-py's run_ner.py): text_a holds space-separated tokens, label
// their space-separated labels (B-/I-/S-, O). Entity-level precision, recall and F1 on dev and test.
// The label map is written beside the model (OUTPUT.labels.json) for run_ner_infer.
//
//   bazel run //tools:run_ner -- --pretrained_model_path models/bert.bin --vocab_path vocab.txt
//       --train_path msra_ner/train.tsv --dev_path msra_ner/dev.tsv --test_path msra_ner/test.tsv
#include "tools/finetune_flags.h"
#include "tools/tool_common.h"

int main(int argc, char** argv) {
  uer::tools::SetFlagDefault("output_model_path", "./models/ner_model.bin");
  uer::tools::SetFlagDefault("batch_size", "32");
  uer::tools::InitTaskTool("Fine-tunes a sequence tagger (NER).\nUsage: run_ner --vocab_path V --train_path T --dev_path D "
                       "[--test_path E] [--pretrained_model_path M] [--config_path C] [--output_model_path O]",
                       &argc, &argv, "ner");
  return uer::tools::RunFinetuneTool("ner");
}
