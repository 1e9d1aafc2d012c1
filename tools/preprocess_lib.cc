#include "tools/preprocess_lib.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/dataset.h"
#include "core/log.h"
#include "core/python_random.h"
#include "core/status_macros.h"
#include "core/text.h"
#include "core/tokenizer.h"

namespace uer::tools {
namespace {

using core::DatasetTarget;
using core::PythonRandom;

// Reads lines [first, first + count) of a file (lines end at '\n'; a '\r' before it is dropped).
class SliceReader {
 public:
  static absl::StatusOr<std::unique_ptr<SliceReader>> Open(const std::string& path, uint64_t byte_offset) {
    FILE* f = fopen(path.c_str(), "rb");
    if (!f) return absl::NotFoundError(absl::StrCat("cannot open corpus ", path, ": ", std::strerror(errno)));
    if (fseeko(f, static_cast<off_t>(byte_offset), SEEK_SET) != 0) {
      fclose(f);
      return absl::DataLossError(absl::StrCat("cannot seek in ", path));
    }
    auto r = std::unique_ptr<SliceReader>(new SliceReader());
    r->f_ = f;
    return r;
  }
  ~SliceReader() { if (f_) fclose(f_); }
  bool Next(std::string* line) {
    line->clear();
    int c;
    bool any = false;
    while ((c = getc_unlocked(f_)) != EOF) {
      any = true;
      if (c == '\n') break;
      line->push_back(static_cast<char>(c));
    }
    if (!line->empty() && line->back() == '\r') line->pop_back();
    return any;
  }

 private:
  FILE* f_ = nullptr;
};

// Number of lines ('\n'-terminated, plus a last unterminated one) and the byte offset of the start of
// each line in `wanted` (sorted line numbers).
absl::Status IndexLines(const std::string& path, const std::vector<uint64_t>& wanted, uint64_t* lines,
                        std::vector<uint64_t>* offsets) {
  FILE* f = fopen(path.c_str(), "rb");
  if (!f) return absl::NotFoundError(absl::StrCat("cannot open corpus ", path, ": ", std::strerror(errno)));
  std::vector<char> buf(1 << 22);
  uint64_t count = 0, pos = 0;
  size_t w = 0;
  bool last_was_newline = true;
  offsets->clear();
  while (w < wanted.size() && wanted[w] == 0) { offsets->push_back(0); ++w; }
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), f)) > 0) {
    const char* p = buf.data();
    const char* end = p + n;
    while (p < end) {
      const char* nl = static_cast<const char*>(memchr(p, '\n', end - p));
      if (!nl) break;
      ++count;
      uint64_t next = pos + (nl - buf.data()) + 1;
      while (w < wanted.size() && wanted[w] == count) { offsets->push_back(next); ++w; }
      p = nl + 1;
    }
    last_was_newline = buf[n - 1] == '\n';
    pos += n;
  }
  fclose(f);
  if (!last_was_newline) ++count;
  *lines = count;
  while (offsets->size() < wanted.size()) offsets->push_back(pos);
  return absl::OkStatus();
}

struct WorkerResult {
  absl::Status status = absl::OkStatus();
  PreprocessStats stats;
  int64_t blank_lines = 0;
  int64_t multi_sentence_docs = 0;
};

class Worker {
 public:
  Worker(const PreprocessOptions& o, const core::Tokenizer& tokenizer, DatasetTarget target,
         core::DatasetPartWriter* out)
      : o_(o), tok_(tokenizer), vocab_(tokenizer.vocab()), target_(target), out_(out), rng_(o.seed) {}

  WorkerResult Run(uint64_t byte_offset, uint64_t first_line, uint64_t line_count) {
    WorkerResult r;
    const int passes = target_ == DatasetTarget::kMlm ? o_.dup_factor : 1;
    for (int pass = 0; pass < passes && r.status.ok(); ++pass) {
      r.status = RunPass(byte_offset, first_line, line_count, &r, pass == 0);
    }
    if (r.status.ok()) r.status = out_->Close();
    r.stats = stats_;
    return r;
  }

 private:
  absl::Status RunPass(uint64_t byte_offset, uint64_t first_line, uint64_t line_count, WorkerResult* r,
                       bool count_input) {
    UER_ASSIGN_OR_RETURN(auto reader, SliceReader::Open(o_.corpus_path, byte_offset));
    std::string line;
    std::vector<std::vector<int32_t>> document;
    for (uint64_t i = 0; i < line_count && reader->Next(&line); ++i) {
      const uint64_t line_number = first_line + i + 1;
      if (count_input) ++stats_.lines;
      if (target_ == DatasetTarget::kCls) {
        UER_RETURN_IF_ERROR(ClsLine(line, line_number));
        continue;
      }
      if (target_ == DatasetTarget::kBert && core::IsBlank(line)) {
        ++r->blank_lines;
        if (!document.empty()) {
          r->multi_sentence_docs += document.size() >= 2;
          docs_.push_back(std::move(document));
          document.clear();
        }
        if (static_cast<int>(docs_.size()) == o_.docs_buffer_size) UER_RETURN_IF_ERROR(FlushDocs());
        continue;
      }
      std::vector<int64_t> ids = tok_.TokenizeToIds(line);
      if (count_input) stats_.input_tokens += static_cast<int64_t>(ids.size());
      std::vector<int32_t> sentence(ids.begin(), ids.end());
      switch (target_) {
        case DatasetTarget::kBert:
          if (!sentence.empty()) document.push_back(std::move(sentence));
          break;
        case DatasetTarget::kMlm:
          UER_RETURN_IF_ERROR(MlmLine(std::move(sentence)));
          break;
        case DatasetTarget::kLm:
          UER_RETURN_IF_ERROR(LmLine(std::move(sentence)));
          break;
        case DatasetTarget::kBilm:
          UER_RETURN_IF_ERROR(BilmLine(std::move(sentence)));
          break;
        default:
          break;
      }
    }
    if (target_ == DatasetTarget::kBert) {
      if (!document.empty()) {  // UER-py drops the last document of a slice; uer-cc keeps it
        r->multi_sentence_docs += document.size() >= 2;
        docs_.push_back(std::move(document));
      }
      UER_RETURN_IF_ERROR(FlushDocs());
    }
    return absl::OkStatus();
  }

  // UER-py's mask_seq: 15% of the positions that are not [CLS]/[SEP]; of those 80% [MASK], 10% a
  // random id in [1, V-1] other than [CLS]/[SEP]/[MASK], 10% unchanged.
  void Mask(std::vector<int32_t>* src, std::vector<int32_t>* pos, std::vector<int32_t>* orig) {
    const int32_t cls = static_cast<int32_t>(vocab_.cls_id()), sep = static_cast<int32_t>(vocab_.sep_id());
    const int32_t mask = static_cast<int32_t>(vocab_.mask_id());
    const int64_t v = vocab_.size();
    int32_t* p = src->data();
    const size_t n = src->size();
    int64_t maskable = 0;
    for (size_t i = 0; i < n; ++i) {
      const int32_t token = p[i];
      if (token == cls || token == sep) continue;
      ++maskable;
      double prob = rng_.Random();
      if (prob < 0.15) {
        prob /= 0.15;
        if (prob < 0.8) {
          p[i] = mask;
        } else if (prob < 0.9) {
          int32_t rdi;
          do {
            rdi = static_cast<int32_t>(rng_.RandInt(1, v - 1));
          } while (rdi == cls || rdi == sep || rdi == mask);
          p[i] = rdi;
        }
        pos->push_back(static_cast<int32_t>(i));
        orig->push_back(token);
      }
    }
    stats_.maskable += maskable;
    stats_.masked += static_cast<int64_t>(pos->size());
  }

  absl::Status Emit(const std::vector<int32_t>& record, int64_t tokens) {
    ++stats_.instances;
    stats_.tokens += tokens;
    return out_->Add(record);
  }

  absl::Status MlmLine(std::vector<int32_t> src) {
    if (src.empty()) return absl::OkStatus();  // UER-py writes an empty instance
    if (static_cast<int>(src.size()) > o_.seq_length) src.resize(o_.seq_length);
    std::vector<int32_t> pos, orig;
    Mask(&src, &pos, &orig);
    std::vector<int32_t> rec = {static_cast<int32_t>(src.size()), static_cast<int32_t>(pos.size())};
    rec.insert(rec.end(), src.begin(), src.end());
    rec.insert(rec.end(), pos.begin(), pos.end());
    rec.insert(rec.end(), orig.begin(), orig.end());
    return Emit(rec, static_cast<int64_t>(src.size()));
  }

  absl::Status LmLine(std::vector<int32_t> tok) {
    // As UER-py, a line of fewer than two tokens still gives an instance (all padding, no loss).
    if (static_cast<int>(tok.size()) > o_.seq_length + 1) tok.resize(o_.seq_length + 1);
    std::vector<int32_t> rec = {static_cast<int32_t>(tok.size())};
    rec.insert(rec.end(), tok.begin(), tok.end());
    return Emit(rec, std::max<int64_t>(0, static_cast<int64_t>(tok.size()) - 1));
  }

  absl::Status BilmLine(std::vector<int32_t> tok) {
    if (tok.empty()) return absl::OkStatus();  // as UER-py
    // One token past seq_length is kept: the forward target of the last position is the next token
    // of the line (UER-py shifts before it truncates).
    if (static_cast<int>(tok.size()) > o_.seq_length + 1) tok.resize(o_.seq_length + 1);
    std::vector<int32_t> rec = {static_cast<int32_t>(tok.size())};
    rec.insert(rec.end(), tok.begin(), tok.end());
    return Emit(rec, std::min<int64_t>(static_cast<int64_t>(tok.size()), o_.seq_length));
  }

  absl::Status ClsLine(const std::string& raw, uint64_t line_number) {
    // line.strip().split("\t"): label<TAB>text, or label<TAB>text_a<TAB>text_b (a pair).
    std::string_view line(raw);
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
    return Emit(rec, static_cast<int64_t>(src.size()));
  }

  absl::Status FlushDocs() {
    for (int d = 0; d < o_.dup_factor; ++d) {
      for (size_t i = 0; i < docs_.size(); ++i) UER_RETURN_IF_ERROR(InstancesFromDoc(i));
    }
    docs_.clear();
    return absl::OkStatus();
  }

  // UER-py's truncate_seq_pair on [lo, hi) windows (no element moves): drop a token at the front or
  // the back of the longer sequence until the pair fits.
  void TruncatePair(size_t* a_lo, size_t* a_hi, size_t* b_lo, size_t* b_hi, int max_tokens) {
    while (static_cast<int>((*a_hi - *a_lo) + (*b_hi - *b_lo)) > max_tokens) {
      const bool a_longer = (*a_hi - *a_lo) > (*b_hi - *b_lo);
      size_t* lo = a_longer ? a_lo : b_lo;
      size_t* hi = a_longer ? a_hi : b_hi;
      if (rng_.Random() < 0.5) ++*lo;
      else --*hi;
    }
  }

  // UER-py's create_ins_from_doc, draw for draw.
  absl::Status InstancesFromDoc(size_t doc_index) {
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
          std::vector<int32_t>& a = a_;
          std::vector<int32_t>& b = b_;
          a.clear();
          b.clear();
          for (int64_t j = 0; j < a_end; ++j) a.insert(a.end(), chunk[j]->begin(), chunk[j]->end());
          int32_t is_random_next = 0;
          if (chunk.size() == 1 || rng_.Random() < 0.5) {
            is_random_next = 1;
            const int64_t target_b_length = target_seq_length - static_cast<int64_t>(a.size());
            int64_t random_index = 0;
            for (int k = 0; k < 10; ++k) {
              random_index = rng_.RandInt(0, static_cast<int64_t>(docs_.size()) - 1);
              if (random_index != static_cast<int64_t>(doc_index)) break;
            }
            const auto& random_doc = docs_[random_index];
            const int64_t random_start = rng_.RandInt(0, static_cast<int64_t>(random_doc.size()) - 1);
            for (size_t j = random_start; j < random_doc.size(); ++j) {
              b.insert(b.end(), random_doc[j].begin(), random_doc[j].end());
              if (static_cast<int64_t>(b.size()) >= target_b_length) break;
            }
            i -= static_cast<int64_t>(chunk.size()) - a_end;
          } else {
            for (size_t j = a_end; j < chunk.size(); ++j) b.insert(b.end(), chunk[j]->begin(), chunk[j]->end());
          }
          size_t a_lo = 0, a_hi = a.size(), b_lo = 0, b_hi = b.size();
          TruncatePair(&a_lo, &a_hi, &b_lo, &b_hi, max_num_tokens);
          std::vector<int32_t>& src = src_;
          src.clear();
          src.push_back(cls);
          src.insert(src.end(), a.begin() + a_lo, a.begin() + a_hi);
          src.push_back(sep);
          const int32_t seg_a = static_cast<int32_t>(src.size());
          src.insert(src.end(), b.begin() + b_lo, b.begin() + b_hi);
          src.push_back(sep);
          const int32_t seg_b = static_cast<int32_t>(src.size());
          std::vector<int32_t>& pos = pos_;
          std::vector<int32_t>& orig = orig_;
          pos.clear();
          orig.clear();
          Mask(&src, &pos, &orig);
          std::vector<int32_t>& rec = rec_;
          rec.assign({static_cast<int32_t>(src.size()), static_cast<int32_t>(pos.size()), is_random_next, seg_a, seg_b});
          rec.insert(rec.end(), src.begin(), src.end());
          rec.insert(rec.end(), pos.begin(), pos.end());
          rec.insert(rec.end(), orig.begin(), orig.end());
          stats_.random_next += is_random_next;
          UER_RETURN_IF_ERROR(Emit(rec, static_cast<int64_t>(src.size())));
        }
        chunk.clear();
        current_length = 0;
      }
      ++i;
    }
    return absl::OkStatus();
  }

  const PreprocessOptions& o_;
  const core::Tokenizer& tok_;
  const core::Vocab& vocab_;
  DatasetTarget target_;
  core::DatasetPartWriter* out_;
  PythonRandom rng_;
  std::vector<std::vector<std::vector<int32_t>>> docs_;
  PreprocessStats stats_;
  std::vector<int32_t> a_, b_, src_, pos_, orig_, rec_;  // reused buffers
};

absl::Status CheckOptions(const PreprocessOptions& o, DatasetTarget target) {
  const int min_seq = target == DatasetTarget::kBert ? 5 : target == DatasetTarget::kCls ? 2 : 1;
  if (o.seq_length < min_seq) {
    return absl::InvalidArgumentError(absl::StrCat("--seq_length ", o.seq_length, " is too small for target ",
                                                   o.target, ": it needs at least ", min_seq,
                                                   target == DatasetTarget::kBert ? " ([CLS] A [SEP] B [SEP])" : ""));
  }
  if (o.processes_num < 1) return absl::InvalidArgumentError("--processes_num must be >= 1");
  if (o.dup_factor < 1) return absl::InvalidArgumentError("--dup_factor must be >= 1");
  if (o.docs_buffer_size < 1) return absl::InvalidArgumentError("--docs_buffer_size must be >= 1");
  if (!(o.short_seq_prob >= 0 && o.short_seq_prob <= 1)) {
    return absl::InvalidArgumentError("--short_seq_prob must be in [0, 1]");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<PreprocessStats> RunPreprocess(const PreprocessOptions& o) {
  UER_ASSIGN_OR_RETURN(DatasetTarget target, core::ParseDatasetTarget(o.target));
  UER_RETURN_IF_ERROR(CheckOptions(o, target));
  UER_ASSIGN_OR_RETURN(core::Vocab vocab_value, core::Vocab::Load(o.vocab_path));
  auto vocab = std::make_shared<const core::Vocab>(std::move(vocab_value));
  for (auto [name, id] : {std::pair<const char*, int64_t>{"[CLS]", vocab->cls_id()},
                          {"[SEP]", vocab->sep_id()}, {"[MASK]", vocab->mask_id()}, {"[PAD]", vocab->pad_id()}}) {
    if (id < 0) return absl::InvalidArgumentError(absl::StrCat("vocabulary ", o.vocab_path, " has no ", name, " token"));
  }
  core::TokenizerOptions topts;
  topts.vocab = vocab;
  topts.do_lower_case = o.do_lower_case;
  UER_ASSIGN_OR_RETURN(auto tokenizer, core::CreateTokenizer(o.tokenizer, topts));

  // Slices of lines, as UER-py's workers take them.
  uint64_t lines = 0;
  std::vector<uint64_t> dummy;
  UER_RETURN_IF_ERROR(IndexLines(o.corpus_path, {}, &lines, &dummy));
  if (lines == 0) return absl::InvalidArgumentError(absl::StrCat("corpus ", o.corpus_path, " is empty"));
  const int workers = static_cast<int>(std::min<uint64_t>(o.processes_num, lines));
  std::vector<uint64_t> starts;
  for (int w = 0; w < workers; ++w) starts.push_back(w * lines / workers);
  // One worker starts at byte 0: only more workers need a second pass to find their first lines.
  std::vector<uint64_t> offsets = {0};
  if (workers > 1) UER_RETURN_IF_ERROR(IndexLines(o.corpus_path, starts, &lines, &offsets));

  std::vector<std::unique_ptr<core::DatasetPartWriter>> parts;
  for (int w = 0; w < workers; ++w) {
    UER_ASSIGN_OR_RETURN(auto part, core::DatasetPartWriter::Create(absl::StrCat(o.dataset_path, ".part", w, ".", getpid())));
    parts.push_back(std::move(part));
  }
  std::vector<WorkerResult> results(workers);
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back([&, w] {
      Worker worker(o, *tokenizer, target, parts[w].get());
      uint64_t end = (w + 1) * lines / workers;
      results[w] = worker.Run(offsets[w], starts[w], end - starts[w]);
    });
  }
  for (auto& t : threads) t.join();
  auto discard = [&] {
    for (auto& p : parts) {
      unlink(p->data_path().c_str());
      unlink(p->offsets_path().c_str());
    }
  };
  PreprocessStats total;
  int64_t blank = 0, multi = 0;
  for (auto& r : results) {
    if (!r.status.ok()) {
      discard();
      return r.status;
    }
    blank += r.blank_lines;
    multi += r.multi_sentence_docs;
    total.lines += r.stats.lines;
    total.instances += r.stats.instances;
    total.tokens += r.stats.tokens;
    total.maskable += r.stats.maskable;
    total.masked += r.stats.masked;
    total.random_next += r.stats.random_next;
    total.input_tokens += r.stats.input_tokens;
  }
  if (target == DatasetTarget::kBert && (blank == 0 || multi == 0)) {
    discard();
    return absl::InvalidArgumentError(absl::StrCat(
        "corpus ", o.corpus_path, (blank == 0 ? " has no blank line" : " has no document of two sentences"),
        ": the bert target needs documents of at least two sentences, one sentence a line, documents "
        "separated by blank lines (use --target mlm for one text a line)"));
  }
  if (total.instances == 0) {
    discard();
    return absl::InvalidArgumentError(absl::StrCat("corpus ", o.corpus_path, " gave no instance for target ", o.target));
  }
  core::DatasetHeader h;
  std::memset(&h, 0, sizeof(h));
  std::memcpy(h.magic, core::kDatasetMagic, 8);
  h.format_version = core::kDatasetFormatVersion;
  h.target = static_cast<uint32_t>(target);
  h.seq_length = static_cast<uint32_t>(o.seq_length);
  h.vocab_size = static_cast<uint64_t>(vocab->size());
  h.vocab_checksum = core::VocabChecksum(*vocab);
  h.pad_id = static_cast<int32_t>(vocab->pad_id());
  h.unk_id = static_cast<int32_t>(vocab->unk_id());
  h.cls_id = static_cast<int32_t>(vocab->cls_id());
  h.sep_id = static_cast<int32_t>(vocab->sep_id());
  h.mask_id = static_cast<int32_t>(vocab->mask_id());
  h.seed = static_cast<uint64_t>(o.seed);
  h.dup_factor = static_cast<uint32_t>(o.dup_factor);
  std::vector<core::DatasetPartWriter*> raw;
  for (auto& p : parts) raw.push_back(p.get());
  UER_RETURN_IF_ERROR(core::MergeDatasetParts(o.dataset_path, h, raw));
  total.documents = multi;
  UER_LOG(INFO) << "preprocess: " << total.lines << " lines, " << total.input_tokens << " input tokens -> "
                << total.instances << " " << o.target << " instances in " << o.dataset_path;
  return total;
}

}  // namespace uer::tools
