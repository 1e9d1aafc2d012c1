// What the built-in targets' data sides share (torch-free): UER-py's masking (mask_seq), its
// document-pair builder (create_ins_from_doc, for bert and nsp), the per-line tokenizing builder,
// and the report helpers. Linked into each data side's .so.
//
//   class MlmBuilder : public common::LineBuilder { ... absl::Status Tokens(...) override; };
#ifndef UER_PLUGINS_TARGETS_COMMON_INSTANCES_H_
#define UER_PLUGINS_TARGETS_COMMON_INSTANCES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "core/python_random.h"
#include "core/target_data.h"

namespace uer::targets::common {

// UER-py's mask_seq: 15% of the positions that are not [CLS]/[SEP]; of those 80% [MASK], 10% a
// random id in [1, V-1] other than [CLS]/[SEP]/[MASK], 10% unchanged. Appends the chosen positions
// and original ids; counts "maskable" and "masked" in `stats`.
void Mask(const core::Vocab& vocab, core::PythonRandom* rng, std::vector<int32_t>* src, std::vector<int32_t>* pos,
          std::vector<int32_t>* orig, core::InstanceStats* stats);

// A builder fed by tokenized lines: Tokens() gets each line's ids (the line already tokenized).
class LineBuilder : public core::InstanceBuilder {
 public:
  LineBuilder(const core::InstanceOptions& o, const core::Tokenizer& tokenizer)
      : o_(o), tok_(tokenizer), vocab_(tokenizer.vocab()), rng_(o.seed) {}
  absl::Status Line(std::string_view line, uint64_t line_number, int pass, core::InstanceSink* out) override;
  const core::InstanceStats& stats() const override { return stats_; }

 protected:
  virtual absl::Status Tokens(std::vector<int32_t> ids, core::InstanceSink* out) = 0;
  absl::Status Emit(const std::vector<int32_t>& record, int64_t tokens, core::InstanceSink* out);
  const core::InstanceOptions& o_;
  const core::Tokenizer& tok_;
  const core::Vocab& vocab_;
  core::PythonRandom rng_;
  core::InstanceStats stats_;
};

// UER-py's bert instances: documents of sentences (one a line, blank lines between documents),
// sentence pairs with half of them a random next, cut by truncate_seq_pair; with `mask` the
// positions are masked as mask_seq does (the bert target), without it not (nsp).
// Record: len, n_masked, is_random_next, seg_a_end, seg_b_end, src[len], pos[n], original_id[n]
// (with mask), or len, is_random_next, seg_a_end, seg_b_end, src[len] (without).
class DocumentBuilder : public core::InstanceBuilder {
 public:
  DocumentBuilder(const core::InstanceOptions& o, const core::Tokenizer& tokenizer, bool mask)
      : o_(o), tok_(tokenizer), vocab_(tokenizer.vocab()), rng_(o.seed), mask_(mask) {}
  absl::Status Line(std::string_view line, uint64_t line_number, int pass, core::InstanceSink* out) override;
  absl::Status EndPass(int pass, core::InstanceSink* out) override;
  const core::InstanceStats& stats() const override { return stats_; }

 private:
  absl::Status FlushDocs(core::InstanceSink* out);
  absl::Status InstancesFromDoc(size_t doc_index, core::InstanceSink* out);
  void TruncatePair(size_t* a_lo, size_t* a_hi, size_t* b_lo, size_t* b_hi, int max_tokens);

  const core::InstanceOptions& o_;
  const core::Tokenizer& tok_;
  const core::Vocab& vocab_;
  core::PythonRandom rng_;
  bool mask_;
  core::InstanceStats stats_;
  std::vector<std::vector<int32_t>> document_;
  std::vector<std::vector<std::vector<int32_t>>> docs_;
  std::vector<int32_t> a_, b_, src_, pos_, orig_, rec_;  // reused buffers
};

// The whole-corpus check of the document targets: blank lines and a document of two sentences.
absl::Status CheckDocuments(const core::InstanceStats& total, const core::InstanceOptions& o, const std::string& target);
// preprocess's seq_length check: at least `min` (naming the layout).
absl::Status CheckSeqLength(const core::InstanceOptions& o, const std::string& target, int min, const char* why);

// A malformed record (the caller names the file and instance).
absl::Status Malformed(const char* why);

}  // namespace uer::targets::common

#endif  // UER_PLUGINS_TARGETS_COMMON_INSTANCES_H_
