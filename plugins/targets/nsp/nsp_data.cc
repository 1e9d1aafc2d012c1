// The data side of the nsp target, which UER-py's seed ships without one: sentence pairs built as
// the bert target's (documents, half of them a random next, truncate_seq_pair) but not masked.
// Record: len, is_random_next, seg_a_end, seg_b_end, src[len]. Input: tgt [batch] (1 = random next).
#include "absl/strings/str_format.h"
#include "plugins/targets/common/instances.h"

namespace uer::targets {
namespace {

class NspDataFactory : public core::TargetDataFactory {
 public:
  std::string name() const override { return "nsp"; }
  std::string help() const override { return "sentence pairs from documents, half random next, no masking (tgt)"; }
  absl::Status CheckOptions(const core::InstanceOptions& o) const override {
    return common::CheckSeqLength(o, "nsp", 5, " ([CLS] A [SEP] B [SEP])");
  }
  absl::StatusOr<std::unique_ptr<core::InstanceBuilder>> NewBuilder(const core::InstanceOptions& o,
                                                                    const core::Tokenizer& t) const override {
    return std::unique_ptr<core::InstanceBuilder>(new common::DocumentBuilder(o, t, /*mask=*/false));
  }
  absl::Status CheckCorpus(const core::InstanceStats& total, const core::InstanceOptions& o) const override {
    return common::CheckDocuments(total, o, "nsp");
  }
  std::string Summary(const core::InstanceStats& s) const override {
    auto it = s.counts.find("random_next");
    return absl::StrFormat("random next %.1f%%", s.instances ? 100.0 * (it == s.counts.end() ? 0 : it->second) / s.instances : 0.0);
  }
  std::vector<core::FieldSpec> Fields() const override { return {{"tgt", false, false, 1}}; }
  absl::Status Decode(const int32_t* p, uint64_t words, const core::DataSpec& spec, core::RowView* row) const override {
    if (words < 4) return common::Malformed("shorter than its header");
    const int64_t len = p[0];
    if (len < 0 || len > spec.seq_length || words != static_cast<uint64_t>(4 + len)) {
      return common::Malformed("its length does not match its size");
    }
    for (int64_t i = 0; i < len; ++i) {
      row->src[i] = p[4 + i];
      row->seg[i] = i < p[2] ? 1 : i < p[3] ? 2 : 0;
    }
    row->fields[0][0] = p[1];
    return absl::OkStatus();
  }
  std::vector<std::pair<std::string, double>> ReportScalars(const core::ReportSums& s) const override {
    return {{"acc", s.PerInstance("correct")}};
  }
};

}  // namespace
}  // namespace uer::targets

UER_REGISTER_FACTORY(uer::targets::NspDataFactory);
