// The data side of UER-py's bilm target: one instance per line, at most seq_length + 1 tokens.
// Record: len, tokens[len]. src = tokens[:seq_length], tgt_forward = (tokens[1:] + [SEP])[:seq_length],
// tgt_backward = [CLS] + tokens[:-1].
#include "absl/strings/str_format.h"
#include "plugins/targets/common/instances.h"

namespace uer::targets {
namespace {

class BilmBuilder : public common::LineBuilder {
 public:
  using LineBuilder::LineBuilder;

 protected:
  absl::Status Tokens(std::vector<int32_t> tok, core::InstanceSink* out) override {
    if (tok.empty()) return absl::OkStatus();  // as UER-py
    // One token past seq_length is kept: the forward target of the last position is the next token
    // of the line (UER-py shifts before it truncates).
    if (static_cast<int>(tok.size()) > o_.seq_length + 1) tok.resize(o_.seq_length + 1);
    std::vector<int32_t> rec = {static_cast<int32_t>(tok.size())};
    rec.insert(rec.end(), tok.begin(), tok.end());
    return Emit(rec, std::min<int64_t>(static_cast<int64_t>(tok.size()), o_.seq_length), out);
  }
};

class BilmDataFactory : public core::TargetDataFactory {
 public:
  std::string name() const override { return "bilm"; }
  std::string help() const override { return "one line an instance, next and previous tokens (tgt_forward, tgt_backward)"; }
  uint32_t legacy_format1_code() const override { return 4; }
  absl::StatusOr<std::unique_ptr<core::InstanceBuilder>> NewBuilder(const core::InstanceOptions& o,
                                                                    const core::Tokenizer& t) const override {
    return std::unique_ptr<core::InstanceBuilder>(new BilmBuilder(o, t));
  }
  std::vector<core::FieldSpec> Fields() const override { return {{"tgt_forward", true, true}, {"tgt_backward", true, true}}; }
  absl::Status Decode(const int32_t* p, uint64_t words, const core::DataSpec& spec, core::RowView* row) const override {
    if (words < 1) return common::Malformed("empty");
    const int64_t len = p[0];
    if (len < 1 || len > spec.seq_length + 1 || words != static_cast<uint64_t>(1 + len)) {
      return common::Malformed("its length does not match its size");
    }
    for (int64_t i = 0; i < len && i < spec.seq_length; ++i) {
      row->src[i] = p[1 + i];
      row->seg[i] = 1;
      row->fields[0][i] = i + 1 < len ? p[2 + i] : spec.sep_id;
      row->fields[1][i] = i == 0 ? spec.cls_id : p[i];
    }
    return absl::OkStatus();
  }
  std::vector<std::pair<std::string, double>> ReportScalars(const core::ReportSums& s) const override {
    return {{"loss_forward", s.Mean("loss_forward")}, {"loss_backward", s.Mean("loss_backward")},
            {"acc_forward", s.Ratio("correct_forward", "denominator")},
            {"acc_backward", s.Ratio("correct_backward", "denominator")}};
  }
};

}  // namespace
}  // namespace uer::targets

UER_REGISTER_FACTORY(uer::targets::BilmDataFactory);
