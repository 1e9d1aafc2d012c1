// Answers the questions of a SQuAD JSON file with a fine-tuned run_mrc model: one JSON object
// {"question id": "answer"} (what CMRC2018's evaluation reads).
//
//   bazel run //tools:run_mrc_infer -- --load_model_path models/QA_model.bin --vocab_path vocab.txt
//       --test_path test.json --prediction_path predictions.json
#include "tools/finetune_flags.h"
#include "tools/tool_common.h"

int main(int argc, char** argv) {
  uer::tools::SetFlagDefault("seq_length", "100");
  uer::tools::SetFlagDefault("tokenizer", "char");
  uer::tools::InitTaskTool("Answers questions with a fine-tuned run_mrc model.\nUsage: run_mrc_infer --load_model_path M "
                       "--vocab_path V --test_path T --prediction_path P [--config_path C]", &argc, &argv, "mrc");
  return uer::tools::RunInferTool("mrc");
}
