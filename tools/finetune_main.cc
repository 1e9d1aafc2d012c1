// Fine-tunes any task plugin by name (run_classifier and run_ner are this tool with their task).
//
//   bazel run //tools:finetune -- --task classifier --pretrained_model_path models/bert.bin
//       --vocab_path vocab.txt --train_path train.tsv --dev_path dev.tsv --test_path test.tsv
//   bazel run //tools:finetune -- --task acme.keyword --plugins=libacme_keyword.so ...
#include "tools/finetune_flags.h"
#include "tools/tool_common.h"

int main(int argc, char** argv) {
  uer::tools::InitTaskTool("Fine-tunes a model on a downstream task.\nUsage: finetune --task NAME --vocab_path V "
                       "--train_path T --dev_path D [--test_path E] [--pretrained_model_path M] [--config_path C] "
                       "[--output_model_path O]",
                       &argc, &argv, "");
  return uer::tools::RunFinetuneTool("");
}
