// preprocess: a corpus to uer-cc's memory-mapped dataset (core/dataset.h) for one pre-training
// target, with the instances UER-py's seed version builds for the same flags (its Python `random`
// stream is reproduced), N workers over contiguous slices of lines, memory bounded by the buffers.
//
//   PreprocessOptions o;  o.corpus_path = ...; o.vocab_path = ...; o.target = "bert";
//   UER_ASSIGN_OR_RETURN(PreprocessStats s, RunPreprocess(o));
#ifndef UER_TOOLS_PREPROCESS_LIB_H_
#define UER_TOOLS_PREPROCESS_LIB_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace uer::tools {

struct PreprocessOptions {
  std::string corpus_path;
  std::string vocab_path;
  std::string dataset_path = "dataset.uer";
  std::string tokenizer = "bert";
  bool do_lower_case = true;
  int processes_num = 1;
  std::string target = "bert";  // bert | mlm | lm | bilm | cls
  int docs_buffer_size = 100000;
  int seq_length = 128;
  int dup_factor = 5;
  double short_seq_prob = 0.1;
  int seed = 7;
};

struct PreprocessStats {
  int64_t lines = 0;
  int64_t documents = 0;        // bert: documents of two or more sentences
  int64_t instances = 0;
  int64_t tokens = 0;           // tokens of the instances (unpadded, specials included)
  int64_t maskable = 0;         // tokens that may be masked (not [CLS]/[SEP])
  int64_t masked = 0;           // tokens chosen for prediction (mlm, bert)
  int64_t random_next = 0;      // bert: instances whose second segment is random
  int64_t input_tokens = 0;     // tokens of the corpus read by the tokenizer
};

absl::StatusOr<PreprocessStats> RunPreprocess(const PreprocessOptions& options);

}  // namespace uer::tools

#endif  // UER_TOOLS_PREPROCESS_LIB_H_
