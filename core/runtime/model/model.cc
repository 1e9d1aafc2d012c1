#include "core/runtime/model/model.h"

#include "core/runtime/interop.h"

#include <algorithm>
#include <optional>
#include <set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/match.h"
#include "absl/strings/strip.h"

namespace uer::runtime {
using namespace ::uer::core;  // NOLINT: the SDK types the runtime works with

namespace {

// subword_type's one kind (UER-py's --subword_type char; not the char tokenizer).
constexpr std::string_view kCharSubwords = "char";

// The code points of a UTF-8 string, as Python's iteration over a str gives them.
std::vector<std::string> CodePoints(const std::string& s) {
  std::vector<std::string> out;
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = s[i];
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 1;
    n = std::min(n, s.size() - i);
    out.push_back(s.substr(i, n));
    i += n;
  }
  return out;
}

torch::Tensor AddSubwords(torch::Tensor emb, const torch::Tensor& src, Subencoder* subencoder,
                          const SubwordTable& subwords) {
  if (subencoder == nullptr) return emb;
  TORCH_CHECK(!subwords.empty(), "the model has a subencoder but no subword table (--sub_vocab_path)");
  return emb + subencoder->Forward(subwords.Lookup(src)).contiguous().view(emb.sizes());
}

// Whether the config has subwords: false for "none", true for "char", an error naming the field
// otherwise.
absl::StatusOr<bool> HasSubwords(const v1::ModelConfig& config) {
  if (config.subword_type() == "none") return false;
  if (config.subword_type() == kCharSubwords) return true;
  return absl::InvalidArgumentError(absl::StrCat("field \"subword_type\" (--subword_type) must be none or char, got \"",
                                                 config.subword_type(), "\""));
}

// The subencoder of a subword config and the table it reads; neither without subwords.
struct SubwordParts {
  std::shared_ptr<Subencoder> subencoder;
  SubwordTable table;
};

absl::StatusOr<SubwordParts> MaybeSubencoder(const v1::ModelConfig& config, const BuildContext& ctx,
                                             const SubwordTable& subwords) {
  UER_ASSIGN_OR_RETURN(bool has, HasSubwords(config));
  if (!has) return SubwordParts();
  if (subwords.empty()) {
    return absl::InvalidArgumentError("subword_type char needs a sub vocabulary: --sub_vocab_path");
  }
  BuildContext sub = ctx;
  sub.sub_vocab_size = subwords.sub_vocab_size;
  UER_ASSIGN_OR_RETURN(std::shared_ptr<Subencoder> subencoder, CreateSubencoder(config, sub));
  return SubwordParts{std::move(subencoder), subwords};
}

// The model's slots: a plugin's keys sit under its kind's prefix (a task's at the top level).
constexpr const char* kSlotPrefixes[] = {"embedding.", "encoder.", "target.", "subencoder."};

// What a module plugin declares about its keys, under its slot's prefix.
struct SlotKeys {
  std::string prefix;
  std::vector<std::string> vocabulary_rows;  // relative to the prefix
  std::vector<OldKeyName> old_names;         // prefix included
};

template <typename F>
std::optional<SlotKeys> DeclaredAs(const FactoryBase* factory, const std::string& prefix) {
  const auto* f = dynamic_cast<const F*>(factory);
  if (f == nullptr) return std::nullopt;
  SlotKeys s{prefix, f->VocabularyRows(), {}};
  for (const OldKeyName& n : f->OldKeyNames()) s.old_names.push_back({n.generation, prefix + n.from, prefix + n.to});
  return s;
}

std::optional<SlotKeys> KeysOf(const FactoryBase* f) {
  if (auto s = DeclaredAs<EmbeddingFactory>(f, kSlotPrefixes[0])) return s;
  if (auto s = DeclaredAs<EncoderFactory>(f, kSlotPrefixes[1])) return s;
  if (auto s = DeclaredAs<TargetFactory>(f, kSlotPrefixes[2])) return s;
  if (auto s = DeclaredAs<SubencoderFactory>(f, kSlotPrefixes[3])) return s;
  return DeclaredAs<TaskFactory>(f, "");
}

// Every registered module plugin's declarations (all built-in plugins loaded).
std::vector<SlotKeys> AllSlotKeys() {
  registry::ResolveAll();
  std::vector<SlotKeys> out;
  for (const RegistryEntry& e : registry::List()) {
    if (std::optional<SlotKeys> s = KeysOf(e.factory)) out.push_back(*std::move(s));
  }
  return out;
}

// The old key names of the plugin `name` of kind F, under its slot.
template <typename F>
void AddOldKeyNames(const std::string& name, std::vector<OldKeyName>* out) {
  absl::StatusOr<const F*> f = FindFactory<F>(name);
  if (!f.ok()) return;
  if (std::optional<SlotKeys> s = KeysOf(*f)) out->insert(out->end(), s->old_names.begin(), s->old_names.end());
}

std::vector<OldKeyName> ModelOldKeyNames(const v1::ModelConfig& config, const std::string& target_or_task,
                                         bool task, bool subwords) {
  std::vector<OldKeyName> out;
  AddOldKeyNames<EmbeddingFactory>(config.embedding(), &out);
  AddOldKeyNames<EncoderFactory>(config.encoder(), &out);
  if (task) {
    AddOldKeyNames<TaskFactory>(target_or_task, &out);
  } else {
    AddOldKeyNames<TargetFactory>(target_or_task, &out);
  }
  if (subwords) AddOldKeyNames<SubencoderFactory>(config.subencoder(), &out);
  return out;
}

}  // namespace

torch::Tensor SubwordTable::Lookup(const torch::Tensor& src) const {
  torch::Tensor flat = src.reshape({-1}).to(torch::kCPU);
  const int64_t width = std::max<int64_t>(1, lengths.index_select(0, flat).max().item<int64_t>());
  return chars.index_select(0, flat).narrow(1, 0, width).to(src.device());
}

absl::StatusOr<SubwordTable> LoadSubwordTable(const v1::ModelConfig& config, const Vocab& vocab,
                                              const std::string& sub_vocab_path) {
  SubwordTable table;
  UER_ASSIGN_OR_RETURN(bool has, HasSubwords(config));
  if (!has) return table;
  if (sub_vocab_path.empty()) return absl::InvalidArgumentError("--subword_type char needs --sub_vocab_path (the characters' vocabulary)");
  absl::StatusOr<Vocab> sub = Vocab::Load(sub_vocab_path);
  if (!sub.ok()) return absl::Status(sub.status().code(), absl::StrCat("--sub_vocab_path: ", sub.status().message()));
  std::vector<std::vector<std::string>> words;
  int64_t longest = 1;
  for (const std::string& w : vocab.tokens()) {
    words.push_back(CodePoints(w));
    longest = std::max<int64_t>(longest, words.back().size());
  }
  table.sub_vocab_size = sub->size();
  table.chars = torch::zeros({vocab.size(), longest}, torch::kInt64);
  table.lengths = torch::zeros({vocab.size()}, torch::kInt64);
  auto chars = table.chars.accessor<int64_t, 2>();
  auto lengths = table.lengths.accessor<int64_t, 1>();
  for (int64_t i = 0; i < vocab.size(); ++i) {
    lengths[i] = words[i].size();
    for (size_t j = 0; j < words[i].size(); ++j) chars[i][j] = sub->IdOrUnk(words[i][j]);
  }
  UER_LOG(INFO) << "subwords: " << vocab.size() << " words as characters of " << sub_vocab_path << " ("
                << sub->size() << " entries, the longest word " << longest << ")";
  return table;
}

Model::Model(std::shared_ptr<Embedding> e, std::shared_ptr<Encoder> enc, std::shared_ptr<Target> t,
             std::shared_ptr<Subencoder> sub, SubwordTable table)
    : embedding(register_module("embedding", std::move(e))),
      encoder(register_module("encoder", std::move(enc))),
      target(register_module("target", std::move(t))),
      subwords(std::move(table)) {
  if (sub) subencoder = register_module("subencoder", std::move(sub));
}

torch::Tensor Model::Embed(const torch::Tensor& src, const torch::Tensor& seg) {
  return AddSubwords(embedding->Forward(src, seg), src, subencoder.get(), subwords);
}

TargetOutput Model::Forward(const torch::Tensor& src, const torch::Tensor& seg, const TensorMap& tgt) {
  if (encoder->skip_padding()) {
    torch::Tensor padding = seg == 0;
    for (const auto& [name, t] : tgt) {
      if (t.sizes() != seg.sizes() || name == "seg") continue;
      TORCH_CHECK(!(t > 0).logical_and_(padding).any().item<bool>(), "target input \"", name,
                  "\" is set at a padding position (seg == 0): the batch does not fit the target; run without skipping padding (pretrain --noskip_padding)");
    }
  }
  // The target also sees the segment ids, as "seg" (the s2s decoder starts at each row's last token).
  TensorMap in = tgt;
  in.emplace("seg", seg);
  return target->Forward(encoder->Forward(Embed(src, seg), seg), in);
}

bool Model::SkipPadding(bool on) {
  encoder->set_skip_padding(on && !target->ReadsPadding());
  return encoder->skip_padding();
}

absl::StatusOr<std::shared_ptr<Model>> BuildModel(const v1::ModelConfig& config, const BuildContext& ctx,
                                                  const SubwordTable& subwords) {
  UER_ASSIGN_OR_RETURN(auto embedding, CreateEmbedding(config, ctx));
  UER_ASSIGN_OR_RETURN(auto encoder, CreateEncoder(config, ctx));
  UER_ASSIGN_OR_RETURN(auto target, CreateTarget(config, ctx));
  UER_ASSIGN_OR_RETURN(SubwordParts sub, MaybeSubencoder(config, ctx, subwords));
  const bool has_subencoder = sub.subencoder != nullptr;
  auto model = std::make_shared<Model>(std::move(embedding), std::move(encoder), std::move(target),
                                       std::move(sub.subencoder), std::move(sub.table));
  model->old_key_names = ModelOldKeyNames(config, config.target(), /*task=*/false, has_subencoder);
  return model;
}

FinetuneModel::FinetuneModel(std::shared_ptr<Embedding> e, std::shared_ptr<Encoder> enc, std::shared_ptr<Task> t,
                             std::shared_ptr<Subencoder> sub, SubwordTable table)
    : embedding(register_module("embedding", std::move(e))),
      encoder(register_module("encoder", std::move(enc))),
      task(std::move(t)),
      subwords(std::move(table)) {
  // The task's own layers, not the task, are this module's children: their keys are top-level.
  for (const auto& child : task->named_children()) register_module(child.key(), child.value());
  for (const auto& p : task->named_parameters(/*recurse=*/false)) register_parameter(p.key(), p.value());
  if (sub) subencoder = register_module("subencoder", std::move(sub));
}

torch::Tensor FinetuneModel::Embed(const torch::Tensor& src, const torch::Tensor& seg) {
  return AddSubwords(embedding->Forward(src, seg), src, subencoder.get(), subwords);
}

TargetOutput FinetuneModel::Forward(const torch::Tensor& src, const torch::Tensor& seg, const TensorMap& inputs) {
  TensorMap in = inputs;
  in["seg"] = seg;
  return task->Forward(encoder->Forward(Embed(src, seg), seg), in);
}

void FinetuneModel::train(bool on) {
  torch::nn::Module::train(on);
  task->train(on);
}

absl::StatusOr<std::shared_ptr<FinetuneModel>> BuildFinetuneModel(const v1::ModelConfig& config,
                                                                  const std::string& task, const BuildContext& ctx,
                                                                  const SubwordTable& subwords) {
  UER_ASSIGN_OR_RETURN(auto embedding, CreateEmbedding(config, ctx));
  UER_ASSIGN_OR_RETURN(auto encoder, CreateEncoder(config, ctx));
  UER_ASSIGN_OR_RETURN(auto head, CreateTask(task, config, ctx));
  UER_ASSIGN_OR_RETURN(SubwordParts sub, MaybeSubencoder(config, ctx, subwords));
  const bool has_subencoder = sub.subencoder != nullptr;
  auto model = std::make_shared<FinetuneModel>(std::move(embedding), std::move(encoder), std::move(head),
                                               std::move(sub.subencoder), std::move(sub.table));
  model->old_key_names = ModelOldKeyNames(config, task, /*task=*/true, has_subencoder);
  return model;
}

void InitWeights(torch::nn::Module* model, double std, uint64_t seed) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(seed);
  for (auto& p : model->named_parameters()) {
    if (absl::StrContains(p.key(), "gamma") || absl::StrContains(p.key(), "beta")) continue;
    p.value().normal_(0, std);
  }
}

namespace {

// The generation of `state` among the old key names `old`.
std::string GenerationOf(const StateDict& state, const std::vector<OldKeyName>& old) {
  if (IsHuggingFaceBert(state)) return "huggingface";
  std::set<std::string> generations;
  bool uer = false;
  for (const auto& [key, value] : state) {
    absl::string_view k = key;
    absl::ConsumePrefix(&k, "module.");
    for (const OldKeyName& n : old) {
      if (absl::StartsWith(k, n.from)) generations.insert(n.generation);
    }
    uer = uer || std::any_of(std::begin(kSlotPrefixes), std::end(kSlotPrefixes),
                             [&](const char* p) { return absl::StartsWith(k, p); });
  }
  if (!generations.empty()) return absl::StrJoin(generations, "+");
  return uer ? "uer-seed" : "unknown";
}

// The old key names of a model's own plugins (none for another module).
std::vector<OldKeyName> OldKeyNamesOf(const torch::nn::Module& model) {
  if (const auto* m = dynamic_cast<const Model*>(&model)) return m->old_key_names;
  if (const auto* f = dynamic_cast<const FinetuneModel*>(&model)) return f->old_key_names;
  return {};
}

}  // namespace

std::string KeyGeneration(const StateDict& state) {
  std::vector<OldKeyName> old;
  for (const SlotKeys& slot : AllSlotKeys()) old.insert(old.end(), slot.old_names.begin(), slot.old_names.end());
  return GenerationOf(state, old);
}

std::set<std::string> VocabularyRowKeys() {
  std::set<std::string> keys;
  for (const SlotKeys& slot : AllSlotKeys()) {
    for (const std::string& row : slot.vocabulary_rows) {
      const std::string key = slot.prefix + row;
      keys.insert(key);
      for (const OldKeyName& n : slot.old_names) {  // the row's older names
        if (absl::StartsWith(key, n.to)) keys.insert(n.from + key.substr(n.to.size()));
      }
    }
  }
  return keys;
}

StateDict UpgradeKeys(const torch::nn::Module& model, StateDict state) {
  const std::vector<OldKeyName> old = OldKeyNamesOf(model);
  for (auto& [key, value] : state) {
    if (absl::StartsWith(key, "module.")) key = key.substr(7);  // a DataParallel/DDP wrapper
    for (const OldKeyName& n : old) {
      if (absl::StartsWith(key, n.from)) {
        key = n.to + key.substr(n.from.size());
        break;
      }
    }
  }
  return state;
}

StateDict ModelStateDict(const torch::nn::Module& model) {
  StateDict out;
  for (const auto& p : model.named_parameters()) out.emplace_back(p.key(), p.value());
  for (const auto& b : model.named_buffers()) out.emplace_back(b.key(), b.value());
  return out;
}

absl::StatusOr<std::string> LoadModelWeights(torch::nn::Module* model, const std::string& path,
                                             const LoadOptions& options) {
  UER_ASSIGN_OR_RETURN(StateDict state, LoadStateDict(path));
  return LoadModelWeights(model, state, path, options);
}

absl::StatusOr<std::string> LoadModelWeights(torch::nn::Module* model, const StateDict& raw,
                                             const std::string& name, const LoadOptions& options) {
  // The model's own plugins' old names: KeyGeneration would load every built-in plugin to ask them.
  const std::string generation = GenerationOf(raw, OldKeyNamesOf(*model));
  StateDict converted;
  if (generation == "huggingface") {
    // HuggingFace's BERT names, converted in memory (nothing written), with whichever heads it has.
    KeyReport report;
    absl::StatusOr<StateDict> c = BertFromHuggingFace(raw, BertHeadsIn(raw), &report);
    if (!c.ok()) return absl::Status(c.status().code(), absl::StrCat(name, ": ", c.status().message()));
    UER_LOG(INFO) << name << ": HuggingFace's BERT keys converted in memory: " << report.Summary();
    converted = *std::move(c);
  }
  StateDict state = UpgradeKeys(*model, generation == "huggingface" ? converted : raw);
  std::map<std::string, torch::Tensor> file;
  for (const auto& [k, v] : state) file[k] = v;
  std::vector<std::string> missing, unexpected, mismatched;
  std::set<std::string> used;
  torch::NoGradGuard no_grad;
  std::vector<std::pair<torch::Tensor, torch::Tensor>> copies;
  auto visit = [&](const std::string& key, torch::Tensor& target) {
    auto it = file.find(key);
    if (it == file.end()) {
      if (options.allow_missing_target && absl::StartsWith(key, "target.")) return;
      for (const std::string& prefix : options.missing_ok_prefixes) {
        if (absl::StartsWith(key, prefix)) return;
      }
      missing.push_back(key);
      return;
    }
    used.insert(key);
    if (it->second.sizes() != target.sizes()) {
      mismatched.push_back(absl::StrCat(key, ": checkpoint ", c10::str(it->second.sizes()), " vs model ",
                                        c10::str(target.sizes())));
      return;
    }
    copies.emplace_back(target, it->second);
  };
  for (auto& p : model->named_parameters()) visit(p.key(), p.value());
  for (auto& b : model->named_buffers()) visit(b.key(), b.value());
  for (const auto& [k, v] : file) {
    if (used.count(k)) continue;
    if (options.allow_unexpected_target && absl::StartsWith(k, "target.")) continue;
    unexpected.push_back(k);
  }
  if (!missing.empty() || !unexpected.empty() || !mismatched.empty()) {
    std::vector<std::string> parts;
    if (!mismatched.empty()) parts.push_back(absl::StrCat("shape mismatches: ", absl::StrJoin(mismatched, "; ")));
    if (!missing.empty()) parts.push_back(absl::StrCat("missing keys: ", absl::StrJoin(missing, ", ")));
    if (!unexpected.empty()) parts.push_back(absl::StrCat("unexpected keys: ", absl::StrJoin(unexpected, ", ")));
    return absl::InvalidArgumentError(absl::StrCat(name, " (", generation, " keys) does not match the model: ",
                                                   absl::StrJoin(parts, ". "),
                                                   ". Check --config_path, --vocab_path and the embedding/encoder/target flags"));
  }
  for (auto& [dst, src] : copies) dst.copy_(src.to(dst.dtype()));
  return generation;
}

}  // namespace uer::runtime
