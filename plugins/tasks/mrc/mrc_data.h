// The data side of the mrc task (UER-py's run_mrc.py: span extraction on CMRC2018-style SQuAD
// JSON): the reader, the windows over long contexts, the span choice and the CMRC2018 metrics.
//
// A question and its context become one pair, [CLS] question [SEP] window [SEP], for each window of
// the context (`seq_length` - question - 3 characters, moved by `doc_stride`, as the seed cuts
// them). Answer positions are token positions: the start token and the token after the answer
// (the seed's exclusive end). Training keeps the windows that hold the answer, as the seed does;
// evaluation keeps every window and never looks at the gold answer to choose a span.
#ifndef UER_PLUGINS_TASKS_MRC_MRC_DATA_H_
#define UER_PLUGINS_TASKS_MRC_MRC_DATA_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "plugins/tasks/mrc/cmrc_text.h"
#include "core/plugin_api.h"

namespace uer::tasks {

struct MrcAnswer {
  std::string text;
  int64_t start = 0;  // in code points of the context
};

struct MrcQuestion {
  std::string id, question, context;
  std::vector<MrcAnswer> answers;  // the first one trains
};

struct MrcFile {
  std::vector<MrcQuestion> questions;
  int64_t relocated = 0;  // answers not at their answer_start, found nearest to it in the context
};

// SQuAD JSON: data[].paragraphs[].{context, qas[].{question, id, answers[].{text, answer_start}}}.
// With `with_answers`, every question needs an answer; with `locate_answers` (training), the first
// one's text must be in its context (an answer not at its answer_start is moved to the nearest
// place its text occurs, and counted). Errors name the file and the key or question id.
absl::StatusOr<MrcFile> ReadSquadJson(const std::string& path, bool with_answers, bool locate_answers = true);

struct MrcWindow {
  int64_t question = 0;  // index into MrcFile::questions
  int64_t span_index = 0, offset = 0, length = 0;  // the window's characters of the context
  std::vector<int64_t> src, seg;                   // not padded
  // The answer's tokens [start, end) when the window holds the first answer; else 0, 0.
  int64_t start = 0, end = 0;
  bool has_answer = false;
  // For each token position: the context characters [char_begin, char_end) it covers; -1 outside
  // the window's tokens.
  std::vector<int64_t> char_begin, char_end;
};

struct MrcWindowOptions {
  int64_t seq_length = 100;
  int64_t doc_stride = 128;
  bool only_with_answer = false;  // training: the windows that hold the first answer
};

// The windows of one question. A question that leaves no room for its context
// (seq_length - characters - 3 <= 0) gives none (the seed loops forever).
std::vector<MrcWindow> MakeWindows(const MrcQuestion& q, int64_t question_index, const core::Tokenizer& tokenizer,
                                   const MrcWindowOptions& options);

// The best answer of a window: start in the window's tokens, the (exclusive) end after it by at
// most `max_answer_length` tokens, maximising log p(start) + log p(end) under each softmax.
struct SpanChoice {
  int64_t start = -1, end = -1;
  double score = -1e300;
};
SpanChoice BestSpan(const float* start_logits, const float* end_logits, int64_t length, const MrcWindow& window,
                    int64_t max_answer_length);

// The TaskData of the mrc task (options: doc_stride, max_answer_length).
std::unique_ptr<core::TaskData> NewMrcData(const core::TaskDataContext& context);

}  // namespace uer::tasks

#endif  // UER_PLUGINS_TASKS_MRC_MRC_DATA_H_
