// The data side of the third-party target "acme.length" (acme_length_target.cc): what `preprocess
// --target acme.length` builds from a corpus and how `pretrain` turns a record into a batch row. It
// is torch-free (core/target_data.h only), so preprocess never maps LibTorch to run it. Built as its
// own shared library (kind "target_data", registered under the target's name):
//
//   bazel build //docs/examples/acme_target:data     (libuer_target_data_acme_length.so)
//   docs/examples/build_outside_bazel.sh docs/examples/acme_target/acme_length_data.cc
//       libacme_length_data.so --no-torch
//   preprocess --plugins=libacme_length_data.so --target acme.length --tokenizer space ...
//
// Any corpus of one sentence a line works (blank lines are skipped). Each line becomes one instance:
// [CLS] and the line's tokens, cut to seq_length; its label is the length bucket of the tokens kept
// (without [CLS]): min(tokens / 8, 3), so 0-7, 8-15, 16-23 and 24 or more tokens.
// Record: bucket, len, src[len] (len counts [CLS]). Input: tgt [batch] (the bucket).
#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/plugin_stamp.h"
#include "core/status_macros.h"
#include "core/target_data.h"
#include "core/text.h"

namespace acme {
namespace {

constexpr int64_t kBuckets = 4;
constexpr int64_t kBucketWidth = 8;
constexpr uint64_t kHeaderWords = 2;  // bucket, len

// The bucket of a sentence of `tokens` tokens ([CLS] not counted).
int32_t Bucket(int64_t tokens) { return static_cast<int32_t>(std::min(tokens / kBucketWidth, kBuckets - 1)); }

std::string BucketKey(int64_t bucket) { return absl::StrCat("bucket", bucket); }

// One instance per non-blank line.
class LengthBuilder : public uer::core::InstanceBuilder {
 public:
  LengthBuilder(int seq_length, const uer::core::Tokenizer& tokenizer)
      : seq_length_(seq_length),
        tokenizer_(tokenizer),
        cls_id_(static_cast<int32_t>(tokenizer.vocab().cls_id())) {}

  absl::Status Line(std::string_view line, uint64_t /*line_number*/, int /*pass*/,
                    uer::core::InstanceSink* out) override {
    if (uer::core::IsBlank(line)) {
      ++stats_.counts["blank_lines"];
      return absl::OkStatus();
    }
    const std::vector<int64_t> ids = tokenizer_.TokenizeToIds(line);
    stats_.input_tokens += static_cast<int64_t>(ids.size());
    if (ids.empty()) return absl::OkStatus();
    const size_t kept = std::min(ids.size(), static_cast<size_t>(seq_length_ - 1));
    if (kept < ids.size()) ++stats_.counts["cut"];
    const int32_t bucket = Bucket(static_cast<int64_t>(kept));
    const int64_t len = static_cast<int64_t>(kept) + 1;
    record_.clear();
    record_.push_back(bucket);
    record_.push_back(static_cast<int32_t>(len));
    record_.push_back(cls_id_);
    for (size_t i = 0; i < kept; ++i) record_.push_back(static_cast<int32_t>(ids[i]));
    ++stats_.counts[BucketKey(bucket)];
    ++stats_.instances;
    stats_.tokens += len;
    return out->Add(record_, len);
  }

  const uer::core::InstanceStats& stats() const override { return stats_; }

 private:
  const int seq_length_;
  const uer::core::Tokenizer& tokenizer_;
  const int32_t cls_id_;
  uer::core::InstanceStats stats_;
  std::vector<int32_t> record_;  // reused
};

class LengthDataFactory : public uer::core::TargetDataFactory {
 public:
  std::string name() const override { return "acme.length"; }
  std::string help() const override { return "example: one sentence a line, its length bucket (tgt)"; }
  std::string stability() const override { return "example"; }

  std::vector<std::string> NeededTokens() const override { return {"[CLS]"}; }

  absl::Status CheckOptions(const uer::core::InstanceOptions& o) const override {
    if (o.seq_length < 2) {
      return absl::InvalidArgumentError(absl::StrCat("--seq_length ", o.seq_length,
                                                     " is too small for target acme.length: it needs at least 2 "
                                                     "([CLS] and one token)"));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::unique_ptr<uer::core::InstanceBuilder>> NewBuilder(
      const uer::core::InstanceOptions& o, const uer::core::Tokenizer& tokenizer) const override {
    UER_RETURN_IF_ERROR(CheckOptions(o));
    if (tokenizer.vocab().cls_id() < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("vocabulary ", tokenizer.vocab().path(), " has no [CLS] token (target acme.length needs it)"));
    }
    return std::unique_ptr<uer::core::InstanceBuilder>(new LengthBuilder(o.seq_length, tokenizer));
  }

  // "buckets 0-7/8-15/16-23/24+ tokens: 45.0% 24.0% 18.0% 13.0%, 2 lines cut"
  std::string Summary(const uer::core::InstanceStats& total) const override {
    auto count = [&](const std::string& key) -> int64_t {
      auto it = total.counts.find(key);
      return it == total.counts.end() ? 0 : it->second;
    };
    std::string text = "buckets 0-7/8-15/16-23/24+ tokens:";
    for (int64_t b = 0; b < kBuckets; ++b) {
      const double share = total.instances ? 100.0 * count(BucketKey(b)) / total.instances : 0.0;
      absl::StrAppend(&text, absl::StrFormat(" %.1f%%", share));
    }
    absl::StrAppend(&text, ", ", count("cut"), " lines cut");
    return text;
  }

  std::vector<uer::core::FieldSpec> Fields() const override { return {{"tgt", false}}; }

  absl::Status Decode(const int32_t* record, uint64_t words, const uer::core::DataSpec& spec,
                      uer::core::RowView* row) const override {
    if (words < kHeaderWords + 1) {
      return absl::DataLossError(absl::StrCat("an acme.length record of ", words,
                                              " words: shorter than its header (bucket, len) and [CLS]"));
    }
    const int64_t bucket = record[0];
    const int64_t len = record[1];
    if (len < 1 || len > spec.seq_length || words != kHeaderWords + static_cast<uint64_t>(len)) {
      return absl::DataLossError(absl::StrCat("an acme.length record of ", words, " words says len ", len,
                                              " (seq_length ", spec.seq_length, "): its length does not match its size"));
    }
    if (bucket != Bucket(len - 1)) {
      return absl::DataLossError(absl::StrCat("an acme.length record of ", len - 1, " tokens has bucket ", bucket,
                                              ", expected ", Bucket(len - 1)));
    }
    const int32_t* src = record + kHeaderWords;
    if (src[0] != spec.cls_id) {
      return absl::DataLossError(absl::StrCat("an acme.length record starts with id ", src[0], ", not [CLS] (",
                                              spec.cls_id, ")"));
    }
    if (row->fields.size() != 1) {
      return absl::InternalError(absl::StrCat("acme.length decodes one field (tgt), the row has ", row->fields.size()));
    }
    for (int64_t i = 0; i < len; ++i) {
      if (src[i] < 0 || (spec.vocab_size > 0 && src[i] >= spec.vocab_size)) {
        return absl::DataLossError(absl::StrCat("an acme.length record holds the id ", src[i], " at position ", i,
                                                ", outside the vocabulary (", spec.vocab_size, " tokens)"));
      }
      row->src[i] = src[i];
      row->seg[i] = 1;
    }
    row->fields[0][0] = bucket;
    return absl::OkStatus();
  }

  // UER-py's value for a classification target: the share of instances whose bucket was right
  // (the report line shows "| acc: 0.512"; TensorBoard and --metrics_path get "train/acc").
  std::vector<std::pair<std::string, double>> ReportScalars(const uer::core::ReportSums& sums) const override {
    return {{"acc", sums.PerInstance("correct")}};
  }
};

}  // namespace
}  // namespace acme

UER_REGISTER_FACTORY(acme::LengthDataFactory);
// Built with stamp = False (as outside the tree): the library's stamp, written here.
UER_PLUGIN_DEFINE_INFO("acme.length_data")
