// preprocess: a corpus to uer-cc's memory-mapped dataset (core/runtime/dataset.h) for one pre-training
// target, with the instances UER-py's seed version builds for the same flags (its Python `random`
// stream is reproduced), N workers over contiguous slices of lines, memory bounded by the buffers.
//
//   PreprocessOptions o;  o.corpus_path = ...; o.vocab_path = ...; o.target = "bert";
//   UER_ASSIGN_OR_RETURN(PreprocessStats s, RunPreprocess(o));
#ifndef UER_CORE_RUNTIME_PREPROCESS_H_
#define UER_CORE_RUNTIME_PREPROCESS_H_

#include <cstdint>
#include <atomic>
#include <string>

#include "absl/status/statusor.h"
#include "core/target_data.h"

namespace uer::runtime {

struct PreprocessOptions {
  std::string corpus_path;
  std::string vocab_path;
  std::string dataset_path = "dataset.uer";
  std::string tokenizer = "bert";
  bool do_lower_case = true;
  int processes_num = 1;
  std::string target = "bert";  // any target with a data side (core/target_data.h)
  int docs_buffer_size = 100000;
  int seq_length = 128;
  int dup_factor = 5;
  double short_seq_prob = 0.1;
  int seed = 7;
  // Invalid UTF-8 (a GBK corpus): an error naming the line, or with this read as U+FFFD.
  bool replace_invalid_utf8 = false;
  // Set by a signal handler: the workers stop at their next line, the parts are removed and the
  // run ends with a Cancelled status (nothing is written under dataset_path).
  std::atomic<int>* stop_signal = nullptr;
};

struct PreprocessStats {
  int64_t lines = 0;
  core::InstanceStats stats;  // instances, tokens, input tokens and the target's own counts
  std::string summary;        // the target's words on it ("random next 50.1%")
};

absl::StatusOr<PreprocessStats> RunPreprocess(const PreprocessOptions& options);

}  // namespace uer::runtime

#endif  // UER_CORE_RUNTIME_PREPROCESS_H_
