// The model tools of core/runtime/apps/toolbox.h: extract_features, cloze_test, topn_words_dep, generate.
// Each builds the model its config describes, loads a checkpoint (any format LoadStateDict reads)
// and runs it in eval mode without gradients.
#include <chrono>
#include <cmath>

#include <torch/torch.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "core/log.h"
#include "core/python_random.h"
#include "core/runtime/device.h"
#include "core/runtime/checkpoint.h"
#include "core/runtime/model/loaded_model.h"
#include "core/runtime/progress.h"
#include "core/runtime/trainer.h"
#include "core/status_macros.h"
#include "core/tokenizer.h"
#include "core/runtime/apps/toolbox.h"
#include "core/runtime/apps/vocab_tools.h"

namespace uer::apps {
namespace {

using TokenPrediction = core::Target::TokenPrediction;

using runtime::LoadedModel;
using runtime::LoadModel;

absl::Status CheckLength(const LoadedModel& m, int64_t seq_length) {
  if (seq_length < 2) return absl::InvalidArgumentError("--seq_length must be >= 2");
  return runtime::CheckSeqLength(*m.model->embedding, seq_length);
}

}  // namespace

absl::Status ExtractFeatures(const ExtractFeaturesOptions& o, std::ostream& out) {
  UER_RETURN_IF_ERROR(runtime::CheckPooling(o.pooling, /*allow_none=*/true, "--pooling"));
  if (o.batch_size < 1) return absl::InvalidArgumentError("--batch_size must be >= 1");
  UER_ASSIGN_OR_RETURN(LoadedModel m, LoadModel(o.model, /*need_target=*/false));
  UER_RETURN_IF_ERROR(CheckLength(m, o.seq_length));
  std::vector<std::vector<int64_t>> rows;
  UER_RETURN_IF_ERROR(ForEachLine(o.input_path, [&](std::string_view line, int64_t) -> absl::Status {
    std::vector<int64_t> ids = m.ClsAndTokens(line);
    if (!ids.empty()) rows.push_back(std::move(ids));
    return absl::OkStatus();
  }));
  if (rows.empty()) return absl::InvalidArgumentError(absl::StrCat(o.input_path, " has no line with a token"));
  auto [src, seg] = runtime::PadRows(rows, o.seq_length, m.text.vocab->pad_id());
  std::vector<torch::Tensor> parts;
  torch::NoGradGuard no_grad;
  runtime::AutocastGuard autocast(m.precision, torch::kCPU);  // --precision
  UER_RETURN_IF_ERROR(runtime::CatchTorchErrors([&]() -> absl::Status {
    runtime::Progress progress("extract_features", src.size(0), runtime::Progress::Unit::kItems, "rows");
    for (int64_t b = 0; b < src.size(0); b += o.batch_size) {
      progress.Update(b);
      torch::Tensor s = src.slice(0, b, b + o.batch_size), g = seg.slice(0, b, b + o.batch_size);
      // The seed's [N, L, H] holds the states at the padding too, which depend on it: computed whole.
      torch::Tensor h = m.Encode(s, g, /*trim=*/o.pooling != "none");
      parts.push_back(runtime::PoolHidden(h, g, o.pooling).contiguous());
    }
    return absl::OkStatus();
  }));
  torch::Tensor features = torch::cat(parts, 0);
  UER_RETURN_IF_ERROR(runtime::SaveTensor(o.output_path, features));
  out << "The number of sentences: " << features.size(0) << "\n";
  return absl::OkStatus();
}

absl::Status ClozeTest(const ClozeTestOptions& o, std::ostream& out) {
  if (o.topn < 1) return absl::InvalidArgumentError("--topn must be >= 1");
  if (o.batch_size < 1) return absl::InvalidArgumentError("--batch_size must be >= 1");
  UER_ASSIGN_OR_RETURN(LoadedModel m, LoadModel(o.model, /*need_target=*/true));
  UER_RETURN_IF_ERROR(CheckLength(m, o.seq_length));
  if (m.model->target->Predicts() != TokenPrediction::kMaskedToken) {
    return absl::InvalidArgumentError(absl::StrCat("cloze_test needs a target whose head predicts masked tokens (mlm, bert); "
                                                   "target \"", o.model.config.target(), "\" does not"));
  }
  const int64_t topn = std::min<int64_t>(o.topn, m.text.vocab->size());
  core::PythonRandom rng(o.seed);
  std::vector<std::vector<int64_t>> rows;
  std::vector<int64_t> positions, labels;
  UER_RETURN_IF_ERROR(ForEachLine(o.input_path, [&](std::string_view line, int64_t) -> absl::Status {
    const absl::string_view stripped = absl::StripAsciiWhitespace(absl::string_view(line.data(), line.size()));
    std::vector<int64_t> ids = m.ClsAndTokens(std::string_view(stripped.data(), stripped.size()));
    if (ids.empty()) return absl::OkStatus();
    const int64_t end = std::min<int64_t>(static_cast<int64_t>(ids.size()), o.seq_length);
    const int64_t pos = rng.RandInt(1, end - 1);  // the seed's random.randint(1, end - 1)
    labels.push_back(ids[pos]);
    ids[pos] = m.text.vocab->mask_id();
    positions.push_back(pos);
    rows.push_back(std::move(ids));
    return absl::OkStatus();
  }));
  if (rows.empty()) return absl::InvalidArgumentError(absl::StrCat(o.input_path, " has no line with a token"));
  auto [src, seg] = runtime::PadRows(rows, o.seq_length, m.text.vocab->pad_id());
  UER_ASSIGN_OR_RETURN(AtomicOutput file, AtomicOutput::Open(o.output_path));
  torch::NoGradGuard no_grad;
  runtime::AutocastGuard autocast(m.precision, torch::kCPU);  // --precision
  int64_t top1 = 0;
  std::string text;
  UER_RETURN_IF_ERROR(runtime::CatchTorchErrors([&]() -> absl::Status {
    for (int64_t b = 0; b < src.size(0); b += o.batch_size) {
      torch::Tensor s = src.slice(0, b, b + o.batch_size), g = seg.slice(0, b, b + o.batch_size);
      torch::Tensor h = m.Encode(s, g, /*trim=*/true);
      torch::Tensor pos = torch::tensor(std::vector<int64_t>(positions.begin() + b, positions.begin() + b + s.size(0)));
      torch::Tensor at = h.gather(1, pos.view({-1, 1, 1}).expand({-1, 1, h.size(2)})).squeeze(1);  // [b, H]
      torch::Tensor best = std::get<1>(torch::topk(m.model->target->TokenLogits(at), topn, -1));
      for (int64_t j = 0; j < s.size(0); ++j) {
        text.clear();
        for (int64_t i = 0; i < o.seq_length; ++i) {
          const int64_t id = s[j][i].item<int64_t>();
          if (id != m.text.vocab->pad_id()) text += m.text.vocab->Token(id);
        }
        text += "\nPredicted answer:";
        for (int64_t k = 0; k < topn; ++k) text += " " + m.text.vocab->Token(best[j][k].item<int64_t>());
        text += "\nCorrect answer: " + m.text.vocab->Token(labels[b + j]) + "\n\n";
        top1 += best[j][0].item<int64_t>() == labels[b + j];
        UER_RETURN_IF_ERROR(file.Write(text));
      }
    }
    return absl::OkStatus();
  }));
  UER_RETURN_IF_ERROR(file.Commit());
  out << "cloze test of " << rows.size() << " lines: top-1 right on " << top1 << " ("
      << absl::StrCat(100.0 * top1 / rows.size()) << "%), written to " << o.output_path << "\n";
  return absl::OkStatus();
}

absl::Status TopnWordsDep(const TopnWordsDepOptions& o, std::ostream& console) {
  if (o.topn < 1) return absl::InvalidArgumentError("--topn must be >= 1");
  if (o.batch_size < 1) return absl::InvalidArgumentError("--batch_size must be >= 1");
  UER_ASSIGN_OR_RETURN(LoadedModel m, LoadModel(o.model, /*need_target=*/false));
  UER_RETURN_IF_ERROR(CheckLength(m, o.seq_length));
  // Candidates: the seed's Vocab.load of the file; words the model's vocabulary lacks are left out
  // (the seed crashes on them).
  std::vector<std::string> cands;
  std::vector<int64_t> cand_ids;
  int64_t unknown = 0;
  UER_RETURN_IF_ERROR(ForEachWord(o.cand_vocab_path, [&](std::string word, int64_t) -> absl::Status {
    const int64_t id = word.empty() ? -1 : m.text.vocab->Id(word);
    if (id < 0) {
      ++unknown;
      return absl::OkStatus();
    }
    cands.push_back(std::move(word));
    cand_ids.push_back(id);
    return absl::OkStatus();
  }));
  if (cands.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(o.cand_vocab_path, " has no word of ", o.model.vocab_path));
  }
  std::optional<AtomicOutput> file;
  std::ostringstream buffer;
  std::ostream& out = o.output_path.empty() ? console : buffer;
  if (!o.output_path.empty()) {
    UER_ASSIGN_OR_RETURN(AtomicOutput f, AtomicOutput::Open(o.output_path));
    file.emplace(std::move(f));
  }
  out << "length of candidate vocab: " << cands.size() << "\n";
  if (unknown > 0) UER_LOG(WARNING) << unknown << " candidates of " << o.cand_vocab_path << " are not in the vocabulary: left out";
  torch::NoGradGuard no_grad;
  runtime::AutocastGuard autocast(m.precision, torch::kCPU);  // --precision
  UER_RETURN_IF_ERROR(ForEachLine(o.sent_path, [&](std::string_view raw, int64_t number) -> absl::Status {
    std::vector<std::string> fields =
        absl::StrSplit(absl::StripAsciiWhitespace(absl::string_view(raw.data(), raw.size())), '\t');
    if (fields.size() != 2) return absl::OkStatus();  // the seed skips other lines
    const std::string& sentence = fields[0];
    const std::string& word = fields[1];
    out << "Original sentence: \n" << sentence << "\nTarget word: " << word << "\n";
    std::vector<int64_t> ids = m.text.tokenizer->ConvertTokensToIds(m.text.tokenizer->Tokenize(sentence));
    ids.insert(ids.begin(), m.text.vocab->cls_id());
    if (static_cast<int64_t>(ids.size()) > o.seq_length) ids.resize(o.seq_length);
    const int64_t word_id = m.text.vocab->IdOrUnk(word);
    if (word_id == m.text.vocab->unk_id()) {
      out << "The candidate word is UNK in vocab.\n";
      return absl::OkStatus();
    }
    const auto found = std::find(ids.begin() + 1, ids.end(), word_id);
    if (found == ids.end()) {
      out << "The target word is not in the sentence.\n";
      return absl::OkStatus();
    }
    const int64_t position = found - ids.begin();
    auto [src, seg] = runtime::PadRows({ids}, o.seq_length, m.text.vocab->pad_id());
    torch::Tensor target, states;
    std::vector<torch::Tensor> cand_states;
    UER_RETURN_IF_ERROR(runtime::CatchTorchErrors([&]() -> absl::Status {
      target = m.Encode(src, seg, /*trim=*/true)[0][position];
      for (size_t b = 0; b < cand_ids.size(); b += o.batch_size) {
        const int64_t n = std::min<int64_t>(o.batch_size, static_cast<int64_t>(cand_ids.size() - b));
        torch::Tensor s = src.repeat({n, 1});
        s.select(1, position).copy_(torch::tensor(std::vector<int64_t>(cand_ids.begin() + b, cand_ids.begin() + b + n)));
        cand_states.push_back(m.Encode(s, seg.repeat({n, 1}), /*trim=*/true).select(1, position));
      }
      return absl::OkStatus();
    }));
    torch::Tensor sims = Cosine(target.view({1, -1}), torch::cat(cand_states, 0));
    torch::Tensor order = torch::argsort(sims, -1, /*descending=*/true);
    const int64_t end = std::min<int64_t>(o.topn + 1, order.size(0));
    for (int64_t r = 1; r < end; ++r) {
      const int64_t j = order[r].item<int64_t>();
      out << cands[j] << "\t" << PythonFloatRepr(static_cast<double>(sims[j].item<float>())) << "\n";
    }
    (void)number;
    return absl::OkStatus();
  }));
  if (file) {
    UER_RETURN_IF_ERROR(file->Write(buffer.str()));
    UER_RETURN_IF_ERROR(file->Commit());
  }
  return absl::OkStatus();
}

absl::StatusOr<GenerateStats> Generate(const GenerateOptions& o, std::ostream& out) {
  if (!o.greedy && !(o.temperature > 0)) return absl::InvalidArgumentError("--temperature must be > 0");
  if (o.top_k < 0) return absl::InvalidArgumentError("--top_k must be >= 0");
  if (o.top_p < 0 || o.top_p > 1) return absl::InvalidArgumentError("--top_p must be in [0, 1]");
  UER_ASSIGN_OR_RETURN(LoadedModel m, LoadModel(o.model, /*need_target=*/true));
  UER_RETURN_IF_ERROR(CheckLength(m, o.seq_length));
  runtime::Model& model = *m.model;
  if (model.target->Predicts() != TokenPrediction::kNextToken) {
    return absl::InvalidArgumentError(absl::StrCat("generate needs a target that predicts the next token (lm); target \"",
                                                   o.model.config.target(), "\" does not"));
  }
  const bool cached = model.encoder->Incremental() && !o.no_cache;
  UER_LOG(INFO) << (cached ? "decoding with the encoder's key/value cache" : "recomputing the whole prefix at each token");
  torch::Generator gen = at::detail::createCPUGenerator(o.seed);
  UER_ASSIGN_OR_RETURN(AtomicOutput file, AtomicOutput::Open(o.output_path));
  GenerateStats stats;
  const auto start = std::chrono::steady_clock::now();
  torch::NoGradGuard no_grad;
  runtime::AutocastGuard autocast(m.precision, torch::kCPU);  // --precision
  runtime::Progress progress("generate", 0, runtime::Progress::Unit::kItems, "lines");
  UER_RETURN_IF_ERROR(ForEachLine(o.input_path, [&](std::string_view raw, int64_t number) -> absl::Status {
    if (progress.enabled()) {
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      progress.Update(stats.lines, absl::StrFormat("%.1f tokens/s", seconds > 0 ? stats.new_tokens / seconds : 0.0));
    }
    const std::string line(absl::StripAsciiWhitespace(absl::string_view(raw.data(), raw.size())));
    std::vector<int64_t> ids = m.text.tokenizer->ConvertTokensToIds(m.text.tokenizer->Tokenize(line));
    if (ids.empty()) {
      UER_LOG(WARNING) << o.input_path << ":" << number << ": no token to continue; line left out";
      return absl::OkStatus();
    }
    if (static_cast<int64_t>(ids.size()) > o.seq_length) ids.resize(o.seq_length);
    std::vector<torch::Tensor> cache;
    int64_t seen = 0;
    UER_RETURN_IF_ERROR(runtime::CatchTorchErrors([&]() -> absl::Status {
      while (static_cast<int64_t>(ids.size()) < o.seq_length) {
        const int64_t n = static_cast<int64_t>(ids.size());
        torch::Tensor src = torch::tensor(ids, torch::kLong).view({1, n});
        torch::Tensor seg = torch::ones({1, n}, torch::kLong);
        torch::Tensor last;
        if (cached) {
          torch::Tensor emb = model.Embed(src, seg).slice(1, seen);
          last = model.encoder->ForwardIncremental(emb, &cache)[0][-1];
          seen = n;
        } else {
          last = model.encoder->Forward(model.Embed(src, seg), seg)[0][-1];
        }
        torch::Tensor logits = model.target->TokenLogits(last).to(torch::kFloat32);
        if (o.seed_gelu_bug) logits = torch::gelu(logits);
        int64_t next;
        if (o.greedy) {
          next = logits.argmax().item<int64_t>();
        } else {
          logits = logits / o.temperature;
          // The seed's top_k_top_p_filtering.
          const int64_t k = std::min<int64_t>(o.top_k, logits.size(0));
          if (k > 0) {
            torch::Tensor kth = std::get<0>(torch::topk(logits, k)).index({k - 1});
            logits = logits.masked_fill(logits < kth, -std::numeric_limits<float>::infinity());
          }
          if (o.top_p > 0) {
            auto [sorted, order] = torch::sort(logits, -1, /*descending=*/true);
            torch::Tensor remove = torch::cumsum(torch::softmax(sorted, -1), -1) > o.top_p;
            remove = torch::cat({torch::zeros({1}, remove.options()), remove.slice(0, 0, -1)});
            logits = logits.index_fill(0, order.masked_select(remove), -std::numeric_limits<float>::infinity());
          }
          next = torch::multinomial(torch::softmax(logits, -1), 1, false, gen).item<int64_t>();
        }
        if (next == m.text.vocab->sep_id()) break;
        ids.push_back(next);
        ++stats.new_tokens;
      }
      return absl::OkStatus();
    }));
    std::string text = line + "\n";
    for (int64_t id : ids) text += m.text.vocab->Token(id);
    text += "\n";
    ++stats.lines;
    return file.Write(text);
  }));
  UER_RETURN_IF_ERROR(file.Commit());
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  out << "generated " << stats.new_tokens << " tokens for " << stats.lines << " lines in " << stats.seconds << " s ("
      << (stats.seconds > 0 ? stats.new_tokens / stats.seconds : 0) << " tokens/s"
      << (cached ? ", key/value cache" : ", no cache") << "): " << o.output_path << "\n";
  return stats;
}

}  // namespace uer::apps
