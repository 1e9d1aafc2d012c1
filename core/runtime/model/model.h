// A pre-training model: embedding + encoder + target, assembled from plugins by name, with UER-py's
// state-dict keys ("embedding.word_embedding.weight", "encoder.transformer.0...", "target...").
//
//   UER_ASSIGN_OR_RETURN(std::shared_ptr<Model> model, BuildModel(config, {vocab.size()}));
//   UER_RETURN_IF_ERROR(LoadModelWeights(model.get(), "model.bin", LoadOptions{}));
//   TargetOutput out = model->Forward(src, seg, {{"tgt_mlm", tgt_mlm}, {"tgt_nsp", tgt_nsp}});
#ifndef UER_CORE_RUNTIME_MODEL_H_
#define UER_CORE_RUNTIME_MODEL_H_

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/runtime/checkpoint.h"
#include "core/plugin_api.h"

namespace uer::runtime {

using core::BuildContext;
using core::Embedding;
using core::Encoder;
using core::Subencoder;
using core::Target;
using core::TargetOutput;
using core::Task;
using core::TensorMap;

// The subword side of a model (UER-py's --subword_type char): every word of the vocabulary as the
// ids of its characters (code points) in the sub vocabulary, unknown characters as the sub
// vocabulary's [UNK]. Built once per vocabulary; UER-py's word2sub builds it per batch.
struct SubwordTable {
  int64_t sub_vocab_size = 0;
  torch::Tensor chars;    // [vocab, longest word] int64, 0 after a word's end
  torch::Tensor lengths;  // [vocab]
  bool empty() const { return !chars.defined(); }
  // The sub ids of src [batch, seq] as word2sub gives them: [batch * seq, W], W the longest word
  // of the batch (padding words included, as UER-py counts them), on src's device.
  torch::Tensor Lookup(const torch::Tensor& src) const;
};

// For a config with subword_type "char": reads the sub vocabulary (errors name it and the flag)
// and builds the table; an empty table for "none"; an error for other types.
absl::StatusOr<SubwordTable> LoadSubwordTable(const core::v1::ModelConfig& config, const core::Vocab& vocab,
                                              const std::string& sub_vocab_path);

class Model : public torch::nn::Module {
 public:
  // With a subencoder (registered as "subencoder", after the target, as UER-py does), `subwords`
  // maps the words to its input.
  Model(std::shared_ptr<Embedding> embedding, std::shared_ptr<Encoder> encoder, std::shared_ptr<Target> target,
        std::shared_ptr<Subencoder> subencoder = nullptr, SubwordTable subwords = {});
  // The embedding, plus the subencoder's vector of each word's characters when there is one.
  torch::Tensor Embed(const torch::Tensor& src, const torch::Tensor& seg);
  // The target's tensors reach it with "seg" added (the segment ids). With skip padding on, Forward also checks that no [batch, seq] target input is > 0 at a padding
  // position (a dataset that breaks the target's contract is an error, not a silent change).
  TargetOutput Forward(const torch::Tensor& src, const torch::Tensor& seg, const TensorMap& tgt);
  // Lets the encoder skip padding positions when the target reads none of them (Target::ReadsPadding);
  // returns whether that is now on. The loss, the target's values and the gradients stay the same.
  bool SkipPadding(bool on);
  std::shared_ptr<Embedding> embedding;
  std::shared_ptr<Encoder> encoder;
  std::shared_ptr<Target> target;
  std::shared_ptr<Subencoder> subencoder;  // null without subwords
  SubwordTable subwords;
  std::vector<core::OldKeyName> old_key_names;  // its plugins', under their slots (BuildModel)
};

// A subword config (subword_type char) needs `subwords` (LoadSubwordTable); its size goes to the
// subencoder's BuildContext.
absl::StatusOr<std::shared_ptr<Model>> BuildModel(const core::v1::ModelConfig& config, const BuildContext& ctx,
                                                  const SubwordTable& subwords = {});

// A fine-tuning model: embedding + encoder + a downstream task (plugin kind "task"). The task's
// layers sit at the top level of the state dict, as in UER-py's fine-tuned checkpoints
// ("output_layer_1.weight" for run_classifier, "output_layer.weight" for run_ner).
//
//   UER_ASSIGN_OR_RETURN(auto model, BuildFinetuneModel(config, "classifier", {vocab.size()}));
//   TargetOutput out = model->Forward(src, seg, {{"label", label}});   // out.Find("logits")
class FinetuneModel : public torch::nn::Module {
 public:
  FinetuneModel(std::shared_ptr<Embedding> embedding, std::shared_ptr<Encoder> encoder, std::shared_ptr<Task> task,
                std::shared_ptr<Subencoder> subencoder = nullptr, SubwordTable subwords = {});
  torch::Tensor Embed(const torch::Tensor& src, const torch::Tensor& seg);
  // `inputs` may hold "label"; "seg" is added from `seg`.
  TargetOutput Forward(const torch::Tensor& src, const torch::Tensor& seg, const TensorMap& inputs);
  // The task is not a child module (its layers are): its own mode follows this one's.
  void train(bool on = true) override;
  std::shared_ptr<Embedding> embedding;
  std::shared_ptr<Encoder> encoder;
  std::shared_ptr<Task> task;
  // Unlike UER-py's fine-tuning scripts, which leave a pre-trained subencoder out, a subword model
  // fine-tunes with it ("subencoder.*" keys beside the task's).
  std::shared_ptr<Subencoder> subencoder;
  SubwordTable subwords;
  std::vector<core::OldKeyName> old_key_names;  // its plugins', under their slots (BuildFinetuneModel)
};

absl::StatusOr<std::shared_ptr<FinetuneModel>> BuildFinetuneModel(const core::v1::ModelConfig& config,
                                                                  const std::string& task, const BuildContext& ctx,
                                                                  const SubwordTable& subwords = {});

// UER-py's initialisation: every parameter from N(0, std) except LayerNorm's gamma and beta.
void InitWeights(torch::nn::Module* model, double std = 0.02, uint64_t seed = 7);

// Which UER-py key generation a state dict uses (c.1-c.3 of docs/uer_reference.md): "huggingface"
// (bert.embeddings.*), else the generations the plugins' old key names (OldKeyNames) find in it,
// joined by "+" ("uer-2022", "uer-head"), else "uer-seed" (keys under the model's slots) or "unknown".
std::string KeyGeneration(const StateDict& state);
// Renames the keys of other generations to the names the modules register: drops a DataParallel
// "module." prefix, then renames the old key names the model's plugins declare.
StateDict UpgradeKeys(const torch::nn::Module& model, StateDict state);

// The keys, in a model's state dict, of the tensors whose rows are the vocabulary's, as the
// embedding, target and task plugins declare them (VocabularyRows; all built-in plugins loaded),
// under their current and old names.
std::set<std::string> VocabularyRowKeys();

struct LoadOptions {
  // Fine-tuning starts from a pre-trained model without its target: missing target.* keys are fine.
  bool allow_missing_target = false;
  // Keys of the file that the model lacks are an error unless they are the target's and this is set.
  bool allow_unexpected_target = false;
  // Model keys with one of these prefixes may be missing from the file (a task head that
  // fine-tuning initialises, e.g. "output_layer"); they keep their initial values.
  std::vector<std::string> missing_ok_prefixes;
};

// Loads a checkpoint into `model` strictly: missing, unexpected and shape-mismatched keys are all
// listed in one error naming the file. Returns the detected key generation.
absl::StatusOr<std::string> LoadModelWeights(torch::nn::Module* model, const std::string& path,
                                             const LoadOptions& options);
absl::StatusOr<std::string> LoadModelWeights(torch::nn::Module* model, const StateDict& state,
                                             const std::string& name, const LoadOptions& options);
// The model's parameters (and buffers) as a state dict with UER-py's seed keys.
StateDict ModelStateDict(const torch::nn::Module& model);

}  // namespace uer::runtime

#endif  // UER_CORE_RUNTIME_MODEL_H_
