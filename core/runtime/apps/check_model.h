// check_model: loads a checkpoint into the model a config describes, says which UER-py key
// generation it uses, its parameter count and any key problems; given an inputs file (a torch.save
// dict with src, seg and the target's tensors, as ../shared/golden/*/io.pt) it writes the model's
// outputs in eval mode (embedding_output, encoder_output, target_outputs, loss) for comparison
// with a reference, and it can save the model again under the seed's key names. A fine-tuned
// checkpoint (run_classifier's, run_ner's, run_mrc's: the task's layers beside embedding and
// encoder) is checked against the task whose head it holds, which it names.
#ifndef UER_CORE_RUNTIME_APPS_CHECK_MODEL_H_
#define UER_CORE_RUNTIME_APPS_CHECK_MODEL_H_

#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "core/config.h"

namespace uer::apps {

struct CheckModelOptions {
  std::string load_model_path;
  std::string vocab_path;
  std::string sub_vocab_path;  // subword models (config.subword_type char)
  core::v1::ModelConfig config;
  std::string inputs_path;      // optional
  std::string output_path;      // with inputs_path
  std::string save_model_path;  // optional: the loaded weights, seed key names
  bool allow_missing_target = false;
  // A fine-tuned checkpoint (a task's head at the top level): the task to check it as; empty tries
  // every task plugin and says which one's head the file holds.
  std::string task;
};

absl::Status RunCheckModel(const CheckModelOptions& options, std::ostream& out);

}  // namespace uer::apps

#endif  // UER_CORE_RUNTIME_APPS_CHECK_MODEL_H_
