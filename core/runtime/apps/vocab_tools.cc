#include "core/runtime/apps/vocab_tools.h"

#include <stdio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <set>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/log.h"
#include "core/runtime/dataset.h"
#include "core/status_macros.h"
#include "core/text.h"
#include "core/tokenizer.h"
#include "core/vocab.h"

namespace uer::apps {
namespace {

absl::StatusOr<std::shared_ptr<const core::Vocab>> LoadVocab(const std::string& path) {
  UER_ASSIGN_OR_RETURN(core::Vocab v, core::Vocab::Load(path));
  return std::make_shared<const core::Vocab>(std::move(v));
}

}  // namespace

absl::Status ForEachLine(const std::string& path,
                         const std::function<absl::Status(std::string_view, int64_t)>& fn) {
  FILE* f = fopen(path.c_str(), "rb");
  if (f == nullptr) return absl::NotFoundError(absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
  std::unique_ptr<FILE, int (*)(FILE*)> closer(f, fclose);
  std::string buf(1 << 20, '\0');
  std::string line;
  int64_t number = 0;
  bool pending_cr = false;  // the last chunk ended in '\r': a following '\n' belongs to it
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), f)) > 0) {
    size_t i = 0;
    if (pending_cr && buf[0] == '\n') i = 1;
    pending_cr = false;
    while (i < n) {
      const char* b = buf.data() + i;
      const void* nl = memchr(b, '\n', n - i);
      const void* cr = memchr(b, '\r', n - i);
      const char* end = static_cast<const char*>(nl);
      if (cr && (!end || cr < static_cast<const void*>(end))) end = static_cast<const char*>(cr);
      if (end == nullptr) {
        line.append(b, n - i);
        break;
      }
      line.append(b, end - b);
      UER_RETURN_IF_ERROR(fn(line, ++number));
      line.clear();
      i = end - buf.data() + 1;
      if (*end == '\r') {
        if (i < n && buf[i] == '\n') ++i;
        else if (i == n) pending_cr = true;
      }
    }
  }
  if (ferror(f)) return absl::DataLossError(absl::StrCat("error reading ", path, ": ", std::strerror(errno)));
  if (!line.empty()) UER_RETURN_IF_ERROR(fn(line, ++number));
  return absl::OkStatus();
}


absl::Status RunTokenize(const TokenizeOptions& o) {
  UER_ASSIGN_OR_RETURN(auto vocab, LoadVocab(o.vocab_path));
  core::TokenizerOptions topts;
  topts.vocab = vocab;
  topts.do_lower_case = o.do_lower_case;
  UER_ASSIGN_OR_RETURN(auto tokenizer, core::CreateTokenizer(o.tokenizer, topts));
  std::string out;
  int64_t lines = 0, tokens = 0;
  UER_RETURN_IF_ERROR(ForEachLine(o.input_path, [&](std::string_view line, int64_t number) -> absl::Status {
    long bad = core::FindInvalidUtf8(line);
    if (bad >= 0 && !o.replace_invalid_utf8) {
      return absl::InvalidArgumentError(core::InvalidUtf8Message(o.input_path, number, bad));
    }
    if (o.output_tokens) {
      std::vector<std::string> toks = tokenizer->Tokenize(line);
      for (size_t i = 0; i < toks.size(); ++i) absl::StrAppend(&out, i ? " " : "", toks[i]);
      tokens += static_cast<int64_t>(toks.size());
    } else {
      std::vector<int64_t> ids = tokenizer->TokenizeToIds(line);
      for (size_t i = 0; i < ids.size(); ++i) absl::StrAppend(&out, i ? " " : "", ids[i]);
      tokens += static_cast<int64_t>(ids.size());
    }
    out.push_back('\n');
    ++lines;
    return absl::OkStatus();
  }));
  UER_RETURN_IF_ERROR(runtime::WriteFileAtomically(o.output_path, out));
  UER_LOG(INFO) << "tokenized " << lines << " lines into " << tokens << " tokens: " << o.output_path;
  return absl::OkStatus();
}

std::vector<std::string> UerReservedTokens() {
  std::vector<std::string> t = {"[PAD]"};
  for (int i = 1; i <= 99; ++i) t.push_back(absl::StrCat("[unused", i, "]"));
  for (const char* s : {"[UNK]", "[CLS]", "[SEP]", "[MASK]"}) t.push_back(s);
  return t;
}

namespace {

struct Counts {
  std::vector<std::pair<std::string, int64_t>> order;  // first-occurrence order
  absl::flat_hash_map<std::string, size_t> index;
  void Add(std::string token, int64_t n = 1) {
    auto it = index.find(token);
    if (it == index.end()) {
      index.emplace(token, order.size());
      order.emplace_back(std::move(token), n);
    } else {
      order[it->second].second += n;
    }
  }
};

}  // namespace

absl::StatusOr<std::vector<std::string>> BuildVocab(const BuildVocabOptions& o) {
  UER_ASSIGN_OR_RETURN(const core::TokenizerFactory* factory, core::FindFactory<core::TokenizerFactory>(o.tokenizer));
  if (!factory->SplitsWithoutVocab()) {
    std::vector<std::string> usable;
    for (const std::string& n : core::registry::Names(core::PluginKind::kTokenizer)) {
      auto f = core::FindFactory<core::TokenizerFactory>(n);
      if (f.ok() && (*f)->SplitsWithoutVocab()) usable.push_back(n);
    }
    return absl::InvalidArgumentError(absl::StrCat("--tokenizer ", o.tokenizer,
                                                   ": build_vocab needs a tokenizer that splits without a "
                                                   "vocabulary (", absl::StrJoin(usable, ", "), "), as UER-py's"));
  }
  if (o.workers_num < 1) return absl::InvalidArgumentError("--workers_num must be >= 1");
  // Lines are read once and dealt to the workers in contiguous slices, so that the union in
  // slice order is the first-occurrence order of the whole corpus, whatever the worker count.
  std::vector<std::string> lines;
  UER_RETURN_IF_ERROR(ForEachLine(o.corpus_path, [&](std::string_view line, int64_t number) -> absl::Status {
    long bad = core::FindInvalidUtf8(line);
    if (bad >= 0 && !o.replace_invalid_utf8) {
      return absl::InvalidArgumentError(core::InvalidUtf8Message(o.corpus_path, number, bad));
    }
    lines.emplace_back(bad >= 0 ? core::ReplaceInvalidUtf8(line) : std::string(line));
    return absl::OkStatus();
  }));
  if (lines.empty()) return absl::InvalidArgumentError(absl::StrCat("corpus ", o.corpus_path, " is empty"));
  UER_ASSIGN_OR_RETURN(core::Vocab unk_only, core::Vocab::FromTokens({"[UNK]"}, "(none)"));
  auto vocab = std::make_shared<const core::Vocab>(std::move(unk_only));
  core::TokenizerOptions topts;
  topts.vocab = vocab;
  UER_ASSIGN_OR_RETURN(auto tokenizer, core::CreateTokenizer(o.tokenizer, topts));
  const int workers = std::min<int>(o.workers_num, static_cast<int>(lines.size()));
  std::vector<Counts> parts(workers);
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back([&, w] {
      size_t begin = lines.size() * w / workers, end = lines.size() * (w + 1) / workers;
      for (size_t i = begin; i < end; ++i) {
        for (std::string& t : tokenizer->Tokenize(lines[i])) {
          // A vocabulary file holds one token a line and readers keep the first whitespace-separated
          // field, so a token that holds whitespace (the char tokenizer's " ") cannot be stored.
          // UER-py writes these too, and its own Vocab.load then reads "???<line>" for them.
          if (!t.empty() && !core::HoldsPythonSpace(t)) parts[w].Add(std::move(t));
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  Counts all = std::move(parts[0]);
  for (int w = 1; w < workers; ++w) {
    for (auto& [t, n] : parts[w].order) all.Add(std::move(t), n);
  }
  std::stable_sort(all.order.begin(), all.order.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  std::vector<std::string> reserved;
  if (o.reserved_vocab_path.empty()) {
    reserved = UerReservedTokens();
  } else {
    UER_ASSIGN_OR_RETURN(core::Vocab r, core::Vocab::Load(o.reserved_vocab_path));
    reserved = r.tokens();
  }
  std::vector<std::string> out = reserved;
  std::set<std::string> seen(reserved.begin(), reserved.end());
  for (auto& [t, n] : all.order) {
    if (n < o.min_count) break;
    if (seen.insert(t).second) out.push_back(t);
  }
  return out;
}

absl::Status RunBuildVocab(const BuildVocabOptions& o) {
  UER_ASSIGN_OR_RETURN(std::vector<std::string> tokens, BuildVocab(o));
  std::string text;
  for (const std::string& t : tokens) absl::StrAppend(&text, t, "\n");
  UER_RETURN_IF_ERROR(runtime::WriteFileAtomically(o.vocab_path, text));
  UER_LOG(INFO) << "vocabulary size: " << tokens.size() << ", written to " << o.vocab_path;
  return absl::OkStatus();
}

absl::Status RunDiffVocab(const std::string& vocab_1, const std::string& vocab_2, std::ostream& out) {
  auto read = [](const std::string& path) -> absl::StatusOr<std::set<std::string>> {
    std::set<std::string> s;
    UER_RETURN_IF_ERROR(ForEachLine(path, [&](std::string_view line, int64_t) -> absl::Status {
      size_t b = line.find_first_not_of(" \t");
      if (b == std::string_view::npos) return absl::OkStatus();
      size_t e = line.find_first_of(" \t", b);
      s.emplace(line.substr(b, e == std::string_view::npos ? std::string_view::npos : e - b));
      return absl::OkStatus();
    }));
    return s;
  };
  UER_ASSIGN_OR_RETURN(auto a, read(vocab_1));
  UER_ASSIGN_OR_RETURN(auto b, read(vocab_2));
  size_t both = 0;
  for (const auto& t : a) both += b.count(t);
  out << "vocab_1: " << vocab_1 << ", size: " << a.size() << "\n";
  out << "vocab_2: " << vocab_2 << ", size: " << b.size() << "\n";
  out << "vocab_1 - vocab_2 = " << a.size() - both << "\n";
  out << "vocab_2 - vocab_1 = " << b.size() - both << "\n";
  out << "vocab_1 & vocab_2 = " << both << "\n";
  return absl::OkStatus();
}

}  // namespace uer::apps
