#include "plugins/targets/common/instances.h"

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "core/text.h"

namespace uer::targets::common {

void Mask(const core::Vocab& vocab, core::PythonRandom* rng, std::vector<int32_t>* src, std::vector<int32_t>* pos,
          std::vector<int32_t>* orig, core::InstanceStats* stats) {
  const int32_t cls = static_cast<int32_t>(vocab.cls_id()), sep = static_cast<int32_t>(vocab.sep_id());
  const int32_t mask = static_cast<int32_t>(vocab.mask_id());
  const int64_t v = vocab.size();
  int32_t* p = src->data();
  const size_t n = src->size();
  int64_t maskable = 0;
  const size_t before = pos->size();
  for (size_t i = 0; i < n; ++i) {
    const int32_t token = p[i];
    if (token == cls || token == sep) continue;
    ++maskable;
    double prob = rng->Random();
    if (prob < 0.15) {
      prob /= 0.15;
      if (prob < 0.8) {
        p[i] = mask;
      } else if (prob < 0.9) {
        int32_t rdi;
        do {
          rdi = static_cast<int32_t>(rng->RandInt(1, v - 1));
        } while (rdi == cls || rdi == sep || rdi == mask);
        p[i] = rdi;
      }
      pos->push_back(static_cast<int32_t>(i));
      orig->push_back(token);
    }
  }
  stats->counts["maskable"] += maskable;
  stats->counts["masked"] += static_cast<int64_t>(pos->size() - before);
}

absl::Status LineBuilder::Line(std::string_view line, uint64_t, int pass, core::InstanceSink* out) {
  std::vector<int64_t> ids = tok_.TokenizeToIds(line);
  if (pass == 0) stats_.input_tokens += static_cast<int64_t>(ids.size());
  return Tokens(std::vector<int32_t>(ids.begin(), ids.end()), out);
}

absl::Status LineBuilder::Emit(const std::vector<int32_t>& record, int64_t tokens, core::InstanceSink* out) {
  ++stats_.instances;
  stats_.tokens += tokens;
  return out->Add(record, tokens);
}

absl::Status DocumentBuilder::Line(std::string_view line, uint64_t, int, core::InstanceSink* out) {
  if (core::IsBlank(line)) {
    ++stats_.counts["blank_lines"];
    if (!document_.empty()) {
      stats_.counts["documents"] += document_.size() >= 2;
      docs_.push_back(std::move(document_));
      document_.clear();
    }
    if (static_cast<int>(docs_.size()) == o_.docs_buffer_size) UER_RETURN_IF_ERROR(FlushDocs(out));
    return absl::OkStatus();
  }
  std::vector<int64_t> ids = tok_.TokenizeToIds(line);
  stats_.input_tokens += static_cast<int64_t>(ids.size());
  if (!ids.empty()) document_.emplace_back(ids.begin(), ids.end());
  return absl::OkStatus();
}

absl::Status DocumentBuilder::EndPass(int, core::InstanceSink* out) {
  if (!document_.empty()) {  // UER-py drops the last document of a slice; uer-cc keeps it
    stats_.counts["documents"] += document_.size() >= 2;
    docs_.push_back(std::move(document_));
    document_.clear();
  }
  return FlushDocs(out);
}

absl::Status DocumentBuilder::FlushDocs(core::InstanceSink* out) {
  for (int d = 0; d < o_.dup_factor; ++d) {
    for (size_t i = 0; i < docs_.size(); ++i) UER_RETURN_IF_ERROR(InstancesFromDoc(i, out));
  }
  docs_.clear();
  return absl::OkStatus();
}

// UER-py's truncate_seq_pair on [lo, hi) windows (no element moves): drop a token at the front or
// the back of the longer sequence until the pair fits.
void DocumentBuilder::TruncatePair(size_t* a_lo, size_t* a_hi, size_t* b_lo, size_t* b_hi, int max_tokens) {
  while (static_cast<int>((*a_hi - *a_lo) + (*b_hi - *b_lo)) > max_tokens) {
    const bool a_longer = (*a_hi - *a_lo) > (*b_hi - *b_lo);
    size_t* lo = a_longer ? a_lo : b_lo;
    size_t* hi = a_longer ? a_hi : b_hi;
    if (rng_.Random() < 0.5) ++*lo;
    else --*hi;
  }
}

// UER-py's create_ins_from_doc, draw for draw (without mask_seq's draws for nsp).
absl::Status DocumentBuilder::InstancesFromDoc(size_t doc_index, core::InstanceSink* out) {
  const auto& document = docs_[doc_index];
  const int max_num_tokens = o_.seq_length - 3;
  int target_seq_length = max_num_tokens;
  if (rng_.Random() < o_.short_seq_prob) target_seq_length = static_cast<int>(rng_.RandInt(2, max_num_tokens));
  std::vector<const std::vector<int32_t>*> chunk;
  int64_t current_length = 0;
  int64_t i = 0;
  const int32_t cls = static_cast<int32_t>(vocab_.cls_id()), sep = static_cast<int32_t>(vocab_.sep_id());
  while (i < static_cast<int64_t>(document.size())) {
    chunk.push_back(&document[i]);
    current_length += static_cast<int64_t>(document[i].size());
    if (i == static_cast<int64_t>(document.size()) - 1 || current_length >= target_seq_length) {
      if (!chunk.empty()) {
        int64_t a_end = 1;
        if (chunk.size() >= 2) a_end = rng_.RandInt(1, static_cast<int64_t>(chunk.size()) - 1);
        a_.clear();
        b_.clear();
        for (int64_t j = 0; j < a_end; ++j) a_.insert(a_.end(), chunk[j]->begin(), chunk[j]->end());
        int32_t is_random_next = 0;
        if (chunk.size() == 1 || rng_.Random() < 0.5) {
          is_random_next = 1;
          const int64_t target_b_length = target_seq_length - static_cast<int64_t>(a_.size());
          int64_t random_index = 0;
          for (int k = 0; k < 10; ++k) {
            random_index = rng_.RandInt(0, static_cast<int64_t>(docs_.size()) - 1);
            if (random_index != static_cast<int64_t>(doc_index)) break;
          }
          const auto& random_doc = docs_[random_index];
          const int64_t random_start = rng_.RandInt(0, static_cast<int64_t>(random_doc.size()) - 1);
          for (size_t j = random_start; j < random_doc.size(); ++j) {
            b_.insert(b_.end(), random_doc[j].begin(), random_doc[j].end());
            if (static_cast<int64_t>(b_.size()) >= target_b_length) break;
          }
          i -= static_cast<int64_t>(chunk.size()) - a_end;
        } else {
          for (size_t j = a_end; j < chunk.size(); ++j) b_.insert(b_.end(), chunk[j]->begin(), chunk[j]->end());
        }
        size_t a_lo = 0, a_hi = a_.size(), b_lo = 0, b_hi = b_.size();
        TruncatePair(&a_lo, &a_hi, &b_lo, &b_hi, max_num_tokens);
        src_.clear();
        src_.push_back(cls);
        src_.insert(src_.end(), a_.begin() + a_lo, a_.begin() + a_hi);
        src_.push_back(sep);
        const int32_t seg_a = static_cast<int32_t>(src_.size());
        src_.insert(src_.end(), b_.begin() + b_lo, b_.begin() + b_hi);
        src_.push_back(sep);
        const int32_t seg_b = static_cast<int32_t>(src_.size());
        pos_.clear();
        orig_.clear();
        if (mask_) {
          Mask(vocab_, &rng_, &src_, &pos_, &orig_, &stats_);
          rec_.assign({static_cast<int32_t>(src_.size()), static_cast<int32_t>(pos_.size()), is_random_next, seg_a, seg_b});
        } else {
          rec_.assign({static_cast<int32_t>(src_.size()), is_random_next, seg_a, seg_b});
        }
        rec_.insert(rec_.end(), src_.begin(), src_.end());
        rec_.insert(rec_.end(), pos_.begin(), pos_.end());
        rec_.insert(rec_.end(), orig_.begin(), orig_.end());
        stats_.counts["random_next"] += is_random_next;
        ++stats_.instances;
        stats_.tokens += static_cast<int64_t>(src_.size());
        UER_RETURN_IF_ERROR(out->Add(rec_, static_cast<int64_t>(src_.size())));
      }
      chunk.clear();
      current_length = 0;
    }
    ++i;
  }
  return absl::OkStatus();
}

absl::Status CheckDocuments(const core::InstanceStats& total, const core::InstanceOptions& o, const std::string& target) {
  auto count = [&](const char* k) {
    auto it = total.counts.find(k);
    return it == total.counts.end() ? 0 : it->second;
  };
  if (count("blank_lines") == 0 || count("documents") == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "corpus ", o.corpus_path, (count("blank_lines") == 0 ? " has no blank line" : " has no document of two sentences"),
        ": the ", target, " target needs documents of at least two sentences, one sentence a line, documents "
        "separated by blank lines (use --target mlm for one text a line)"));
  }
  return absl::OkStatus();
}

absl::Status CheckSeqLength(const core::InstanceOptions& o, const std::string& target, int min, const char* why) {
  if (o.seq_length < min) {
    return absl::InvalidArgumentError(absl::StrCat("--seq_length ", o.seq_length, " is too small for target ", target,
                                                   ": it needs at least ", min, why));
  }
  return absl::OkStatus();
}

absl::Status Malformed(const char* why) { return absl::DataLossError(why); }

}  // namespace uer::targets::common
