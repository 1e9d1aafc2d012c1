#include "core/runtime/preprocess.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <thread>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/runtime/dataset.h"
#include "core/runtime/progress.h"
#include "core/target_data.h"
#include "core/log.h"
#include "core/python_random.h"
#include "core/status_macros.h"
#include "core/text.h"
#include "core/tokenizer.h"

namespace uer::runtime {
namespace {


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
  int64_t lines = 0;
  core::InstanceStats stats;
};

// Hands the builder's records to one part of the dataset.
class PartSink : public core::InstanceSink {
 public:
  explicit PartSink(DatasetPartWriter* out) : out_(out) {}
  absl::Status Add(const std::vector<int32_t>& record, int64_t) override { return out_->Add(record); }

 private:
  DatasetPartWriter* out_;
};

// One worker: its slice of lines through the target's instance builder, once per pass.
WorkerResult RunWorker(const PreprocessOptions& o, const core::InstanceOptions& io, const core::TargetDataFactory& data,
                       const core::Tokenizer& tokenizer, DatasetPartWriter* out, uint64_t byte_offset,
                       uint64_t first_line, uint64_t line_count, std::atomic<uint64_t>* bytes_read) {
  WorkerResult r;
  auto builder = data.NewBuilder(io, tokenizer);
  if (!builder.ok()) {
    r.status = builder.status();
    return r;
  }
  PartSink sink(out);
  const int passes = (*builder)->passes();
  for (int pass = 0; pass < passes && r.status.ok(); ++pass) {
    auto reader = SliceReader::Open(o.corpus_path, byte_offset);
    if (!reader.ok()) {
      r.status = reader.status();
      break;
    }
    std::string line;
    for (uint64_t i = 0; i < line_count && (*reader)->Next(&line); ++i) {
      if (o.stop_signal != nullptr && o.stop_signal->load() != 0) {
        r.status = absl::CancelledError(absl::StrCat("stopped by signal ", o.stop_signal->load(), "; ",
                                                     o.dataset_path, " was not written"));
        break;
      }
      if (pass == 0) ++r.lines;
      bytes_read->fetch_add(line.size() + 1, std::memory_order_relaxed);
      const uint64_t number = first_line + i + 1;
      if (const long bad = core::FindInvalidUtf8(line); bad >= 0) {
        if (!o.replace_invalid_utf8) {
          r.status = absl::InvalidArgumentError(core::InvalidUtf8Message(o.corpus_path, static_cast<int64_t>(number), bad));
          break;
        }
        line = core::ReplaceInvalidUtf8(line);
      }
      r.status = (*builder)->Line(line, number, pass, &sink);
      if (!r.status.ok()) break;
    }
    if (r.status.ok()) r.status = (*builder)->EndPass(pass, &sink);
  }
  if (r.status.ok()) r.status = out->Close();
  r.stats = (*builder)->stats();
  return r;
}

}  // namespace

absl::StatusOr<PreprocessStats> RunPreprocess(const PreprocessOptions& o) {
  {
    // The corpus is read more than once (a line index, then the workers): a pipe or a device would
    // hang or give a second read nothing.
    struct stat st;
    if (stat(o.corpus_path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "corpus ", o.corpus_path, S_ISDIR(st.st_mode) ? " is a directory" : " is not a regular file (a pipe or a device)",
          ": preprocess reads the corpus more than once; give it a file"));
    }
  }
  UER_ASSIGN_OR_RETURN(const core::TargetDataFactory* data, core::FindTargetData(o.target));
  {
    struct stat st;
    if (stat(o.dataset_path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      return absl::InvalidArgumentError(absl::StrCat("--dataset_path ", o.dataset_path,
                                                     " is a directory; name the dataset file (", o.dataset_path,
                                                     "/dataset.uer, say)"));
    }
  }
  RemoveStaleTemporaries(o.dataset_path);
  core::InstanceOptions io;
  io.corpus_path = o.corpus_path;
  io.seq_length = o.seq_length;
  io.dup_factor = o.dup_factor;
  io.short_seq_prob = o.short_seq_prob;
  io.docs_buffer_size = o.docs_buffer_size;
  io.seed = o.seed;
  if (o.seq_length < 1) return absl::InvalidArgumentError("--seq_length must be >= 1");
  if (o.processes_num < 1) return absl::InvalidArgumentError("--processes_num must be >= 1");
  if (o.dup_factor < 1) return absl::InvalidArgumentError("--dup_factor must be >= 1");
  if (o.docs_buffer_size < 1) return absl::InvalidArgumentError("--docs_buffer_size must be >= 1");
  if (!(o.short_seq_prob >= 0 && o.short_seq_prob <= 1)) {
    return absl::InvalidArgumentError("--short_seq_prob must be in [0, 1]");
  }
  UER_RETURN_IF_ERROR(data->CheckOptions(io));
  UER_ASSIGN_OR_RETURN(core::Vocab vocab_value, core::Vocab::Load(o.vocab_path));
  auto vocab = std::make_shared<const core::Vocab>(std::move(vocab_value));
  std::vector<std::string> needed = data->NeededTokens();
  needed.push_back("[PAD]");
  for (const std::string& token : needed) {
    if (vocab->Id(token) < 0) {
      return absl::InvalidArgumentError(absl::StrCat("vocabulary ", o.vocab_path, " has no ", token,
                                                     " token (target ", o.target, " needs it)"));
    }
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

  std::vector<std::unique_ptr<DatasetPartWriter>> parts;
  for (int w = 0; w < workers; ++w) {
    UER_ASSIGN_OR_RETURN(auto part, DatasetPartWriter::Create(absl::StrCat(o.dataset_path, ".part", w)));
    parts.push_back(std::move(part));
  }
  std::vector<WorkerResult> results(workers);
  std::vector<std::thread> threads;
  std::atomic<uint64_t> bytes_read{0};
  std::atomic<int> finished{0};
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back([&, w] {
      const uint64_t end = (w + 1) * lines / workers;
      results[w] = RunWorker(o, io, *data, *tokenizer, parts[w].get(), offsets[w], starts[w], end - starts[w],
                             &bytes_read);
      finished.fetch_add(1);
    });
  }
  {
    // On a terminal: the bytes read of all passes over the corpus.
    std::error_code ec;
    const uint64_t size = std::filesystem::file_size(o.corpus_path, ec);
    auto probe = data->NewBuilder(io, *tokenizer);
    const int passes = probe.ok() ? (*probe)->passes() : 1;
    Progress progress("preprocess", static_cast<int64_t>(ec ? 0 : size * passes), Progress::Unit::kBytes);
    while (progress.enabled() && finished.load() < workers) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      progress.Update(static_cast<int64_t>(bytes_read.load()));
    }
  }
  for (auto& t : threads) t.join();
  auto discard = [&] {
    for (auto& p : parts) {
      unlink(p->data_path().c_str());
      unlink(p->offsets_path().c_str());
    }
  };
  PreprocessStats total;
  for (auto& r : results) {
    if (!r.status.ok()) {
      discard();
      return r.status;
    }
    total.lines += r.lines;
    total.stats.Add(r.stats);
  }
  absl::Status corpus = data->CheckCorpus(total.stats, io);
  if (!corpus.ok()) {
    discard();
    return corpus;
  }
  if (total.stats.instances == 0) {
    discard();
    return absl::InvalidArgumentError(absl::StrCat("corpus ", o.corpus_path, " gave no instance for target ", o.target));
  }
  UER_ASSIGN_OR_RETURN(DatasetHeader h,
                       NewDatasetHeader(*data, *vocab, o.seq_length, o.seed, o.dup_factor));
  std::vector<DatasetPartWriter*> raw;
  for (auto& p : parts) raw.push_back(p.get());
  UER_RETURN_IF_ERROR(MergeDatasetParts(o.dataset_path, h, raw));
  total.summary = data->Summary(total.stats);
  UER_LOG(INFO) << "preprocess: " << total.lines << " lines, " << total.stats.input_tokens << " input tokens -> "
                << total.stats.instances << " " << o.target << " instances in " << o.dataset_path;
  return total;
}

}  // namespace uer::runtime
