// Fine-tunes a sequence tagger (UER-py's run_ner.py): text_a holds space-separated tokens, label
// their space-separated labels (B-/I-/S-, O). Entity-level precision, recall and F1 on dev and test.
// The label map is written beside the model (OUTPUT.labels.json) for run_ner_infer.
//
//   bazel run //tools:run_ner -- --pretrained_model_path models/bert.bin --vocab_path vocab.txt
//       --train_path msra_ner/train.tsv --dev_path msra_ner/dev.tsv --test_path msra_ner/test.tsv
#include <iostream>

#include <gflags/gflags.h>

#include "tools/finetune_flags.h"
#include "tools/tool_common.h"

DECLARE_string(config_path);

int main(int argc, char** argv) {
  uer::tools::SetFlagDefault("output_model_path", "./models/ner_model.bin");
  uer::tools::SetFlagDefault("batch_size", "32");
  uer::tools::InitTool("Fine-tunes a sequence tagger (NER).\nUsage: run_ner --vocab_path V --train_path T --dev_path D "
                       "[--test_path E] [--pretrained_model_path M] [--config_path C] [--output_model_path O]",
                       &argc, &argv);
  uer::tools::LoadPluginsFromFlags();
  auto config = uer::tools::ResolveModelConfig(FLAGS_config_path);
  if (!config.ok()) return uer::tools::ExitCode(config.status());
  auto options = uer::tools::FinetuneOptionsFromFlags(*config);
  if (!options.ok()) return uer::tools::ExitCode(options.status());
  auto result = uer::tools::RunNer(*options);
  if (!result.ok()) return uer::tools::ExitCode(result.status());
  std::cout << "best dev " << "entity F1" << ": " << result->best_dev << "\n";
  if (!result->test_report.empty()) std::cout << result->test_report << "\n";
  std::cout << "model: " << options->output_model_path << "\n";
  return 0;
}
