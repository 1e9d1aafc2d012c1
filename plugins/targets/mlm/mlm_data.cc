// The data side of UER-py's mlm target: one instance per line (cut to seq_length), masked as
// mask_seq does, the corpus read dup_factor times. Record: len, n_masked, src[len], pos[n],
// original_id[n]. Inputs: tgt_mlm (the original id at the masked positions, 0 elsewhere).
#include "absl/strings/str_format.h"
#include "plugins/targets/common/instances.h"

namespace uer::targets {
namespace {

class MlmBuilder : public common::LineBuilder {
 public:
  using LineBuilder::LineBuilder;
  int passes() const override { return o_.dup_factor; }

 protected:
  absl::Status Tokens(std::vector<int32_t> src, core::InstanceSink* out) override {
    if (src.empty()) return absl::OkStatus();  // UER-py writes an empty instance
    if (static_cast<int>(src.size()) > o_.seq_length) src.resize(o_.seq_length);
    std::vector<int32_t> pos, orig;
    common::Mask(vocab_, &rng_, &src, &pos, &orig, &stats_);
    std::vector<int32_t> rec = {static_cast<int32_t>(src.size()), static_cast<int32_t>(pos.size())};
    rec.insert(rec.end(), src.begin(), src.end());
    rec.insert(rec.end(), pos.begin(), pos.end());
    rec.insert(rec.end(), orig.begin(), orig.end());
    return Emit(rec, static_cast<int64_t>(src.size()), out);
  }
};

class MlmDataFactory : public core::TargetDataFactory {
 public:
  std::string name() const override { return "mlm"; }
  std::string help() const override { return "one masked line an instance, dup_factor passes (tgt_mlm)"; }
  uint32_t legacy_format1_code() const override { return 2; }
  std::vector<std::string> NeededTokens() const override { return {"[CLS]", "[SEP]", "[MASK]"}; }
  absl::StatusOr<std::unique_ptr<core::InstanceBuilder>> NewBuilder(const core::InstanceOptions& o,
                                                                    const core::Tokenizer& t) const override {
    return std::unique_ptr<core::InstanceBuilder>(new MlmBuilder(o, t));
  }
  std::vector<core::FieldSpec> Fields() const override { return {{"tgt_mlm", true, true}}; }
  absl::Status Decode(const int32_t* p, uint64_t words, const core::DataSpec& spec, core::RowView* row) const override {
    if (words < 2) return common::Malformed("shorter than its header");
    const int64_t len = p[0], n = p[1];
    if (len < 0 || n < 0 || len > spec.seq_length || words != static_cast<uint64_t>(2 + len + 2 * n)) {
      return common::Malformed("its lengths do not match its size");
    }
    for (int64_t i = 0; i < len; ++i) {
      row->src[i] = p[2 + i];
      row->seg[i] = 1;
    }
    for (int64_t k = 0; k < n; ++k) {
      const int64_t pos = p[2 + len + k];
      if (pos < 0 || pos >= len) return common::Malformed("a masked position is outside the instance");
      row->fields[0][pos] = p[2 + len + n + k];
    }
    return absl::OkStatus();
  }
  bool Trains(const int32_t* p, uint64_t words) const override { return words >= 2 && p[1] > 0; }
  std::vector<std::pair<std::string, double>> ReportScalars(const core::ReportSums& s) const override {
    return {{"acc", s.Ratio("correct", "denominator")}};
  }
};

}  // namespace
}  // namespace uer::targets

UER_REGISTER_FACTORY(uer::targets::MlmDataFactory);
