#include "core/runtime/apps/inspect_dataset.h"

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "core/vocab.h"

namespace uer::apps {

absl::Status InspectDataset(const std::string& dataset_path, const std::string& vocab_path, int show,
                            std::ostream& out) {
  UER_ASSIGN_OR_RETURN(auto ds, runtime::Dataset::Open(dataset_path));
  std::unique_ptr<core::Vocab> vocab;
  if (!vocab_path.empty()) {
    UER_ASSIGN_OR_RETURN(core::Vocab v, core::Vocab::Load(vocab_path));
    if (static_cast<uint64_t>(v.size()) != ds->header().vocab_size || runtime::VocabChecksum(v) != ds->header().vocab_checksum) {
      return absl::FailedPreconditionError(absl::StrCat(dataset_path, " was built with another vocabulary than ", vocab_path));
    }
    vocab = std::make_unique<core::Vocab>(std::move(v));
  }
  const runtime::DatasetHeader& h = ds->header();
  out << "dataset: " << dataset_path << "\n"
      << "format version: " << h.format_version << "\n"
      << "target: " << ds->target() << " (records version " << ds->record_version() << ")\n"
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
    for (const core::FieldSpec& f : ds->data().Fields()) {
      const std::vector<int64_t>& v = d.Field(f.name);
      if (!f.per_position) {
        out << "\n  " << f.name << ": " << v[0];
        continue;
      }
      out << "\n  " << f.name << ":";
      for (int64_t k = 0; k < n; ++k) out << " " << (v[k] ? tok(v[k]) : "_");
    }
    out << "\n";
  }
  return absl::OkStatus();
}

}  // namespace uer::apps
