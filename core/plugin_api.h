// The public C++ surface of uer-cc for plugins, in-tree and third-party alike. A plugin includes
// this header, implements one factory interface, registers it with UER_REGISTER_FACTORY and links
// //core:plugin_api (libuer_core.so) dynamically. See docs/plugins.md and docs/examples/.
//
//   class TinyEncoderFactory : public uer::core::EncoderFactory {
//    public:
//     std::string name() const override { return "acme.tiny"; }
//     std::string help() const override { return "one linear layer"; }
//     absl::StatusOr<std::shared_ptr<uer::core::Encoder>> Create(
//         const uer::core::v1::ModelConfig& c, const uer::core::BuildContext& ctx) const override;
//   };
//   UER_REGISTER_FACTORY(TinyEncoderFactory);
#ifndef UER_CORE_PLUGIN_API_H_
#define UER_CORE_PLUGIN_API_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/types.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/config.h"
#include "core/log.h"
#include "core/registry.h"
#include "core/status_macros.h"
#include "core/tokenizer.h"
#include "core/vocab.h"

namespace uer::core {

// What a factory needs beside the model config.
struct BuildContext {
  int64_t vocab_size = 0;
  int64_t sub_vocab_size = 0;
};

// Named tensors: a target's inputs (tgt_mlm, tgt_nsp, ...) or outputs.
using TensorMap = std::map<std::string, torch::Tensor>;

// An ordered list of named tensors (a state dict keeps its order).
using StateDict = std::vector<std::pair<std::string, torch::Tensor>>;

// ---- Modules ------------------------------------------------------------------------------------

// The base of every plugin module. The names older checkpoints gave its keys are declared by its
// factory (ModuleFactory::OldKeyNames); the runtime renames them when it loads a file.
class PluginModule : public torch::nn::Module {
 public:
  ~PluginModule() override;
};

// Token ids [batch, seq] and segment ids [batch, seq] (0 = padding) to [batch, seq, emb_size].
class Embedding : public PluginModule {
 public:
  ~Embedding() override;
  virtual torch::Tensor Forward(const torch::Tensor& src, const torch::Tensor& seg) = 0;
  // The longest sequence it can embed (learned positions), or 0 for no limit.
  virtual int64_t max_positions() const { return 0; }
};

// [batch, seq, emb_size] plus the segment ids (the attention mask) to [batch, seq, hidden_size].
class Encoder : public PluginModule {
 public:
  ~Encoder() override;
  virtual torch::Tensor Forward(const torch::Tensor& emb, const torch::Tensor& seg) = 0;
  // Whether its output at a token is the same with or without padding after the last token (masked
  // attention, left-to-right recurrences): a caller may then cut a batch after its longest row.
  virtual bool TrailingPaddingInvisible() const { return false; }
  // Set (by Model::SkipPadding) when nothing reads the output at a padding position (seg == 0): the
  // encoder may then leave the padding out of its work, as long as every other position's output
  // stays what it would be (its outputs at the padding are then unspecified; the built-in encoders
  // write zeros). An encoder that cannot do that exactly ignores it.
  void set_skip_padding(bool on) { skip_padding_ = on; }
  bool skip_padding() const { return skip_padding_; }
  // Incremental decoding (a key/value cache): a causal encoder whose output at a position depends
  // only on the positions before it may extend a prefix a few positions at a time. `emb` holds
  // the embeddings [batch, new, emb_size] of the positions after those `cache` has seen (all real
  // tokens); the result is what Forward gives at those positions of the whole sequence. `cache`
  // starts empty and belongs to the caller; its contents are the encoder's. Others throw.
  virtual bool Incremental() const { return false; }
  virtual torch::Tensor ForwardIncremental(const torch::Tensor& emb, std::vector<torch::Tensor>* cache);

 private:
  bool skip_padding_ = false;
};

// What a target computes: the loss that training minimises and UER-py's returned values, in its
// order and under its names ("loss_mlm", "loss_nsp", "correct_mlm", "correct_nsp", "denominator").
//
// `terms` says what the loss averages: loss = sum over terms of sum / (count + eps), each a scalar
// of this batch (mlm: the masked tokens' NLL summed and their number). With them, distributed
// training normalises by the counts of all ranks together, so that N ranks train as one process
// with N times the batch even when ranks hold different numbers of target tokens. A target without
// terms is weighted by its rows.
struct LossTerm {
  torch::Tensor sum, count;
  double eps = 0;
};
struct TargetOutput {
  torch::Tensor loss;
  std::vector<std::pair<std::string, torch::Tensor>> values;
  std::vector<LossTerm> terms;
  const torch::Tensor* Find(const std::string& name) const {
    for (const auto& [n, t] : values) {
      if (n == name) return &t;
    }
    return nullptr;
  }
};

// The encoder output [batch, seq, hidden_size] and the target's tensors to a loss.
class Target : public PluginModule {
 public:
  ~Target() override;
  virtual TargetOutput Forward(const torch::Tensor& memory_bank, const TensorMap& tgt) = 0;
  // Names of the tensors Forward reads from `tgt` ("tgt_mlm", "tgt_nsp", ...).
  virtual std::vector<std::string> InputNames() const = 0;
  // Whether Forward may read `memory_bank` at a padding position (seg == 0). A target that reads
  // only where its [batch, seq] inputs are > 0 (mlm, lm, bilm) or at [CLS] (nsp) says false, and
  // the encoder may then skip the padding during training.
  virtual bool ReadsPadding() const { return true; }
  // A target that generates a sequence from the encoder's output (s2s) says so, and decodes
  // greedily: every row starts from `start_id`, takes the most probable token at each step, and
  // ends after `end_id` or `max_length` tokens. Returns [batch, max_length] ids without the start
  // id, 0 after a row's end. Targets that do not decode throw.
  virtual bool Decodes() const { return false; }
  virtual torch::Tensor GreedyDecode(const torch::Tensor& memory_bank, const torch::Tensor& seg, int64_t start_id,
                                     int64_t end_id, int64_t max_length);
  // What its head predicts over the vocabulary at a position: the next token (lm: the token after
  // it, what generation samples from) or the masked token there (mlm, bert: what a cloze test
  // asks). TokenLogits gives those logits [..., vocab] for every position of `memory_bank`
  // [..., hidden_size]; targets that predict no token throw.
  enum class TokenPrediction { kNone, kNextToken, kMaskedToken };
  virtual TokenPrediction Predicts() const { return TokenPrediction::kNone; }
  virtual torch::Tensor TokenLogits(const torch::Tensor& memory_bank);
};

// Characters of each word [batch * seq, word_length] (sub vocabulary ids, 0 after the word's
// end) to one vector per word [batch * seq, emb_size], which the model adds to the embedding
// (UER-py's --subword_type char).
class Subencoder : public PluginModule {
 public:
  ~Subencoder() override;
  virtual torch::Tensor Forward(const torch::Tensor& ids) = 0;
};

// A downstream head (classifier, tagger, ...) on top of the encoder's output. `inputs` holds "seg"
// (the segment ids, 0 = padding) and, when training or evaluating, "label"; without "label" the
// output's loss is undefined. Values: "logits" always, and what the task reports. Its submodules
// are named as UER-py's fine-tuning scripts name them ("output_layer_1", ...): they sit at the top
// level of a fine-tuned checkpoint, beside "embedding" and "encoder".
class Task : public PluginModule {
 public:
  ~Task() override;
  virtual TargetOutput Forward(const torch::Tensor& memory_bank, const TensorMap& inputs) = 0;
  // Whether what is made of its outputs (loss, metrics, predictions) reads a padding position. When
  // neither it nor the encoder (Encoder::TrailingPaddingInvisible) does, batches are cut after
  // their longest row.
  virtual bool ReadsPadding() const { return true; }
};

// ---- The data side of a task -----------------------------------------------------------------------

// A fine-tuning data set as a task reads it: src, seg [n, seq] and the task's inputs ("label": [n]
// or [n, seq]), on the CPU.
struct TaskDataset {
  torch::Tensor src, seg;
  TensorMap inputs;
  int64_t size() const { return src.defined() ? src.size(0) : 0; }
};

struct TaskReadOptions {
  int64_t seq_length = 128;
  bool with_labels = true;  // false: inference input (labels not needed)
  bool skip_bad_lines = false;
  // Invalid UTF-8 (a GBK file): an error naming the line (core::InvalidUtf8Message), or with this
  // read as U+FFFD.
  bool replace_invalid_utf8 = false;
};

// An evaluation: the metric that picks the best epoch, and the printout (UER-py's wording).
struct Evaluation {
  double metric = 0;
  std::string report;
  // The values the report names ({"acc", 0.91}; ner: precision, recall, f1), for TensorBoard and
  // --metrics_path ("dev/NAME" per epoch). Empty: {"metric", metric}.
  std::vector<std::pair<std::string, double>> scalars;
};

// Sees the model's outputs (eval mode) batch by batch: rows [begin, begin + batch) of the data set.
class Evaluator {
 public:
  virtual ~Evaluator();
  virtual void Add(int64_t begin, const TargetOutput& out) = 0;
  virtual Evaluation Finish() = 0;
};

// Writes one line per input row of a prediction file, after a header line.
class PredictionWriter {
 public:
  virtual ~PredictionWriter();
  virtual std::string Header() const = 0;  // without its newline
  virtual void Add(int64_t begin, const TargetOutput& out, std::string* text) = 0;
  // After the last row: what closes the file (a writer that gathers rows, e.g. into one JSON
  // object, writes them here).
  virtual void Finish(std::string* text) {}
};

struct TaskDataContext {
  std::shared_ptr<const Vocab> vocab;
  const Tokenizer* tokenizer = nullptr;  // the config's tokenizer
  // The task's options (TaskFactory::Options) by name, as text, defaults filled in; beside them
  // what the tool passes on ("labels_num" when given).
  std::map<std::string, std::string> options;
  // One option's value: "" (false, 0) when absent.
  std::string Option(const std::string& name) const;
  bool BoolOption(const std::string& name) const;
  int64_t IntOption(const std::string& name) const;
};

// ---- Serving: a request's text in, an answer per input out ---------------------------------------

// One input of a served request: a text, or a pair (text_b: the second sentence; mrc: the context,
// text_a being the question).
struct TextInput {
  std::string text_a, text_b;
};

// What a task answers to a served input, by the protocols' families.
enum class ServedKind {
  kNone,            // the task does not serve
  kClassification,  // a score per label (TEI's /predict, KServe's classification extension)
  kTokenLabels,     // labelled spans of text_a (ner's entities)
  kSpan,            // one span of text_b (mrc's answer)
};

// A labelled span of an input's text: [start, end) in Unicode code points, as HuggingFace and TEI
// count offsets; `text` is that substring.
struct ServedSpan {
  std::string label, text;
  int64_t start = 0, end = 0;
  double score = 0;
};

// The answer to one input: `scores` (classification: the logits, one per LabelNames() entry) or
// `spans` (token labels: the entities in order; span: the best answer, none when there is none).
struct ServedAnswer {
  std::vector<float> scores;
  std::vector<ServedSpan> spans;
};

// A task's reader, evaluator and prediction writer, for one run (run_classifier's, run_ner's, ...).
class TaskData {
 public:
  virtual ~TaskData();
  // Reads what the training file fixes (its labels) and sizes the head: config->labels_num.
  virtual absl::Status PrepareTraining(const std::string& train_path, const TaskReadOptions& options,
                                       v1::ModelConfig* config) = 0;
  // Before inference: the head's size from the fine-tuned checkpoint and what was saved beside it.
  virtual absl::Status PrepareInference(const std::string& model_path, const StateDict& state,
                                        v1::ModelConfig* config) = 0;
  // Writes what inference needs beside a fine-tuned model (a label map), atomically.
  virtual absl::Status SaveBeside(const std::string& model_path) const { return absl::OkStatus(); }
  // A file as tensors; a dev or test file is checked against what PrepareTraining read.
  virtual absl::StatusOr<TaskDataset> Read(const std::string& path, const TaskReadOptions& options) const = 0;
  // The special tokens its reader puts into rows: the runtime checks the vocabulary has them (and
  // [PAD]) before anything is read.
  virtual std::vector<std::string> NeededTokens() const { return {"[CLS]", "[SEP]"}; }
  // UER-py's run_classifier shuffles the training set once; run_ner does not.
  virtual bool ShuffleTraining() const { return true; }
  virtual std::string metric_name() const = 0;  // "accuracy", "MRR", "F1"
  virtual std::unique_ptr<Evaluator> NewEvaluator(const TaskDataset& data, bool full_report) const = 0;
  virtual std::unique_ptr<PredictionWriter> NewPredictionWriter(const TaskDataset& data) const = 0;

  // Serving (after PrepareInference). A task that serves says which kind of answer it gives, reads
  // one input into its rows (one, or several where a long text is windowed), and answers from the
  // outputs for those rows alone, so that an answer never depends on the other inputs batched
  // with it. The defaults refuse to serve, naming why.
  virtual ServedKind Serves() const { return ServedKind::kNone; }
  // The labels its scores or spans use, in the order of the scores.
  virtual std::vector<std::string> LabelNames() const { return {}; }
  // An error names what is wrong with the input (its field: "text_a", "text_b").
  virtual absl::StatusOr<TaskDataset> ReadText(const TextInput& input, const TaskReadOptions& options) const;
  // `rows`: what ReadText gave for `input`; `out`: the model's outputs for exactly those rows.
  virtual absl::StatusOr<ServedAnswer> Answer(const TextInput& input, const TaskDataset& rows,
                                              const TargetOutput& out) const;
};

// ---- Factories, one interface per kind -------------------------------------------------------------

// A module's tensors under transformers' BERT names, which a plugin declares so that the model
// converters (convert_bert_*, --target NAME), the tools reading a HuggingFace folder and the
// TensorFlow converters (whose Google names follow from these) can move it.
struct HuggingFaceKeys {
  // (uer-cc key, transformers key without the "bert." prefix), e.g.
  // ("target.mlm_linear_1.weight", "cls.predictions.transform.dense.weight").
  std::vector<std::pair<std::string, std::string>> keys;
  // Rows that uer-cc's tensor holds above transformers' (UER-py's segment embedding keeps row 0
  // for the padding): zeros coming in, dropped going out. By uer-cc key.
  std::map<std::string, int64_t> leading_rows;
  // The keys of a linear layer (weight, bias) and of a LayerNorm (uer-cc's gamma and beta,
  // transformers' weight and bias).
  void AddLinear(const std::string& uer, const std::string& hf) {
    keys.emplace_back(uer + ".weight", hf + ".weight");
    keys.emplace_back(uer + ".bias", hf + ".bias");
  }
  void AddLayerNorm(const std::string& uer, const std::string& hf) {
    keys.emplace_back(uer + ".gamma", hf + ".weight");
    keys.emplace_back(uer + ".beta", hf + ".bias");
  }
};

// A head's counterpart among transformers' BERT classes, declared by a target or task: the class
// that holds it and its tensors there. A head without one is refused by the converters, naming
// those that have one.
struct HuggingFaceHead : HuggingFaceKeys {
  std::string architecture;  // "BertForMaskedLM", "BertForSequenceClassification", ...
};

// Keys that start with `from` in a checkpoint of UER-py generation `generation` ("uer-2022",
// "uer-head") are this module's keys that start with `to` ("mlm.linear_1." -> "mlm_linear_1.").
struct OldKeyName {
  std::string generation;
  std::string from;
  std::string to;
};

template <typename Product, PluginKind K>
class ModuleFactory : public FactoryBase {
 public:
  static constexpr PluginKind kKind = K;
  PluginKind kind() const final { return K; }
  // Checks the fields this plugin reads; errors name the field.
  virtual absl::Status Validate(const v1::ModelConfig& config) const { return absl::OkStatus(); }
  virtual absl::StatusOr<std::shared_ptr<Product>> Create(const v1::ModelConfig& config,
                                                          const BuildContext& ctx) const = 0;
  // The keys, relative to the module ("word_embedding.weight"), of the tensors whose rows are the
  // vocabulary's: what adapting a model to another vocabulary changes (older names follow from
  // OldKeyNames).
  virtual std::vector<std::string> VocabularyRows() const { return {}; }
  // The names other UER-py generations gave this module's keys, relative to the module.
  virtual std::vector<OldKeyName> OldKeyNames() const { return {}; }
};

class EmbeddingFactory : public ModuleFactory<Embedding, PluginKind::kEmbedding> {
 public:
  ~EmbeddingFactory() override;
  // The embedding's part of a BERT in transformers (BertEmbeddings); none: not convertible.
  virtual std::optional<HuggingFaceKeys> HuggingFaceBertKeys(const v1::ModelConfig& config) const {
    return std::nullopt;
  }
};
class EncoderFactory : public ModuleFactory<Encoder, PluginKind::kEncoder> {
 public:
  ~EncoderFactory() override;
  // The encoder's part of a BERT in transformers (BertEncoder) with config.layers_num() layers.
  virtual std::optional<HuggingFaceKeys> HuggingFaceBertKeys(const v1::ModelConfig& config) const {
    return std::nullopt;
  }
};
class TargetFactory : public ModuleFactory<Target, PluginKind::kTarget> {
 public:
  ~TargetFactory() override;
  virtual std::optional<HuggingFaceHead> HuggingFaceBertHead() const { return std::nullopt; }
};
class SubencoderFactory : public ModuleFactory<Subencoder, PluginKind::kSubencoder> {
 public:
  ~SubencoderFactory() override;
};
class TaskFactory : public ModuleFactory<Task, PluginKind::kTask> {
 public:
  ~TaskFactory() override;
  // The task's data side (reader, evaluator, prediction writer) for one run.
  virtual absl::StatusOr<std::unique_ptr<TaskData>> CreateData(const TaskDataContext& context) const = 0;
  virtual std::optional<HuggingFaceHead> HuggingFaceBertHead() const { return std::nullopt; }
};


// ---- Assembly -------------------------------------------------------------------------------------

// Looks up the factory named by `config` for that kind, validates the config and creates the module.
// Errors: unknown names (listing the known ones), invalid fields, the factory's own errors.
absl::StatusOr<std::shared_ptr<Embedding>> CreateEmbedding(const v1::ModelConfig& config, const BuildContext& ctx);
absl::StatusOr<std::shared_ptr<Encoder>> CreateEncoder(const v1::ModelConfig& config, const BuildContext& ctx);
absl::StatusOr<std::shared_ptr<Target>> CreateTarget(const v1::ModelConfig& config, const BuildContext& ctx);
// The config's subencoder (config.subencoder()), for ctx.sub_vocab_size sub tokens.
absl::StatusOr<std::shared_ptr<Subencoder>> CreateSubencoder(const v1::ModelConfig& config, const BuildContext& ctx);
// Tasks are chosen by the tool (--task, or the task a tool such as run_ner names), not by the config.
absl::StatusOr<std::shared_ptr<Task>> CreateTask(const std::string& name, const v1::ModelConfig& config,
                                                 const BuildContext& ctx);

}  // namespace uer::core

#endif  // UER_CORE_PLUGIN_API_H_
