// The data side of UER-py's lm target: one instance per line, at most seq_length + 1 tokens.
// Record: len, tokens[len]. src = tokens[:-1], tgt = tokens[1:] (at most seq_length each).
#include "absl/strings/str_format.h"
#include "plugins/targets/common/instances.h"

namespace uer::targets {
namespace {

class LmBuilder : public common::LineBuilder {
 public:
  using LineBuilder::LineBuilder;

 protected:
  absl::Status Tokens(std::vector<int32_t> tok, core::InstanceSink* out) override {
    // As UER-py, a line of fewer than two tokens still gives an instance (all padding, no loss).
    if (static_cast<int>(tok.size()) > o_.seq_length + 1) tok.resize(o_.seq_length + 1);
    std::vector<int32_t> rec = {static_cast<int32_t>(tok.size())};
    rec.insert(rec.end(), tok.begin(), tok.end());
    return Emit(rec, std::max<int64_t>(0, static_cast<int64_t>(tok.size()) - 1), out);
  }
};

class LmDataFactory : public core::TargetDataFactory {
 public:
  std::string name() const override { return "lm"; }
  std::string help() const override { return "one line an instance, next-token targets (tgt)"; }
  uint32_t legacy_format1_code() const override { return 3; }
  absl::StatusOr<std::unique_ptr<core::InstanceBuilder>> NewBuilder(const core::InstanceOptions& o,
                                                                    const core::Tokenizer& t) const override {
    return std::unique_ptr<core::InstanceBuilder>(new LmBuilder(o, t));
  }
  std::vector<core::FieldSpec> Fields() const override { return {{"tgt", true, true}}; }
  absl::Status Decode(const int32_t* p, uint64_t words, const core::DataSpec& spec, core::RowView* row) const override {
    if (words < 1) return common::Malformed("empty");
    const int64_t len = p[0];
    if (len < 0 || len > spec.seq_length + 1 || words != static_cast<uint64_t>(1 + len)) {
      return common::Malformed("its length does not match its size");
    }
    for (int64_t i = 0; i + 1 < len && i < spec.seq_length; ++i) {
      row->src[i] = p[1 + i];
      row->fields[0][i] = p[2 + i];
      row->seg[i] = 1;
    }
    return absl::OkStatus();
  }
  std::vector<std::pair<std::string, double>> ReportScalars(const core::ReportSums& s) const override {
    return {{"acc", s.Ratio("correct", "denominator")}};
  }
};

}  // namespace
}  // namespace uer::targets

UER_REGISTER_FACTORY(uer::targets::LmDataFactory);
