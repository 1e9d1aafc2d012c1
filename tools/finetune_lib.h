// Fine-tuning and inference: UER-py's run_classifier.py (one sentence, a pair, DBQA ranked by MRR)
// and run_ner.py, with their heads (task plugins "classifier" and "ner"), optimizer, batch order and
// metrics, plus the inference tools of UER-py's newer versions.
//
//   FinetuneOptions o;  o.train_path = "train.tsv";  o.dev_path = "dev.tsv";  o.test_path = "test.tsv";
//   o.vocab_path = "vocab.txt";  o.output_model_path = "models/classifier.bin";  o.config = config;
//   UER_ASSIGN_OR_RETURN(FinetuneResult r, RunClassifier(o));   // r.test_metric: test accuracy
#ifndef UER_TOOLS_FINETUNE_LIB_H_
#define UER_TOOLS_FINETUNE_LIB_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/config.h"
#include "core/tokenizer.h"
#include "core/vocab.h"

namespace uer::tools {

// ---- Data ------------------------------------------------------------------------------------------

// One row of a classification TSV, as ids: [CLS] a ([SEP] b [SEP]), segment 1 (2 for b), cut or
// padded to seq_length (UER-py's seed layout).
struct ClassifierExample {
  std::vector<int64_t> src, seg;
  int64_t label = -1;  // -1 when the file has no label column (inference)
  int64_t qid = -1;    // DBQA's question id
  int64_t line = 0;    // 1-based line in the file
};

struct ClassifierData {
  std::vector<ClassifierExample> examples;
  bool pair = false;    // has text_b
  bool has_qid = false;
  int64_t skipped = 0;  // bad lines skipped with skip_bad_lines
};

struct TsvOptions {
  int64_t seq_length = 128;
  bool need_label = true;
  // A malformed line is an error naming the file and line, or is skipped (and counted) with this.
  bool skip_bad_lines = false;
};

// Reads a TSV whose header names the columns: label, text_a, and optionally text_b and qid.
absl::StatusOr<ClassifierData> ReadClassifierTsv(const std::string& path, const core::Tokenizer& tokenizer,
                                                 const TsvOptions& options);

// NER labels: "[PAD]" = 0, then the labels of the training file in order of appearance.
struct NerLabels {
  std::vector<std::string> names;          // by id
  std::map<std::string, int64_t> ids;
  std::vector<bool> begins;                // by id: starts an entity (a label starting with B or S)
  int64_t o_id = -1;                       // the id of "O", -1 if absent
  static NerLabels FromNames(std::vector<std::string> names);
};

struct NerExample {
  std::vector<int64_t> src, seg, label;  // label 0 ([PAD]) past the sentence; empty without labels
  int64_t length = 0;                    // tokens before padding (after cutting to seq_length)
  int64_t line = 0;
};

struct NerData {
  std::vector<NerExample> examples;
  int64_t skipped = 0;
};

// The labels of a training file (header text_a, label; tokens and labels space-separated).
absl::StatusOr<NerLabels> CollectNerLabels(const std::string& path, const TsvOptions& options);
// Reads text_a (space-separated tokens) and, when options.need_label, the label column; a label not
// in `labels` is an error naming the file and line.
absl::StatusOr<NerData> ReadNerTsv(const std::string& path, const core::Vocab& vocab, const NerLabels& labels,
                                   const TsvOptions& options);
// The label map as JSON ({"[PAD]": 0, "O": 1, ...}), written beside a NER model; and read back.
absl::Status WriteNerLabels(const std::string& path, const NerLabels& labels);
absl::StatusOr<NerLabels> ReadNerLabels(const std::string& path);

// ---- Metrics ---------------------------------------------------------------------------------------

struct ClassificationReport {
  int64_t correct = 0, total = 0;
  double accuracy = 0;
  std::vector<std::vector<int64_t>> confusion;  // [predicted][gold]
  std::vector<double> precision, recall, f1;    // per label; 0 where undefined
  std::string ToString(bool full) const;        // UER-py's printout
};
ClassificationReport Classification(const std::vector<int64_t>& predicted, const std::vector<int64_t>& gold,
                                    int64_t labels_num);

// DBQA's mean reciprocal rank: candidates grouped by consecutive qid; a question's rank is 1 + the
// number of its candidates scored above its best-scored correct answer; questions with no correct
// answer are left out.
double MeanReciprocalRank(const std::vector<int64_t>& qids, const std::vector<int64_t>& labels,
                          const std::vector<double>& scores);

// Entities as UER-py's run_ner.py counts them (per row of seq_length labels, padding included):
// an entity starts at a begin label and runs until [PAD], O or the next begin label; a predicted
// entity counts when its gold label there is not [PAD], and is correct when a gold entity has the
// same span and every label in it matches.
struct EntityCounts {
  int64_t correct = 0, predicted = 0, gold = 0;
  void Add(const std::vector<int64_t>& gold_row, const std::vector<int64_t>& pred_row, const NerLabels& labels);
  double precision() const { return predicted ? static_cast<double>(correct) / predicted : 0; }
  double recall() const { return gold ? static_cast<double>(correct) / gold : 0; }
  double f1() const;
};

// ---- Training and inference ------------------------------------------------------------------------

struct FinetuneOptions {
  std::string pretrained_model_path, output_model_path, vocab_path, train_path, dev_path, test_path;
  core::v1::ModelConfig config;  // labels_num is set from the training file
  int64_t batch_size = 64;
  int64_t seq_length = 128;
  double learning_rate = 2e-5;
  double warmup = 0.1;
  int epochs_num = 3;
  int64_t report_steps = 100;
  int seed = 7;
  bool mean_reciprocal_rank = false;
  bool skip_bad_lines = false;
  std::vector<int> gpu_ranks;
};

struct FinetuneResult {
  std::vector<double> dev_metric;  // per epoch: accuracy (MRR for DBQA, entity F1 for NER)
  double best_dev = 0;
  double test_metric = -1;         // -1 without a test file
  std::string test_report;
  int64_t labels_num = 0;
  int64_t train_instances = 0;
  double train_seconds = 0, eval_seconds = 0;
  int64_t train_samples = 0, eval_samples = 0;  // what the seconds were spent on
};

absl::StatusOr<FinetuneResult> RunClassifier(const FinetuneOptions& options);
absl::StatusOr<FinetuneResult> RunNer(const FinetuneOptions& options);

struct InferOptions {
  std::string load_model_path, vocab_path, test_path, prediction_path;
  std::string label2id_path;  // NER: default load_model_path + ".labels.json"
  core::v1::ModelConfig config;
  int64_t batch_size = 64;
  int64_t seq_length = 128;
  int64_t labels_num = 0;  // classifier: 0 = read from the checkpoint
  bool output_logits = false, output_prob = false;
  std::vector<int> gpu_ranks;
};

// A prediction file with a header ("label", then "logits", "prob" when asked) and a line per input.
absl::Status RunClassifierInfer(const InferOptions& options);
// A prediction file with a header ("pred_label") and the space-separated labels of each input.
absl::Status RunNerInfer(const InferOptions& options);

}  // namespace uer::tools

#endif  // UER_TOOLS_FINETUNE_LIB_H_
