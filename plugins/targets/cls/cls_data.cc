// The data side of UER-py's cls target: label<TAB>text or label<TAB>text_a<TAB>text_b lines (a
// first line whose label is not a number is a header). Record: label, len, seg_a_len, src[len]
// (src starts with [CLS]; seg 1 for the first seg_a_len tokens, 2 after). Input: tgt [batch].
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "plugins/targets/common/instances.h"

namespace uer::targets {
namespace {

class ClsBuilder : public core::InstanceBuilder {
 public:
  ClsBuilder(const core::InstanceOptions& o, const core::Tokenizer& t) : o_(o), tok_(t), vocab_(t.vocab()) {}
  const core::InstanceStats& stats() const override { return stats_; }
  absl::Status Line(std::string_view line, uint64_t line_number, int, core::InstanceSink* out) override {
    // line.strip().split("\t")
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r')) line.remove_suffix(1);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (line.empty()) return absl::OkStatus();
    std::vector<std::string> cols = absl::StrSplit(absl::string_view(line.data(), line.size()), '\t');
    int label;
    if (!absl::SimpleAtoi(cols[0], &label)) {
      if (line_number == 1) return absl::OkStatus();  // a header line ("label<TAB>text_a")
      return absl::InvalidArgumentError(absl::StrCat(o_.corpus_path, ":", line_number, ": label \"", cols[0],
                                                     "\" is not an integer (cls corpus lines are label<TAB>text)"));
    }
    if (cols.size() != 2 && cols.size() != 3) {
      return absl::InvalidArgumentError(absl::StrCat(o_.corpus_path, ":", line_number, ": ", cols.size(),
                                                     " columns; cls corpus lines are label<TAB>text or "
                                                     "label<TAB>text_a<TAB>text_b"));
    }
    const int32_t cls = static_cast<int32_t>(vocab_.cls_id()), sep = static_cast<int32_t>(vocab_.sep_id());
    std::vector<int32_t> src = {cls};
    for (int64_t id : tok_.TokenizeToIds(cols[1])) src.push_back(static_cast<int32_t>(id));
    int32_t seg_a = 0;
    if (cols.size() == 3) {
      src.push_back(sep);
      seg_a = static_cast<int32_t>(src.size());
      for (int64_t id : tok_.TokenizeToIds(cols[2])) src.push_back(static_cast<int32_t>(id));
      src.push_back(sep);
    }
    stats_.input_tokens += static_cast<int64_t>(src.size());
    if (static_cast<int>(src.size()) > o_.seq_length) src.resize(o_.seq_length);
    if (cols.size() == 2 || seg_a > static_cast<int32_t>(src.size())) seg_a = static_cast<int32_t>(src.size());
    std::vector<int32_t> rec = {label, static_cast<int32_t>(src.size()), seg_a};
    rec.insert(rec.end(), src.begin(), src.end());
    ++stats_.instances;
    stats_.tokens += static_cast<int64_t>(src.size());
    return out->Add(rec, static_cast<int64_t>(src.size()));
  }

 private:
  const core::InstanceOptions& o_;
  const core::Tokenizer& tok_;
  const core::Vocab& vocab_;
  core::InstanceStats stats_;
};

class ClsDataFactory : public core::TargetDataFactory {
 public:
  std::string name() const override { return "cls"; }
  std::string help() const override { return "labelled lines, label<TAB>text[<TAB>text_b] (tgt)"; }
  uint32_t legacy_format1_code() const override { return 5; }
  absl::Status CheckOptions(const core::InstanceOptions& o) const override {
    return common::CheckSeqLength(o, "cls", 2, "");
  }
  absl::StatusOr<std::unique_ptr<core::InstanceBuilder>> NewBuilder(const core::InstanceOptions& o,
                                                                    const core::Tokenizer& t) const override {
    return std::unique_ptr<core::InstanceBuilder>(new ClsBuilder(o, t));
  }
  std::vector<core::FieldSpec> Fields() const override { return {{"tgt", false}}; }
  absl::Status Decode(const int32_t* p, uint64_t words, const core::DataSpec& spec, core::RowView* row) const override {
    if (words < 3) return common::Malformed("shorter than its header");
    const int64_t len = p[1], seg_a = p[2];
    if (len < 0 || len > spec.seq_length || words != static_cast<uint64_t>(3 + len)) {
      return common::Malformed("its length does not match its size");
    }
    if (p[0] < 0) return common::Malformed("a negative label");
    row->fields[0][0] = p[0];
    for (int64_t i = 0; i < len; ++i) {
      row->src[i] = p[3 + i];
      row->seg[i] = i < seg_a ? 1 : 2;
    }
    return absl::OkStatus();
  }
  std::vector<std::pair<std::string, double>> ReportScalars(const core::ReportSums& s) const override {
    return {{"acc", s.PerInstance("correct")}};
  }
};

}  // namespace
}  // namespace uer::targets

UER_REGISTER_FACTORY(uer::targets::ClsDataFactory);
