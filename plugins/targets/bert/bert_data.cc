// The data side of UER-py's bert target: sentence pairs from documents, half of them a random
// next, masked as mask_seq does (plugins/targets/common). Record: len, n_masked, is_random_next,
// seg_a_end, seg_b_end, src[len], pos[n], original_id[n]. Inputs: tgt_mlm [batch, seq], tgt_nsp [batch].
#include "absl/strings/str_format.h"
#include "plugins/targets/common/instances.h"

namespace uer::targets {
namespace {

class BertDataFactory : public core::TargetDataFactory {
 public:
  std::string name() const override { return "bert"; }
  std::string help() const override { return "masked sentence pairs from documents, half random next (tgt_mlm, tgt_nsp)"; }
  uint32_t legacy_format1_code() const override { return 1; }
  std::vector<std::string> NeededTokens() const override { return {"[CLS]", "[SEP]", "[MASK]"}; }
  absl::Status CheckOptions(const core::InstanceOptions& o) const override {
    return common::CheckSeqLength(o, "bert", 5, " ([CLS] A [SEP] B [SEP])");
  }
  absl::StatusOr<std::unique_ptr<core::InstanceBuilder>> NewBuilder(const core::InstanceOptions& o,
                                                                    const core::Tokenizer& t) const override {
    return std::unique_ptr<core::InstanceBuilder>(new common::DocumentBuilder(o, t, /*mask=*/true));
  }
  absl::Status CheckCorpus(const core::InstanceStats& total, const core::InstanceOptions& o) const override {
    return common::CheckDocuments(total, o, "bert");
  }
  std::string Summary(const core::InstanceStats& s) const override {
    auto it = s.counts.find("random_next");
    return absl::StrFormat("random next %.1f%%", s.instances ? 100.0 * (it == s.counts.end() ? 0 : it->second) / s.instances : 0.0);
  }
  std::vector<core::FieldSpec> Fields() const override { return {{"tgt_mlm", true, true}, {"tgt_nsp", false, false, 1}}; }
  absl::Status Decode(const int32_t* p, uint64_t words, const core::DataSpec& spec, core::RowView* row) const override {
    if (words < 5) return common::Malformed("shorter than its header");
    const int64_t len = p[0], n = p[1];
    if (len < 0 || n < 0 || len > spec.seq_length || words != static_cast<uint64_t>(5 + len + 2 * n)) {
      return common::Malformed("its lengths do not match its size");
    }
    for (int64_t i = 0; i < len; ++i) {
      row->src[i] = p[5 + i];
      row->seg[i] = i < p[3] ? 1 : i < p[4] ? 2 : 0;
    }
    for (int64_t k = 0; k < n; ++k) {
      const int64_t pos = p[5 + len + k];
      if (pos < 0 || pos >= len) return common::Malformed("a masked position is outside the instance");
      row->fields[0][pos] = p[5 + len + n + k];
    }
    row->fields[1][0] = p[2];
    return absl::OkStatus();
  }
  bool Trains(const int32_t* p, uint64_t words) const override { return words >= 2 && p[1] > 0; }
  std::vector<std::pair<std::string, double>> ReportScalars(const core::ReportSums& s) const override {
    return {{"loss_mlm", s.Mean("loss_mlm")}, {"loss_nsp", s.Mean("loss_nsp")},
            {"acc_mlm", s.Ratio("correct_mlm", "denominator")}, {"acc_nsp", s.PerInstance("correct_nsp")}};
  }
};

}  // namespace
}  // namespace uer::targets

UER_REGISTER_FACTORY(uer::targets::BertDataFactory);
