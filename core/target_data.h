// The data side of a pre-training target: what `preprocess` builds from a corpus, how a record
// becomes a batch's named inputs, which batches train nothing, and the target's report line. It is
// torch-free, so preprocess never maps LibTorch. A target's folder registers it under the target's
// own name (plugin kind "target_data", built as libuer_target_data_<name>.so):
//
//   class MlmDataFactory : public uer::core::TargetDataFactory {
//    public:
//     std::string name() const override { return "mlm"; }       // the target's name
//     std::vector<FieldSpec> Fields() const override { return {{"tgt_mlm", true}}; }
//     ...
//   };
//   UER_REGISTER_FACTORY(MlmDataFactory);
//
// A record is a sequence of int32 words that only the data side interprets; the dataset file
// (core/runtime/dataset.h) stores the records, the target's name and its record_version().
#ifndef UER_CORE_TARGET_DATA_H_
#define UER_CORE_TARGET_DATA_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/registry.h"
#include "core/tokenizer.h"

namespace uer::core {

// preprocess's flags that a data side may read.
struct InstanceOptions {
  std::string corpus_path;  // for messages ("corpus.txt:12: ...")
  int seq_length = 128;
  int dup_factor = 5;
  double short_seq_prob = 0.1;
  int docs_buffer_size = 100000;
  int seed = 7;
};

// Counters a builder adds to; preprocess sums them over the workers. `counts` holds the target's
// own ("masked", "random_next", "documents", ...).
struct InstanceStats {
  int64_t instances = 0;
  int64_t tokens = 0;        // tokens of the instances (unpadded, specials included)
  int64_t input_tokens = 0;  // tokens of the corpus read by the tokenizer
  std::map<std::string, int64_t> counts;
  void Add(const InstanceStats& other);
};

// Where a builder puts its records.
class InstanceSink {
 public:
  virtual ~InstanceSink();
  // `tokens`: the instance's tokens, for the statistics.
  virtual absl::Status Add(const std::vector<int32_t>& record, int64_t tokens) = 0;
};

// Builds the instances of one worker's slice of lines. Each worker has its own builder, seeded with
// --seed as UER-py's workers are. Lines come in order; Line() sees each line once per pass.
class InstanceBuilder {
 public:
  virtual ~InstanceBuilder();
  // How often the worker reads its lines (UER-py's mlm reads them dup_factor times).
  virtual int passes() const { return 1; }
  // One corpus line (without its line end); `line_number` is 1-based in the whole corpus.
  virtual absl::Status Line(std::string_view line, uint64_t line_number, int pass, InstanceSink* out) = 0;
  // The end of a pass over the slice: flush what is buffered.
  virtual absl::Status EndPass(int pass, InstanceSink* out) { return absl::OkStatus(); }
  virtual const InstanceStats& stats() const = 0;
};

// What a decoder needs of the dataset: its seq_length and special ids.
struct DataSpec {
  int64_t seq_length = 0;
  int64_t vocab_size = 0;
  int32_t pad_id = 0, unk_id = 0, cls_id = 0, sep_id = 0, mask_id = 0;
};

// A named input of the target: [batch, seq_length] (per_position) or [batch], and the values a
// record may hold there. The runtime checks every decoded row against them (and src against the
// vocabulary, seg against 0..2), so that a damaged file is named, never indexed past a table.
struct FieldSpec {
  std::string name;
  bool per_position = true;
  bool token_ids = false;  // values are token ids: [0, vocab_size)
  int64_t max_value = -1;  // values lie in [0, max_value]; -1: not checked (beyond token_ids)
};

// One row of a batch being filled. src is pre-filled with pad_id, seg and the fields with 0. Segment
// ids are 0 (padding), 1 and 2.
// fields[k] points at the row's slot of Fields()[k]: seq_length values, or one.
struct RowView {
  int64_t* src = nullptr;
  int64_t* seg = nullptr;
  std::vector<int64_t*> fields;
};

// The sums of a target's values over a report interval (every name its Target::Forward returns).
struct ReportSums {
  std::map<std::string, double> values;
  int64_t steps = 0;      // forward passes summed
  int64_t instances = 0;  // instances they read
  double Mean(const std::string& name) const;               // values[name] / steps
  double Ratio(const std::string& num, const std::string& den) const;  // 0 when den is 0
  double PerInstance(const std::string& name) const;        // values[name] / instances
};

class TargetDataFactory : public FactoryBase {
 public:
  static constexpr PluginKind kKind = PluginKind::kTargetData;
  ~TargetDataFactory() override;
  PluginKind kind() const final { return kKind; }

  // Bumped when the record layout changes; a dataset of another version is refused.
  virtual uint32_t record_version() const { return 1; }
  // The target code of uer-cc's dataset format 1 (before the header named its target), or 0.
  virtual uint32_t legacy_format1_code() const { return 0; }
  // The special tokens the builder needs ("[CLS]", "[SEP]", "[MASK]"): preprocess checks the
  // vocabulary has them. [PAD] is always needed.
  virtual std::vector<std::string> NeededTokens() const { return {"[CLS]", "[SEP]"}; }
  // Checks the flags (a seq_length too small for the layout, ...); errors name the flag.
  virtual absl::Status CheckOptions(const InstanceOptions& options) const { return absl::OkStatus(); }
  virtual absl::StatusOr<std::unique_ptr<InstanceBuilder>> NewBuilder(const InstanceOptions& options,
                                                                      const Tokenizer& tokenizer) const = 0;
  // After every worker: a check of the whole corpus (the bert target needs documents).
  virtual absl::Status CheckCorpus(const InstanceStats& total, const InstanceOptions& options) const {
    return absl::OkStatus();
  }
  // A few words on the corpus for preprocess's summary line ("random next 50.1%"), or "".
  virtual std::string Summary(const InstanceStats& total) const { return ""; }

  // The target's inputs beside src and seg, in the order RowView::fields follows.
  virtual std::vector<FieldSpec> Fields() const = 0;
  // Fills one row from a record; a malformed record is an error (the caller names file and instance).
  virtual absl::Status Decode(const int32_t* record, uint64_t words, const DataSpec& spec, RowView* row) const = 0;
  // Whether the record gives the loss anything (mlm: a masked token). A batch of records that all
  // say false is skipped, as UER-py skips batches without a masked token.
  virtual bool Trains(const int32_t* record, uint64_t words) const { return true; }
  // The target's values of a report interval, in report-line order with UER-py's names and values
  // ({"acc", 0.512}; bert: loss_mlm, loss_nsp, acc_mlm, acc_nsp): pretrain's report line shows them,
  // and --tensorboard_dir / --metrics_path record them.
  virtual std::vector<std::pair<std::string, double>> ReportScalars(const ReportSums& sums) const = 0;
  // The target's part of pretrain's report line: "| name: %3.3f" for each scalar, as UER-py prints.
  virtual std::string ReportLine(const ReportSums& sums) const;
};

// Looks the data side of `target` up (errors list the targets that have one).
absl::StatusOr<const TargetDataFactory*> FindTargetData(const std::string& target);

}  // namespace uer::core

#endif  // UER_CORE_TARGET_DATA_H_
