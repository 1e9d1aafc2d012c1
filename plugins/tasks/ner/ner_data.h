// The data side of the ner task (UER-py's run_ner.py): the TSV reader (space-separated tokens and
// labels), the label map written beside the model, entity-level precision/recall/F1 as UER-py
// counts them, and the prediction file.
#ifndef UER_PLUGINS_TASKS_NER_NER_DATA_H_
#define UER_PLUGINS_TASKS_NER_NER_DATA_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/plugin_api.h"

namespace uer::tasks {

// NER labels: "[PAD]" = 0, then the labels of the training file in order of appearance.
struct NerLabels {
  std::vector<std::string> names;  // by id
  std::map<std::string, int64_t> ids;
  std::vector<bool> begins;  // by id: starts an entity (a label starting with B or S)
  int64_t o_id = -1;         // the id of "O", -1 if absent
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
absl::StatusOr<NerLabels> CollectNerLabels(const std::string& path, const core::TaskReadOptions& options);
// Reads text_a (space-separated tokens) and, when options.with_labels, the label column; a label not
// in `labels` is an error naming the file and line.
absl::StatusOr<NerData> ReadNerTsv(const std::string& path, const core::Vocab& vocab, const NerLabels& labels,
                                   const core::TaskReadOptions& options);
// The label map as JSON ({"[PAD]": 0, "O": 1, ...}), written beside a NER model; and read back.
absl::Status WriteNerLabels(const std::string& path, const NerLabels& labels);
absl::StatusOr<NerLabels> ReadNerLabels(const std::string& path);

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

// A served text as run_ner's tokens: split at spaces when it has one (a line of run_ner's file),
// else one token per character (MSRA's convention); offsets in code points.
struct NerToken {
  std::string text;
  int64_t start = 0, end = 0;
};
std::vector<NerToken> SplitNerText(const std::string& text);
// The entities of predicted labels (one per token; prob: the predicted label's probability) as
// EntityCounts finds them, labelled without the B-/S- prefix, scored by their tokens' mean prob.
std::vector<core::ServedSpan> NerEntities(const std::vector<NerToken>& tokens, const std::vector<int64_t>& pred,
                                          const std::vector<float>& prob, const NerLabels& labels);

// The TaskData of the ner task (option: label2id_path, the label map for inference).
std::unique_ptr<core::TaskData> NewNerData(const core::TaskDataContext& context);

}  // namespace uer::tasks

#endif  // UER_PLUGINS_TASKS_NER_NER_DATA_H_
