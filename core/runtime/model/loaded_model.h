// A model as tools and servers run it, loaded one way everywhere: the vocabulary and the config's
// tokenizer, the model the config assembles with a checkpoint's weights (any format LoadStateDict
// reads), on its device in eval mode, and the precision of its forward passes.
//
//   ModelSource source{config, "vocab.txt", "", "model.bin"};
//   UER_ASSIGN_OR_RETURN(LoadedModel m, LoadModel(source, /*need_target=*/false));
//   torch::Tensor hidden = m.Encode(src, seg, /*trim=*/true);
//
//   UER_ASSIGN_OR_RETURN(LoadedTaskModel t, LoadTaskModel(source, "classifier", {}));
//   Predictor(t.model.get(), t.device, 32, t.precision).Run(rows, ...);
#ifndef UER_CORE_RUNTIME_MODEL_LOADED_MODEL_H_
#define UER_CORE_RUNTIME_MODEL_LOADED_MODEL_H_

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "core/config.h"
#include "core/plugin_api.h"
#include "core/runtime/device.h"
#include "core/runtime/model/model.h"
#include "core/tokenizer.h"
#include "core/vocab.h"

namespace uer::runtime {

// Where a model comes from and how it runs.
struct ModelSource {
  core::v1::ModelConfig config;
  std::string vocab_path;
  std::string sub_vocab_path;   // subword models (config.subword_type char)
  std::string load_model_path;  // the checkpoint
  std::string precision = "fp32";  // of the forward passes: fp32 | bf16 (ParsePrecision)
  torch::Device device = torch::kCPU;
};

// The vocabulary, the config's tokenizer over it, and a subword config's table.
struct TextSide {
  std::shared_ptr<const core::Vocab> vocab;
  std::unique_ptr<core::Tokenizer> tokenizer;
  SubwordTable subwords;
};
absl::StatusOr<TextSide> LoadTextSide(const core::v1::ModelConfig& config, const std::string& vocab_path,
                                      const std::string& sub_vocab_path);

// A task plugin's data side (reader, evaluator, prediction writer) over `text`, its options resolved
// from `options` (defaults filled in, types checked); an error when the vocabulary lacks a token
// the task needs.
absl::StatusOr<std::unique_ptr<core::TaskData>> CreateTaskData(const std::string& task, const TextSide& text,
                                                               const std::string& vocab_path,
                                                               const std::map<std::string, std::string>& options);

// An error when `seq_length` is more than the positions the embedding has.
absl::Status CheckSeqLength(const core::Embedding& embedding, int64_t seq_length);

// A pre-trained model: embedding, encoder and target.
struct LoadedModel {
  TextSide text;
  std::shared_ptr<Model> model;
  Precision precision = Precision::kFp32;
  torch::Device device = torch::kCPU;
  // The encoder's output [batch, seq, hidden] in fp32 for src and seg on any device (padding
  // seg 0), on this model's device. With `trim`, the batch is cut after its longest row where the
  // encoder's outputs do not see trailing padding, and the cut columns come back as zeros.
  torch::Tensor Encode(const torch::Tensor& src, const torch::Tensor& seg, bool trim) const;
  // [CLS] and the text's token ids (empty when the text has no token), as extract_features reads a line.
  std::vector<int64_t> ClsAndTokens(std::string_view text) const;
};

// Rows of ids as src and seg [rows, length] (seg 1 at the ids), padded with `pad` and cut to `length`.
std::pair<torch::Tensor, torch::Tensor> PadRows(const std::vector<std::vector<int64_t>>& rows, int64_t length, int64_t pad);

// One vector per row [batch, hidden] of the encoder's output `hidden` [batch, seq, hidden] over the
// positions where seg > 0, pooled as UER-py's extract_features pools: first, last, mean or max.
torch::Tensor PoolHidden(const torch::Tensor& hidden, const torch::Tensor& seg, const std::string& pooling);
// An error naming `field` ("--pooling") unless `pooling` is one PoolHidden knows (`none` too where
// `allow_none`).
absl::Status CheckPooling(const std::string& pooling, bool allow_none, const std::string& field);
// need_target: the target's head runs (its weights must be in the checkpoint); otherwise the
// embedding and encoder alone, whatever target the checkpoint has or lacks.
absl::StatusOr<LoadedModel> LoadModel(const ModelSource& source, bool need_target);

// A fine-tuned model with its task: the head sized from the checkpoint
// (TaskData::PrepareInference), the task's data side to read inputs and write predictions.
struct LoadedTaskModel {
  TextSide text;
  std::unique_ptr<core::TaskData> task;
  std::shared_ptr<FinetuneModel> model;
  core::v1::ModelConfig config;  // the source's, with what the checkpoint sets (labels_num, ...)
  Precision precision = Precision::kFp32;
  torch::Device device = torch::kCPU;
};
absl::StatusOr<LoadedTaskModel> LoadTaskModel(const ModelSource& source, const std::string& task,
                                              const std::map<std::string, std::string>& task_options);

}  // namespace uer::runtime

#endif  // UER_CORE_RUNTIME_MODEL_LOADED_MODEL_H_
