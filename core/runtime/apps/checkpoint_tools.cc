// The checkpoint-only tools of core/runtime/apps/toolbox.h: average_models, multi_single_convert,
// extract_embeddings, topn_words_indep, dynamic_vocab_adapter.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <map>
#include <set>

#include <torch/torch.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "core/runtime/checkpoint.h"
#include "core/runtime/interop.h"
#include "core/runtime/model/model.h"
#include "core/runtime/trainer.h"
#include "core/status_macros.h"
#include "core/text.h"
#include "core/vocab.h"
#include "core/runtime/apps/toolbox.h"
#include "core/runtime/apps/vocab_tools.h"

namespace uer::apps {

using core::StateDict;

std::string PythonFloatRepr(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  if (v == 0) return std::signbit(v) ? "-0.0" : "0.0";
  char buf[64];
  // The shortest digits that round-trip, as d.ddde±XX; Python lays them out by the exponent.
  auto r = std::to_chars(buf, buf + sizeof(buf), std::fabs(v), std::chars_format::scientific);
  std::string sci(buf, r.ptr);
  const size_t e_at = sci.find('e');
  std::string digits = sci.substr(0, e_at);
  digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
  const int exponent = std::stoi(sci.substr(e_at + 1));
  std::string out = v < 0 ? "-" : "";
  if (exponent < -4 || exponent >= 16) {
    out += digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    const int a = std::abs(exponent);
    out += absl::StrCat("e", exponent < 0 ? "-" : "+", a < 10 ? "0" : "", a);
  } else if (exponent >= 0) {
    if (static_cast<int>(digits.size()) <= exponent + 1) {
      out += digits + std::string(exponent + 1 - digits.size(), '0') + ".0";
    } else {
      out += digits.substr(0, exponent + 1) + "." + digits.substr(exponent + 1);
    }
  } else {
    out += "0." + std::string(-exponent - 1, '0') + digits;
  }
  return out;
}

// ---- AtomicOutput -----------------------------------------------------------------------------

absl::StatusOr<AtomicOutput> AtomicOutput::Open(const std::string& path) {
  if (path.empty()) return absl::InvalidArgumentError("an output path is required");
  UER_ASSIGN_OR_RETURN(std::unique_ptr<runtime::OutputFile> out, runtime::OutputFile::Create(path));
  return AtomicOutput(path, std::move(out));
}

absl::Status AtomicOutput::Write(std::string_view data) {
  out_->Write(data.data(), data.size());
  if (out_->failed()) return absl::DataLossError(absl::StrCat("cannot write ", path_));
  return absl::OkStatus();
}

absl::Status AtomicOutput::Commit() { return out_->Commit(); }

namespace {

absl::Status Save(const std::string& path, const StateDict& state) {
  if (absl::EndsWith(path, ".safetensors")) return runtime::SaveSafetensors(path, state);
  return runtime::SaveStateDict(path, state);
}

}  // namespace

std::string FirstPythonField(std::string_view line) {
  // Code points by their UTF-8 lead bytes; Python's str.split() splits at its whitespace.
  auto next = [&](size_t i, char32_t* cp) {
    const unsigned char c = static_cast<unsigned char>(line[i]);
    const size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 1;
    char32_t v = n == 1 ? c : n == 2 ? (c & 0x1f) : n == 3 ? (c & 0x0f) : (c & 0x07);
    for (size_t k = 1; k < n && i + k < line.size(); ++k) v = (v << 6) | (static_cast<unsigned char>(line[i + k]) & 0x3f);
    *cp = v;
    return std::min(n, line.size() - i);
  };
  size_t i = 0, begin = std::string_view::npos;
  while (i < line.size()) {
    char32_t cp;
    const size_t n = next(i, &cp);
    const bool space = core::IsPythonSpace(cp);
    if (begin == std::string_view::npos && !space) begin = i;
    if (begin != std::string_view::npos && space) return std::string(line.substr(begin, i - begin));
    i += n;
  }
  return begin == std::string_view::npos ? "" : std::string(line.substr(begin));
}

absl::Status ForEachWord(const std::string& path, const std::function<absl::Status(std::string, int64_t)>& fn) {
  return ForEachLine(path, [&](std::string_view line, int64_t number) { return fn(FirstPythonField(line), number); });
}

torch::Tensor Cosine(const torch::Tensor& a, const torch::Tensor& b) {
  torch::Tensor na = (a * a).sum(1, /*keepdim=*/true).sqrt().clamp_min(1e-8);
  torch::Tensor nb = (b * b).sum(1, /*keepdim=*/true).sqrt().clamp_min(1e-8);
  return ((a / na) * (b / nb)).sum(1);
}

namespace {

// A word list read as UER-py's Vocab.load reads a file: the first whitespace-separated field of
// each line, "???<index>" for a blank line.
absl::StatusOr<std::vector<std::string>> ReadWordList(const std::string& path) {
  std::vector<std::string> words;
  UER_RETURN_IF_ERROR(ForEachWord(path, [&](std::string word, int64_t number) -> absl::Status {
    words.push_back(word.empty() ? absl::StrCat("???", number - 1) : std::move(word));
    return absl::OkStatus();
  }));
  if (words.empty()) return absl::InvalidArgumentError(absl::StrCat(path, " is empty"));
  return words;
}

// The checkpoint's word embedding [V, E]: UER-py's seed or later key names, a DataParallel prefix,
// or HuggingFace's BERT (converted in memory).
absl::StatusOr<torch::Tensor> WordEmbedding(const std::string& path, const StateDict& raw) {
  StateDict state = raw;
  if (runtime::KeyGeneration(raw) == "huggingface") {
    runtime::KeyReport report;
    absl::StatusOr<StateDict> c = runtime::BertFromHuggingFace(raw, runtime::BertHeadsIn(raw), &report);
    if (!c.ok()) return absl::Status(c.status().code(), absl::StrCat(path, ": ", c.status().message()));
    state = *std::move(c);
  }
  // The embedding's tensor over the vocabulary, as the embedding plugins declare it.
  std::set<std::string> words;
  for (const std::string& k : runtime::VocabularyRowKeys()) {
    if (absl::StartsWith(k, "embedding.")) words.insert(k);
  }
  if (words.empty()) return absl::InternalError("no embedding plugin declares its rows over the vocabulary");
  for (const auto& [key, t] : state) {
    absl::string_view k = key;
    absl::ConsumePrefix(&k, "module.");
    if (words.count(std::string(k))) {
      if (t.dim() != 2) {
        return absl::InvalidArgumentError(absl::StrCat(path, ": ", key, " is ", c10::str(t.sizes()), ", not [vocab, emb]"));
      }
      return t.to(torch::kFloat32);
    }
  }
  return absl::InvalidArgumentError(
      absl::StrCat(path, " has no word embedding (", absl::StrJoin(words, " or "), ")"));
}

}  // namespace

absl::Status AverageModels(const AverageModelsOptions& o, std::ostream& out) {
  if (o.model_paths.size() < 2) {
    return absl::InvalidArgumentError("--model_list_path needs at least two checkpoints");
  }
  UER_ASSIGN_OR_RETURN(StateDict avg, runtime::LoadStateDict(o.model_paths[0]));
  if (avg.empty()) return absl::InvalidArgumentError(absl::StrCat(o.model_paths[0], " holds no tensors"));
  for (auto& [k, t] : avg) {
    if (t.is_floating_point()) t = t.to(torch::kFloat32).clone();
  }
  torch::NoGradGuard no_grad;
  for (size_t i = 1; i < o.model_paths.size(); ++i) {
    const std::string& path = o.model_paths[i];
    UER_ASSIGN_OR_RETURN(StateDict next, runtime::LoadStateDict(path));
    std::map<std::string, const torch::Tensor*> by_key;
    for (const auto& [k, t] : next) by_key[k] = &t;
    std::set<std::string> first_keys;
    for (const auto& [ak, at] : avg) first_keys.insert(ak);
    for (const auto& [k, t] : next) {
      if (!first_keys.count(k)) {
        return absl::InvalidArgumentError(absl::StrCat(path, " has the key ", k, ", which ", o.model_paths[0], " lacks"));
      }
    }
    for (auto& [k, a] : avg) {
      auto it = by_key.find(k);
      if (it == by_key.end()) {
        return absl::InvalidArgumentError(absl::StrCat(path, " lacks the key ", k, " of ", o.model_paths[0]));
      }
      const torch::Tensor& m = *it->second;
      if (m.sizes() != a.sizes()) {
        return absl::InvalidArgumentError(absl::StrCat(k, ": ", c10::str(a.sizes()), " in ", o.model_paths[0], " but ",
                                                       c10::str(m.sizes()), " in ", path));
      }
      if (m.is_floating_point() != a.is_floating_point()) {
        return absl::InvalidArgumentError(absl::StrCat(k, ": ", c10::toString(a.scalar_type()), " in ", o.model_paths[0],
                                                       " but ", c10::toString(m.scalar_type()), " in ", path));
      }
      if (!a.is_floating_point()) {
        if (!torch::equal(a, m.to(a.scalar_type()))) {
          return absl::InvalidArgumentError(absl::StrCat(k, ": integer tensors differ between ", o.model_paths[0], " and ",
                                                         path, " (they cannot be averaged)"));
        }
        continue;
      }
      // UER-py's order of operations, rounded in float32 at each step.
      a.mul_(static_cast<double>(i)).add_(m.to(torch::kFloat32)).div_(static_cast<double>(i + 1));
    }
  }
  UER_RETURN_IF_ERROR(Save(o.output_model_path, avg));
  out << "averaged " << o.model_paths.size() << " checkpoints (" << avg.size() << " tensors) into "
      << o.output_model_path << "\n";
  return absl::OkStatus();
}

absl::Status ConvertModulePrefix(const ModulePrefixOptions& o, std::ostream& out) {
  if (!o.delete_module_prefix && !o.add_module_prefix) {
    return absl::InvalidArgumentError("give --delete_module_prefix or --add_module_prefix");
  }
  if (o.output_model_path.empty()) return absl::InvalidArgumentError("--output_model_path is required");
  UER_ASSIGN_OR_RETURN(StateDict state, runtime::LoadStateDict(o.input_model_path));
  if (o.delete_module_prefix) {
    // The seed's test: every key must carry "module." (else it is already a single-GPU model).
    for (const auto& [k, t] : state) {
      if (!absl::StartsWith(k, "module.")) {
        out << "This model is already of Single-GPU version. Nothing changed.\n";
        return absl::OkStatus();
      }
    }
    for (auto& [k, t] : state) k = k.substr(7);
    UER_RETURN_IF_ERROR(Save(o.output_model_path, state));
    out << "A Single-GPU version model is created\n";
  }
  if (o.add_module_prefix) {
    for (const auto& [k, t] : state) {
      if (absl::StartsWith(k, "module.")) {
        out << "This model is already of Multi-GPU version. Nothing changed.\n";
        return absl::OkStatus();
      }
    }
    for (auto& [k, t] : state) k = "module." + k;
    UER_RETURN_IF_ERROR(Save(o.output_model_path, state));
    out << "A Multi-GPU version model is created\n";
  }
  return absl::OkStatus();
}

absl::Status ExtractEmbeddings(const ExtractEmbeddingsOptions& o, std::ostream& out) {
  UER_ASSIGN_OR_RETURN(core::Vocab vocab, core::Vocab::Load(o.vocab_path));
  // The words as UER-py's Vocab.load reads them ("???<index>" for a blank line).
  UER_ASSIGN_OR_RETURN(std::vector<std::string> words, ReadWordList(o.vocab_path));
  UER_ASSIGN_OR_RETURN(StateDict state, runtime::LoadStateDict(o.load_model_path));
  UER_ASSIGN_OR_RETURN(torch::Tensor emb, WordEmbedding(o.load_model_path, state));
  if (emb.size(0) < vocab.size()) {
    return absl::InvalidArgumentError(absl::StrCat(o.vocab_path, " has ", vocab.size(), " words but the embedding of ",
                                                   o.load_model_path, " has ", emb.size(0), " rows"));
  }
  emb = emb.contiguous();
  const float* data = emb.data_ptr<float>();
  const int64_t dims = emb.size(1);
  UER_ASSIGN_OR_RETURN(AtomicOutput file, AtomicOutput::Open(o.word_embedding_path));
  UER_RETURN_IF_ERROR(file.Write(absl::StrCat(emb.size(0), " ", dims, "\n")));
  std::string line;
  for (int64_t i = 0; i < vocab.size(); ++i) {
    line = words[i];
    for (int64_t d = 0; d < dims; ++d) {
      line += ' ';
      line += PythonFloatRepr(static_cast<double>(data[i * dims + d]));
    }
    line += '\n';
    UER_RETURN_IF_ERROR(file.Write(line));
  }
  UER_RETURN_IF_ERROR(file.Commit());
  out << "wrote " << vocab.size() << " words x " << dims << " dims to " << o.word_embedding_path << "\n";
  return absl::OkStatus();
}

absl::Status TopnWordsIndep(const TopnWordsIndepOptions& o, std::ostream& out) {
  if (o.topn < 1) return absl::InvalidArgumentError("--topn must be >= 1");
  UER_ASSIGN_OR_RETURN(core::Vocab vocab, core::Vocab::Load(o.vocab_path));
  UER_ASSIGN_OR_RETURN(std::vector<std::string> cands, ReadWordList(o.cand_vocab_path));
  UER_ASSIGN_OR_RETURN(StateDict state, runtime::LoadStateDict(o.load_model_path));
  UER_ASSIGN_OR_RETURN(torch::Tensor emb, WordEmbedding(o.load_model_path, state));
  if (emb.size(0) != vocab.size()) {
    return absl::InvalidArgumentError(absl::StrCat(o.vocab_path, " has ", vocab.size(), " words but the embedding of ",
                                                   o.load_model_path, " has ", emb.size(0), " rows"));
  }
  std::vector<int64_t> cand_ids;
  for (const std::string& w : cands) cand_ids.push_back(vocab.IdOrUnk(w));  // the seed: [UNK]'s row
  torch::Tensor cand = emb.index_select(0, torch::tensor(cand_ids, torch::kLong));
  torch::NoGradGuard no_grad;
  return ForEachWord(o.target_words_path, [&](std::string word, int64_t) -> absl::Status {
    if (word.empty()) return absl::OkStatus();  // the seed stops at a blank line (IndexError)
    out << "Target word: " << word << "\n";
    const int64_t id = vocab.Id(word);
    if (id < 0) {
      out << "The target word is not in the vocabulary.\n\n";  // the seed uses [UNK]'s row silently
      return absl::OkStatus();
    }
    torch::Tensor sims = Cosine(emb[id].view({1, -1}), cand);
    torch::Tensor order = torch::argsort(sims, /*dim=*/-1, /*descending=*/true);
    const int64_t end = std::min<int64_t>(o.topn + 1, order.size(0));
    for (int64_t r = 1; r < end; ++r) {
      const int64_t j = order[r].item<int64_t>();
      out << cands[j] << "\t" << PythonFloatRepr(static_cast<double>(sims[j].item<float>())) << "\n";
    }
    out << "\n";
    return absl::OkStatus();
  });
}

absl::Status AdaptVocab(const VocabAdapterOptions& o, std::ostream& out) {
  UER_ASSIGN_OR_RETURN(core::Vocab old_vocab, core::Vocab::Load(o.old_vocab_path));
  UER_ASSIGN_OR_RETURN(core::Vocab new_vocab, core::Vocab::Load(o.new_vocab_path));
  UER_ASSIGN_OR_RETURN(StateDict state, runtime::LoadStateDict(o.old_model_path));
  if (runtime::KeyGeneration(state) == "huggingface") {
    return absl::InvalidArgumentError(absl::StrCat(o.old_model_path, " holds HuggingFace's key names: convert it with "
                                                   "convert_bert_from_huggingface_to_uer first"));
  }
  // The tensors indexed by the vocabulary, as the plugins declare them, any key generation.
  const std::set<std::string> vocabulary_rows = runtime::VocabularyRowKeys();
  auto vocab_indexed = [&vocabulary_rows](absl::string_view k) {
    absl::ConsumePrefix(&k, "module.");
    return vocabulary_rows.count(std::string(k)) > 0;
  };
  std::vector<int64_t> old_rows(new_vocab.size(), -1);
  int64_t kept = 0;
  for (int64_t i = 0; i < new_vocab.size(); ++i) {
    old_rows[i] = old_vocab.Id(new_vocab.Token(i));
    kept += old_rows[i] >= 0;
  }
  torch::Tensor index = torch::tensor(old_rows, torch::kLong);
  torch::Tensor known = index.ge(0);
  torch::Generator gen = at::detail::createCPUGenerator(o.seed);
  std::vector<std::string> adapted, untouched;
  torch::NoGradGuard no_grad;
  for (auto& [k, t] : state) {
    if (t.dim() == 0 || t.size(0) != old_vocab.size() || !t.is_floating_point()) continue;
    if (!vocab_indexed(k)) {
      untouched.push_back(k);
      continue;
    }
    std::vector<int64_t> shape = t.sizes().vec();
    shape[0] = new_vocab.size();
    torch::Tensor fresh = torch::normal(0.0, 0.02, shape, gen, torch::TensorOptions().dtype(torch::kFloat64)).to(t.scalar_type());
    torch::Tensor copied = t.index_select(0, index.clamp_min(0));
    torch::Tensor mask = known.view({-1}).reshape({new_vocab.size()});
    std::vector<int64_t> view(t.dim(), 1);
    view[0] = new_vocab.size();
    t = torch::where(mask.view(view), copied, fresh);
    adapted.push_back(k);
  }
  if (adapted.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(o.old_model_path, " has no tensor of ", old_vocab.size(), " rows (",
                                                   o.old_vocab_path, "'s size) to adapt: do the model and the vocabulary match?"));
  }
  bool has_embedding = false;
  for (const std::string& k : adapted) has_embedding = has_embedding || absl::StrContains(k, "embedding");
  if (!has_embedding) {
    return absl::InvalidArgumentError(absl::StrCat(o.old_model_path, "'s word embedding does not have ", old_vocab.size(),
                                                   " rows (", o.old_vocab_path, "'s size)"));
  }
  UER_RETURN_IF_ERROR(Save(o.new_model_path, state));
  out << "adapted " << absl::StrJoin(adapted, ", ") << " from " << old_vocab.size() << " to " << new_vocab.size()
      << " words (" << kept << " kept, " << new_vocab.size() - kept << " new, drawn from N(0, 0.02) with seed " << o.seed
      << ")\n";
  if (!untouched.empty()) {
    out << "warning: left as they are, though they have " << old_vocab.size() << " rows: " << absl::StrJoin(untouched, ", ")
        << "\n";
  }
  out << "wrote " << o.new_model_path << "\n";
  return absl::OkStatus();
}

}  // namespace uer::apps
