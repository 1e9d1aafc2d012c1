#include "tools/inspect_dataset_lib.h"

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "core/vocab.h"

namespace uer::tools {

absl::StatusOr<DecodedInstance> DecodeInstance(const core::Dataset& ds, uint64_t index) {
  if (index >= ds.size()) {
    return absl::OutOfRangeError(absl::StrCat("instance ", index, " of ", ds.size(), " in ", ds.path()));
  }
  const core::DatasetHeader& h = ds.header();
  const int64_t seq = h.seq_length;
  core::InstanceView v = ds.Instance(index);
  const int32_t* p = v.data;
  auto corrupt = [&] { return absl::DataLossError(absl::StrCat(ds.path(), ": instance ", index, " is malformed")); };
  DecodedInstance d;
  d.src.assign(seq, h.pad_id);
  d.seg.assign(seq, 0);
  d.tgt.assign(seq, 0);
  switch (ds.target()) {
    case core::DatasetTarget::kBert:
    case core::DatasetTarget::kMlm: {
      const bool bert = ds.target() == core::DatasetTarget::kBert;
      const uint64_t head = bert ? 5 : 2;
      if (v.words < head) return corrupt();
      const int64_t len = p[0], n = p[1];
      if (len > seq || v.words != head + len + 2 * n) return corrupt();
      for (int64_t i = 0; i < len; ++i) d.src[i] = p[head + i];
      for (int64_t k = 0; k < n; ++k) {
        int64_t pos = p[head + len + k];
        if (pos < 0 || pos >= len) return corrupt();
        d.tgt[pos] = p[head + len + n + k];
      }
      if (bert) {
        d.label = p[2];
        for (int64_t i = 0; i < len; ++i) d.seg[i] = i < p[3] ? 1 : i < p[4] ? 2 : 0;
      } else {
        for (int64_t i = 0; i < len; ++i) d.seg[i] = 1;
      }
      break;
    }
    case core::DatasetTarget::kLm: {
      const int64_t len = p[0];
      if (v.words != static_cast<uint64_t>(1 + len) || len < 0 || len > seq + 1) return corrupt();
      for (int64_t i = 0; i + 1 < len && i < seq; ++i) {
        d.src[i] = p[1 + i];
        d.tgt[i] = p[2 + i];
        d.seg[i] = 1;
      }
      break;
    }
    case core::DatasetTarget::kBilm: {
      const int64_t len = p[0];
      if (v.words != static_cast<uint64_t>(1 + len) || len < 1 || len > seq + 1) return corrupt();
      d.tgt_backward.assign(seq, 0);
      for (int64_t i = 0; i < len && i < seq; ++i) {
        d.src[i] = p[1 + i];
        d.seg[i] = 1;
        d.tgt[i] = i + 1 < len ? p[2 + i] : h.sep_id;
        d.tgt_backward[i] = i == 0 ? h.cls_id : p[i];
      }
      break;
    }
    case core::DatasetTarget::kCls: {
      const int64_t len = p[1], seg_a = p[2];
      if (v.words != static_cast<uint64_t>(3 + len) || len > seq) return corrupt();
      d.label = p[0];
      for (int64_t i = 0; i < len; ++i) {
        d.src[i] = p[3 + i];
        d.seg[i] = i < seg_a ? 1 : 2;
      }
      break;
    }
  }
  return d;
}

absl::Status InspectDataset(const std::string& dataset_path, const std::string& vocab_path, int show,
                            std::ostream& out) {
  UER_ASSIGN_OR_RETURN(auto ds, core::Dataset::Open(dataset_path));
  std::unique_ptr<core::Vocab> vocab;
  if (!vocab_path.empty()) {
    UER_ASSIGN_OR_RETURN(core::Vocab v, core::Vocab::Load(vocab_path));
    if (static_cast<uint64_t>(v.size()) != ds->header().vocab_size || core::VocabChecksum(v) != ds->header().vocab_checksum) {
      return absl::FailedPreconditionError(absl::StrCat(dataset_path, " was built with another vocabulary than ", vocab_path));
    }
    vocab = std::make_unique<core::Vocab>(std::move(v));
  }
  const core::DatasetHeader& h = ds->header();
  out << "dataset: " << dataset_path << "\n"
      << "format version: " << h.format_version << "\n"
      << "target: " << core::DatasetTargetName(ds->target()) << "\n"
      << "seq_length: " << h.seq_length << "\n"
      << "vocabulary: " << h.vocab_size << " tokens, checksum " << std::hex << h.vocab_checksum << std::dec << "\n"
      << "instances: " << h.instance_count << "\n"
      << "seed: " << h.seed << ", dup_factor: " << h.dup_factor << "\n";
  auto tok = [&](int64_t id) { return vocab && id >= 0 && id < vocab->size() ? vocab->Token(id) : std::to_string(id); };
  for (int i = 0; i < show && static_cast<uint64_t>(i) < ds->size(); ++i) {
    UER_ASSIGN_OR_RETURN(DecodedInstance d, DecodeInstance(*ds, i));
    int64_t n = 0;
    while (n < static_cast<int64_t>(d.seg.size()) && d.seg[n] != 0) ++n;
    out << "--- instance " << i << "\n  tokens:";
    for (int64_t k = 0; k < n; ++k) out << " " << tok(d.src[k]);
    out << "\n  segments:";
    for (int64_t k = 0; k < n; ++k) out << " " << d.seg[k];
    out << "\n  targets:";
    for (int64_t k = 0; k < n; ++k) out << " " << (d.tgt[k] ? tok(d.tgt[k]) : "_");
    if (!d.tgt_backward.empty()) {
      out << "\n  backward targets:";
      for (int64_t k = 0; k < n; ++k) out << " " << tok(d.tgt_backward[k]);
    }
    if (d.label >= 0) out << "\n  " << (ds->target() == core::DatasetTarget::kBert ? "is_random_next: " : "label: ") << d.label;
    out << "\n";
  }
  return absl::OkStatus();
}

}  // namespace uer::tools
