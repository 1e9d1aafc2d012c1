#include "core/runtime/interop.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>
#include <torch/types.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/log.h"
#include "core/plugin_api.h"
#include "core/runtime/checkpoint.h"
#include "core/runtime/checksum.h"
#include "core/runtime/file_io.h"
#include "core/runtime/io/guard.h"

namespace uer::runtime {
namespace {

namespace fs = std::filesystem;
using io::Guarded;
using nlohmann::json;

}  // namespace

namespace {
absl::StatusOr<StateDict> LoadHuggingFaceFolderUnguarded(const std::string& folder);
}  // namespace

absl::StatusOr<StateDict> LoadHuggingFaceFolder(const std::string& folder) {
  return Guarded(folder, [&] { return LoadHuggingFaceFolderUnguarded(folder); });
}

namespace {
absl::StatusOr<StateDict> LoadHuggingFaceFolderUnguarded(const std::string& folder) {
  const fs::path dir(folder);
  std::error_code ec;
  if (fs::exists(dir / "model.safetensors", ec)) return LoadSafetensors((dir / "model.safetensors").string());
  for (const char* index_name : {"model.safetensors.index.json", "pytorch_model.bin.index.json"}) {
    const fs::path index = dir / index_name;
    if (!fs::exists(index, ec)) continue;
    std::ifstream in(index);
    json j = json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.contains("weight_map") || !j["weight_map"].is_object()) {
      return absl::DataLossError(absl::StrCat(index.string(), ": not a sharded checkpoint index (no weight_map)"));
    }
    std::map<std::string, std::string> where;  // tensor -> shard
    std::vector<std::string> shards;
    for (auto it = j["weight_map"].begin(); it != j["weight_map"].end(); ++it) {
      const std::string shard = it.value().get<std::string>();
      if (shard.find('/') != std::string::npos) {
        return absl::InvalidArgumentError(absl::StrCat(index.string(), ": shard \"", shard, "\" lies outside the folder"));
      }
      where[it.key()] = shard;
      if (std::find(shards.begin(), shards.end(), shard) == shards.end()) shards.push_back(shard);
    }
    StateDict out;
    for (const std::string& shard : shards) {
      const std::string p = (dir / shard).string();
      absl::StatusOr<StateDict> part = absl::EndsWith(shard, ".safetensors") ? LoadSafetensors(p) : LoadStateDict(p);
      if (!part.ok()) return part.status();
      for (auto& kv : *part) {
        auto w = where.find(kv.first);
        if (w != where.end() && w->second == shard) {
          out.push_back(std::move(kv));
          where.erase(w);
        }
      }
    }
    if (!where.empty()) {
      return absl::DataLossError(absl::StrCat(index.string(), ": tensor \"", where.begin()->first, "\" is not in its shard ",
                                              where.begin()->second));
    }
    return out;
  }
  if (fs::exists(dir / "pytorch_model.bin", ec)) return LoadStateDict((dir / "pytorch_model.bin").string());
  return absl::NotFoundError(absl::StrCat(folder, " holds no model.safetensors, model.safetensors.index.json or "
                                                  "pytorch_model.bin (not a HuggingFace model folder)"));
}
}  // namespace

// ---- BERT keys ----------------------------------------------------------------------------------

std::string KeyReport::Summary() const {
  auto list = [](const std::vector<std::string>& v) {
    if (v.empty()) return std::string();
    std::vector<std::string> head(v.begin(), v.begin() + std::min<size_t>(v.size(), 6));
    return absl::StrCat(" (", absl::StrJoin(head, ", "), v.size() > 6 ? ", ..." : "", ")");
  };
  std::string s = absl::StrCat("mapped ", mapped.size(), ", dropped ", dropped.size(), list(dropped), ", absent ",
                               absent.size(), list(absent));
  for (const std::string& n : notes) absl::StrAppend(&s, "; ", n);
  return s;
}

namespace {

// A HuggingFace key without a "module." wrapper or the "bert." prefix, LayerNorm's old gamma/beta
// named weight/bias.
std::string NormalizedHfKey(std::string k) {
  if (absl::StartsWith(k, "module.")) k = k.substr(7);
  if (absl::StartsWith(k, "bert.")) k = k.substr(5);
  if (absl::EndsWith(k, "LayerNorm.gamma")) k = k.substr(0, k.size() - 5) + "weight";
  if (absl::EndsWith(k, "LayerNorm.beta")) k = k.substr(0, k.size() - 4) + "bias";
  return k;
}

// --target none: the embeddings and the encoder alone (transformers' BertModel).
constexpr char kNoHead[] = "none";

// The target or task plugins that declare a HuggingFace head (all built-in plugins loaded), sorted.
std::vector<std::pair<std::string, core::HuggingFaceHead>> DeclaredHeads(core::PluginKind kind) {
  core::registry::ResolveAll();
  std::vector<std::pair<std::string, core::HuggingFaceHead>> out;
  for (const core::RegistryEntry& e : core::registry::List()) {
    if (e.kind != kind) continue;
    std::optional<core::HuggingFaceHead> head;
    if (const auto* t = dynamic_cast<const core::TargetFactory*>(e.factory)) head = t->HuggingFaceBertHead();
    if (const auto* t = dynamic_cast<const core::TaskFactory*>(e.factory)) head = t->HuggingFaceBertHead();
    if (head) out.emplace_back(e.name, *std::move(head));
  }
  return out;
}

// The head of `target`, a target or task plugin's name, as the plugin declares it; none: no head.
absl::StatusOr<core::HuggingFaceHead> HeadOf(const std::string& target) {
  if (target == kNoHead) {
    core::HuggingFaceHead none;
    none.architecture = "BertModel";
    return none;
  }
  std::optional<core::HuggingFaceHead> head;
  if (auto t = core::FindFactory<core::TargetFactory>(target); t.ok()) {
    head = (*t)->HuggingFaceBertHead();
  } else if (auto k = core::FindFactory<core::TaskFactory>(target); k.ok()) {
    head = (*k)->HuggingFaceBertHead();
  }
  if (head) return *std::move(head);
  std::vector<std::string> names;
  for (core::PluginKind kind : {core::PluginKind::kTarget, core::PluginKind::kTask}) {
    for (const auto& [name, h] : DeclaredHeads(kind)) names.push_back(absl::StrCat(name, " (", h.architecture, ")"));
  }
  return absl::InvalidArgumentError(absl::StrCat("--target ", target, ": a BERT conversion handles none (embeddings and "
                                                 "encoder alone) and the targets and tasks with a HuggingFace head: ",
                                                 absl::StrJoin(names, ", ")));
}

// The body of a BERT conversion with `layers` layers: the default config's embedding and encoder
// (UER-py's), as they declare themselves.
absl::StatusOr<core::HuggingFaceKeys> BertBody(int64_t layers) {
  core::v1::ModelConfig c;
  c.set_layers_num(static_cast<int32_t>(layers));
  UER_ASSIGN_OR_RETURN(const core::EmbeddingFactory* embedding, core::FindFactory<core::EmbeddingFactory>(c.embedding()));
  UER_ASSIGN_OR_RETURN(const core::EncoderFactory* encoder, core::FindFactory<core::EncoderFactory>(c.encoder()));
  std::optional<core::HuggingFaceKeys> e = embedding->HuggingFaceBertKeys(c), n = encoder->HuggingFaceBertKeys(c);
  if (!e || !n) {
    return absl::InternalError(absl::StrCat("embedding ", c.embedding(), " or encoder ", c.encoder(),
                                            " declares no HuggingFace BERT keys"));
  }
  e->keys.insert(e->keys.end(), n->keys.begin(), n->keys.end());
  e->leading_rows.insert(n->leading_rows.begin(), n->leading_rows.end());
  return *std::move(e);
}

// The body's and `head`'s keys.
absl::StatusOr<core::HuggingFaceKeys> BertPairs(int64_t layers, const core::HuggingFaceHead& head) {
  UER_ASSIGN_OR_RETURN(core::HuggingFaceKeys all, BertBody(layers));
  all.keys.insert(all.keys.end(), head.keys.begin(), head.keys.end());
  all.leading_rows.insert(head.leading_rows.begin(), head.leading_rows.end());
  return all;
}

// The (normalised) key that holds HuggingFace tensor `h` in a file whose keys `has` tells: `h`
// itself, or what transformers' files hold in its place (an MLM decoder tied to the word
// embeddings, the MLM bias under the decoder's name); empty when none.
template <typename Has>
std::string HfSourceOf(const std::string& h, Has has) {
  if (has(h)) return h;
  if (h == "cls.predictions.decoder.weight" && has("embeddings.word_embeddings.weight")) {
    return "embeddings.word_embeddings.weight";
  }
  if (h == "cls.predictions.bias" && has("cls.predictions.decoder.bias")) return "cls.predictions.decoder.bias";
  return "";
}

bool IsHeadKey(const std::string& k) { return absl::StartsWith(k, "cls.") || absl::StartsWith(k, "classifier."); }

}  // namespace

bool IsHuggingFaceBert(const StateDict& state) {
  return std::any_of(state.begin(), state.end(), [](const auto& kv) {
    const std::string& k = kv.first;
    return absl::StartsWith(k, "bert.") || absl::StartsWith(k, "cls.predictions") ||
           absl::StartsWith(k, "embeddings.") || absl::StartsWith(k, "encoder.layer.");
  });
}

std::string BertHeadsIn(const StateDict& hf) {
  std::set<std::string> keys;
  for (const auto& [key, t] : hf) keys.insert(NormalizedHfKey(key));
  auto has = [&](const std::string& k) { return keys.count(k) > 0; };
  std::string best = kNoHead;
  size_t most = 0;
  for (const auto& [name, head] : DeclaredHeads(core::PluginKind::kTarget)) {
    const bool all = std::all_of(head.keys.begin(), head.keys.end(),
                                 [&](const auto& kv) { return !HfSourceOf(kv.second, has).empty(); });
    if (all && head.keys.size() > most) {
      best = name;
      most = head.keys.size();
    }
  }
  return best;
}

int64_t BertLayersNum(const StateDict& state) {
  std::set<std::string> keys;
  for (const auto& [k, v] : state) keys.insert(NormalizedHfKey(k));
  std::set<std::string> before;  // the keys of a body with one layer less
  for (int64_t layers = 1;; ++layers) {
    absl::StatusOr<core::HuggingFaceKeys> body = BertBody(layers);
    if (!body.ok()) return 0;
    bool found = false, added = false;
    std::set<std::string> now;
    for (const auto& [u, h] : body->keys) {
      now.insert(u);
      if (before.count(u)) continue;
      added = true;
      found = found || keys.count(u) || keys.count(NormalizedHfKey(h));
    }
    if (!added || !found) return layers - 1;
    before = std::move(now);
  }
}

absl::StatusOr<StateDict> BertFromHuggingFace(const StateDict& hf, const std::string& target, KeyReport* report) {
  UER_ASSIGN_OR_RETURN(const core::HuggingFaceHead head, HeadOf(target));
  // Normalised names: no "module." wrapper, no "bert." prefix, LayerNorm weight/bias.
  std::map<std::string, torch::Tensor> src;
  std::map<std::string, std::string> original;
  for (const auto& [key, t] : hf) {
    const std::string k = NormalizedHfKey(key);
    src[k] = t;
    original[k] = key;
  }
  const int64_t layers = BertLayersNum(hf);
  std::set<std::string> used;
  StateDict out;
  auto has = [&](const std::string& k) { return src.count(k) > 0; };
  UER_ASSIGN_OR_RETURN(const core::HuggingFaceKeys pairs, BertPairs(layers, head));
  for (const auto& [u, h] : pairs.keys) {
    const std::string key = HfSourceOf(h, has);
    if (key.empty()) {
      report->absent.push_back(h);
      continue;
    }
    auto it = src.find(key);
    if (h == "cls.predictions.decoder.weight" && key != h) {
      // Tied to the word embeddings (transformers leaves the copy out of its files).
      out.emplace_back(u, it->second);
      report->notes.push_back("the MLM decoder is tied to the word embeddings");
      continue;
    }
    used.insert(it->first);
    report->mapped.push_back(original[it->first]);
    torch::Tensor t = it->second;
    if (auto rows = pairs.leading_rows.find(u); rows != pairs.leading_rows.end()) {
      if (t.dim() != 2) {
        return absl::InvalidArgumentError(absl::StrCat(original[it->first], " has shape ", c10::str(t.sizes()), ", not 2-d"));
      }
      t = torch::cat({torch::zeros({rows->second, t.size(1)}, t.options()), t});
    }
    out.emplace_back(u, t);
  }
  for (const auto& [k, t] : src) {
    if (used.count(k) || k == "cls.predictions.decoder.bias") continue;
    report->dropped.push_back(original[k]);
  }
  if (layers == 0) return absl::InvalidArgumentError("no encoder.layer.N tensors: not a BERT checkpoint");
  if (!report->absent.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the checkpoint lacks what --target ", target, " needs: ", absl::StrJoin(report->absent, ", "),
        absl::StrCat(" (the checkpoint's heads are those of --target ", BertHeadsIn(hf), ")")));
  }
  return out;
}

absl::StatusOr<StateDict> BertToHuggingFace(const StateDict& uer, const std::string& target, KeyReport* report) {
  UER_ASSIGN_OR_RETURN(const core::HuggingFaceHead head, HeadOf(target));
  std::map<std::string, torch::Tensor> src;
  for (const auto& [k, t] : uer) src[absl::StartsWith(k, "module.") ? k.substr(7) : k] = t;
  const int64_t layers = BertLayersNum(uer);
  if (layers == 0) return absl::InvalidArgumentError("no encoder.transformer.N tensors: not a uer-cc BERT checkpoint");
  const std::string prefix = head.keys.empty() ? "" : "bert.";
  std::set<std::string> used;
  StateDict out;
  UER_ASSIGN_OR_RETURN(const core::HuggingFaceKeys pairs, BertPairs(layers, head));
  for (const auto& [u, h] : pairs.keys) {
    auto it = src.find(u);
    if (it == src.end()) {
      report->absent.push_back(u);
      continue;
    }
    used.insert(u);
    report->mapped.push_back(u);
    torch::Tensor t = it->second;
    if (auto rows = pairs.leading_rows.find(u); rows != pairs.leading_rows.end()) {
      if (t.dim() != 2 || t.size(0) <= rows->second) {
        return absl::InvalidArgumentError(absl::StrCat(u, " has shape ", c10::str(t.sizes()), ": expected more than ",
                                                       rows->second, " rows"));
      }
      t = t.slice(0, rows->second);
    }
    out.emplace_back(IsHeadKey(h) ? h : prefix + h, t);
  }
  for (const auto& [k, t] : src) {
    if (!used.count(k)) report->dropped.push_back(k);
  }
  if (!report->absent.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("the checkpoint lacks what --target ", target, " needs: ",
                                                   absl::StrJoin(report->absent, ", ")));
  }
  return out;
}


StateDict GoogleToHuggingFace(const StateDict& google, KeyReport* report) {
  StateDict out;
  for (const auto& [key, t] : google) {
    if (absl::StrContains(key, "adam_") || key == "global_step" || absl::StrContains(key, "/Adam")) {
      report->dropped.push_back(key);
      continue;
    }
    std::string k = key;
    if (absl::StartsWith(k, "bert/")) k = k.substr(5);
    std::string name;
    for (char c : k) name.push_back(c == '/' ? '.' : c);
    for (size_t at; (at = name.find("layer_")) != std::string::npos;) name[at + 5] = '.';
    torch::Tensor v = t;
    if (absl::EndsWith(name, ".kernel")) {
      name = name.substr(0, name.size() - 7) + ".weight";
      v = t.t().contiguous();
    } else if (absl::EndsWith(name, ".output_weights")) {
      name = name.substr(0, name.size() - 15) + ".weight";
    } else if (absl::EndsWith(name, ".output_bias")) {
      name = name.substr(0, name.size() - 12) + ".bias";
    } else if (absl::EndsWith(name, "_embeddings")) {
      name += ".weight";
    }
    const bool head = absl::StartsWith(name, "cls.");
    out.emplace_back(head ? name : "bert." + name, v);
  }
  return out;
}

StateDict HuggingFaceToGoogle(const StateDict& hf, KeyReport* report) {
  StateDict out;
  torch::Tensor word;
  for (const auto& [k, t] : hf) {
    if (absl::EndsWith(k, "word_embeddings.weight")) word = t;
  }
  for (const auto& [key, t] : hf) {
    std::string k = absl::StartsWith(key, "bert.") ? key.substr(5) : key;
    if (k == "cls.predictions.decoder.weight") {
      if (!word.defined() || !torch::equal(t, word)) {
        report->notes.push_back("the MLM decoder differs from the word embeddings; Google's BERT ties them: dropped");
      }
      continue;
    }
    torch::Tensor v = t;
    std::string name = k;
    const bool head = absl::StartsWith(k, "cls.");
    if (absl::EndsWith(name, "_embeddings.weight")) {
      name = name.substr(0, name.size() - 7);
    } else if (absl::EndsWith(name, "LayerNorm.weight")) {
      name = name.substr(0, name.size() - 6) + "gamma";
    } else if (absl::EndsWith(name, "LayerNorm.bias")) {
      name = name.substr(0, name.size() - 4) + "beta";
    } else if (name == "cls.seq_relationship.weight") {
      name = "cls.seq_relationship.output_weights";
    } else if (name == "cls.seq_relationship.bias" || name == "cls.predictions.bias") {
      name = name.substr(0, name.size() - 4) + "output_bias";
    } else if (absl::EndsWith(name, ".weight")) {
      name = name.substr(0, name.size() - 6) + "kernel";
      v = t.t().contiguous();
    }
    for (size_t at; (at = name.find("layer.")) != std::string::npos && name.compare(at, 6, "layer.") == 0 &&
                    at + 6 < name.size() && std::isdigit(static_cast<unsigned char>(name[at + 6]));) {
      name[at + 5] = '_';
    }
    std::string g;
    for (char c : name) g.push_back(c == '.' ? '/' : c);
    out.emplace_back(head ? g : "bert/" + g, v);
  }
  return out;
}

absl::StatusOr<std::string> HuggingFaceArchitecture(const std::string& target) {
  UER_ASSIGN_OR_RETURN(const core::HuggingFaceHead head, HeadOf(target));
  return head.architecture;
}


}  // namespace uer::runtime
