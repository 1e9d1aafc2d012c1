// Fine-tunes a classifier (UER-py's run_classifier.py): one sentence (label, text_a), a pair
// (label, text_a, text_b) or DBQA (label, text_a, text_b, qid; --mean_reciprocal_rank).
//
//   bazel run //tools:run_classifier -- --pretrained_model_path models/book_review.bin
//       --vocab_path vocab.txt --config_path models/bert/small.pbtxt
//       --train_path train.tsv --dev_path dev.tsv --test_path test.tsv --epochs_num 3
#include <gflags/gflags.h>

#include "tools/finetune_flags.h"
#include "tools/tool_common.h"


int main(int argc, char** argv) {
  uer::tools::InitTaskTool("Fine-tunes a classifier.\nUsage: run_classifier --vocab_path V --train_path T --dev_path D "
                       "[--test_path E] [--pretrained_model_path M] [--config_path C] [--output_model_path O]",
                       &argc, &argv, "classifier");
  return uer::tools::RunFinetuneTool("classifier");
}
