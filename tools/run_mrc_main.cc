// Fine-tunes span extraction on CMRC2018-style SQuAD JSON (UER-py's run_mrc.py): the mrc task with
// the seed's defaults (char tokenizer, seq_length 100, doc_stride 128, learning rate 3e-5).
//
//   bazel run //tools:run_mrc -- --pretrained_model_path model.bin --vocab_path vocab.txt
//       --train_path train.json --dev_path dev.json --config_path models/bert/tiny.pbtxt
#include "tools/finetune_flags.h"
#include "tools/tool_common.h"

int main(int argc, char** argv) {
  uer::tools::SetFlagDefault("output_model_path", "./models/QA_model.bin");
  uer::tools::SetFlagDefault("seq_length", "100");
  uer::tools::SetFlagDefault("tokenizer", "char");
  uer::tools::SetFlagDefault("learning_rate", "3e-5");
  uer::tools::InitTaskTool("Fine-tunes reading comprehension (span extraction).\nUsage: run_mrc --vocab_path V --train_path T "
                       "--dev_path D [--test_path E] [--pretrained_model_path M] [--config_path C] [--output_model_path O]",
                       &argc, &argv, "mrc");
  return uer::tools::RunFinetuneTool("mrc");
}
