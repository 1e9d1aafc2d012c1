// The data side of the s2s target, which UER-py's seed never had: a corpus of source<TAB>target
// lines. src = [CLS] source [SEP] cut to seq_length (segment 1); the target sequence
// t = [CLS] target [SEP] cut to seq_length + 1 gives the decoder's input tgt_in = t[:-1] and what
// it predicts, tgt = t[1:] (UER-py's later mt data: the target shifted right behind a start token).
// Blank lines are skipped; a line without a tab is an error naming the corpus and the line.
// Record: n_src, n_t, src[n_src], t[n_t].
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/text.h"
#include "plugins/targets/common/instances.h"

namespace uer::targets {
namespace {

class S2sBuilder : public core::InstanceBuilder {
 public:
  S2sBuilder(const core::InstanceOptions& o, const core::Tokenizer& tokenizer)
      : o_(o), tok_(tokenizer), vocab_(tokenizer.vocab()) {}
  absl::Status Line(std::string_view line, uint64_t line_number, int, core::InstanceSink* out) override {
    if (core::IsBlank(line)) {
      ++stats_.counts["blank_lines"];
      return absl::OkStatus();
    }
    const size_t tab = line.find('\t');
    if (tab == std::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat(o_.corpus_path, ":", line_number,
                                                     ": no tab: the s2s target reads source<TAB>target lines"));
    }
    std::vector<int32_t> src = Wrap(line.substr(0, tab), o_.seq_length);
    std::vector<int32_t> t = Wrap(line.substr(tab + 1), o_.seq_length + 1);
    std::vector<int32_t> rec = {static_cast<int32_t>(src.size()), static_cast<int32_t>(t.size())};
    rec.insert(rec.end(), src.begin(), src.end());
    rec.insert(rec.end(), t.begin(), t.end());
    ++stats_.instances;
    const int64_t tokens = static_cast<int64_t>(src.size() + t.size());
    stats_.tokens += tokens;
    return out->Add(rec, tokens);
  }
  const core::InstanceStats& stats() const override { return stats_; }

 private:
  // [CLS] text [SEP], cut to `limit`.
  std::vector<int32_t> Wrap(std::string_view text, int limit) {
    std::vector<int64_t> ids = tok_.TokenizeToIds(text);
    stats_.input_tokens += static_cast<int64_t>(ids.size());
    std::vector<int32_t> out = {static_cast<int32_t>(vocab_.cls_id())};
    out.insert(out.end(), ids.begin(), ids.end());
    out.push_back(static_cast<int32_t>(vocab_.sep_id()));
    if (static_cast<int>(out.size()) > limit) out.resize(limit);
    return out;
  }
  const core::InstanceOptions& o_;
  const core::Tokenizer& tok_;
  const core::Vocab& vocab_;
  core::InstanceStats stats_;
};

class S2sDataFactory : public core::TargetDataFactory {
 public:
  std::string name() const override { return "s2s"; }
  std::string help() const override { return "source<TAB>target lines: the decoder reads tgt_in and predicts tgt"; }
  absl::Status CheckOptions(const core::InstanceOptions& o) const override {
    return common::CheckSeqLength(o, "s2s", 3, " ([CLS] a token [SEP])");
  }
  absl::StatusOr<std::unique_ptr<core::InstanceBuilder>> NewBuilder(const core::InstanceOptions& o,
                                                                    const core::Tokenizer& t) const override {
    return std::unique_ptr<core::InstanceBuilder>(new S2sBuilder(o, t));
  }
  std::vector<core::FieldSpec> Fields() const override { return {{"tgt_in", true, true}, {"tgt", true, true}}; }
  absl::Status Decode(const int32_t* p, uint64_t words, const core::DataSpec& spec, core::RowView* row) const override {
    if (words < 2) return common::Malformed("shorter than its header");
    const int64_t n_src = p[0], n_t = p[1];
    if (n_src < 0 || n_src > spec.seq_length || n_t < 0 || n_t > spec.seq_length + 1 ||
        words != static_cast<uint64_t>(2 + n_src + n_t)) {
      return common::Malformed("its lengths do not match its size");
    }
    for (int64_t i = 0; i < n_src; ++i) {
      row->src[i] = p[2 + i];
      row->seg[i] = 1;
    }
    const int32_t* t = p + 2 + n_src;
    for (int64_t i = 0; i + 1 < n_t; ++i) {
      row->fields[0][i] = t[i];
      row->fields[1][i] = t[i + 1];
    }
    return absl::OkStatus();
  }
  std::vector<std::pair<std::string, double>> ReportScalars(const core::ReportSums& s) const override {
    return {{"acc", s.Ratio("correct", "denominator")}};
  }
};

}  // namespace
}  // namespace uer::targets

UER_REGISTER_FACTORY(uer::targets::S2sDataFactory);
