// The data side of the classifier task (UER-py's run_classifier.py): the TSV reader (one sentence,
// a pair, DBQA with a qid column), the metrics (accuracy with UER-py's confusion matrix and
// per-label precision/recall/F1, or DBQA's mean reciprocal rank) and the prediction file.
#ifndef UER_PLUGINS_TASKS_CLASSIFIER_CLASSIFIER_DATA_H_
#define UER_PLUGINS_TASKS_CLASSIFIER_CLASSIFIER_DATA_H_

#include <memory>
#include <string>
#include <vector>

#include "core/plugin_api.h"

namespace uer::tasks {

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
  bool pair = false;  // has text_b
  bool has_qid = false;
  int64_t skipped = 0;  // bad lines skipped with skip_bad_lines
};

// The row of text_a (and text_b when given): [CLS] a ([SEP] b [SEP]) into e->src and e->seg.
void EncodeClassifierRow(const core::Tokenizer& tokenizer, const std::string& text_a, const std::string* text_b,
                         int64_t seq_length, ClassifierExample* e);

// Reads a TSV whose header names the columns: label, text_a, and optionally text_b and qid.
absl::StatusOr<ClassifierData> ReadClassifierTsv(const std::string& path, const core::Tokenizer& tokenizer,
                                                 const core::TaskReadOptions& options);

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

// The TaskData of the classifier (options: mean_reciprocal_rank, output_logits, output_prob,
// labels_num).
std::unique_ptr<core::TaskData> NewClassifierData(const core::TaskDataContext& context);

}  // namespace uer::tasks

#endif  // UER_PLUGINS_TASKS_CLASSIFIER_CLASSIFIER_DATA_H_
