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

#include <leveldb/env.h>
#include <leveldb/iterator.h>
#include <leveldb/options.h>
#include <leveldb/table.h>
#include <leveldb/table_builder.h>
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

namespace uer::runtime {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct DType {
  const char* name;
  torch::ScalarType type;
  int64_t size;
};
constexpr DType kDTypes[] = {{"F64", torch::kFloat64, 8}, {"F32", torch::kFloat32, 4}, {"F16", torch::kFloat16, 2},
                             {"BF16", torch::kBFloat16, 2}, {"I64", torch::kInt64, 8},  {"I32", torch::kInt32, 4},
                             {"I16", torch::kInt16, 2},     {"I8", torch::kInt8, 1},    {"U8", torch::kUInt8, 1},
                             {"BOOL", torch::kBool, 1}};

const DType* FindDType(const std::string& name) {
  for (const DType& d : kDTypes) {
    if (name == d.name) return &d;
  }
  return nullptr;
}
const DType* FindDType(torch::ScalarType t) {
  for (const DType& d : kDTypes) {
    if (t == d.type) return &d;
  }
  return nullptr;
}

bool IsLfsPointer(const char* data, size_t size) {
  static constexpr char kLfs[] = "version https://git-lfs";
  return size >= sizeof(kLfs) - 1 && std::memcmp(data, kLfs, sizeof(kLfs) - 1) == 0;
}

// A leveldb file that is a string: the bundle's index is built in memory, then written as one
// OutputFile beside the data file.
class StringFile : public leveldb::WritableFile {
 public:
  explicit StringFile(std::string* out) : out_(out) {}
  leveldb::Status Append(const leveldb::Slice& data) override {
    out_->append(data.data(), data.size());
    return leveldb::Status::OK();
  }
  leveldb::Status Close() override { return leveldb::Status::OK(); }
  leveldb::Status Flush() override { return leveldb::Status::OK(); }
  leveldb::Status Sync() override { return leveldb::Status::OK(); }

 private:
  std::string* out_;
};

}  // namespace

namespace {

// Runs a reader: a JSON value of the wrong type, or a LibTorch refusal, deep in a damaged file is an
// error naming the file, never an abort (checkpoint_fuzz).
template <typename Read>
absl::StatusOr<StateDict> Guarded(const std::string& file, Read read) {
  try {
    return read();
  } catch (const std::exception& e) {
    const std::string what = e.what();
    return absl::DataLossError(absl::StrCat("cannot read ", file, ": ", what.substr(0, what.find('\n'))));
  }
}

absl::StatusOr<StateDict> LoadSafetensorsUnguarded(const std::string& path);
}  // namespace

absl::StatusOr<StateDict> LoadSafetensors(const std::string& path) {
  return Guarded(path, [&] { return LoadSafetensorsUnguarded(path); });
}

namespace {
absl::StatusOr<StateDict> LoadSafetensorsUnguarded(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return absl::InvalidArgumentError(absl::StrCat(path, " is a directory, not a safetensors file"));
  UER_ASSIGN_OR_RETURN(std::shared_ptr<MappedFile> map, MappedFile::Open(path));
  const size_t size = map->size();
  const char* base = map->data();
  if (IsLfsPointer(base, size)) {
    return absl::InvalidArgumentError(absl::StrCat(path, " is a git-LFS pointer file, not the weights: fetch them (git lfs pull)"));
  }
  if (size < 8) return absl::DataLossError(absl::StrCat(path, ": ", size, " bytes, not a safetensors file (truncated?)"));
  uint64_t header_size;
  std::memcpy(&header_size, base, 8);
  if (header_size > size - 8) {
    return absl::DataLossError(absl::StrCat(path, ": the header claims ", header_size, " bytes but the file has ", size,
                                            " (truncated, or not a safetensors file)"));
  }
  json header = json::parse(base + 8, base + 8 + header_size, nullptr, /*allow_exceptions=*/false);
  if (header.is_discarded() || !header.is_object()) {
    return absl::DataLossError(absl::StrCat(path, ": the header (bytes 8..", 8 + header_size, ") is not a JSON object"));
  }
  const char* buffer = base + 8 + header_size;
  const uint64_t buffer_size = size - 8 - header_size;
  struct Entry {
    std::string name;
    const DType* dtype;
    std::vector<int64_t> shape;
    uint64_t begin, end;
  };
  std::vector<Entry> entries;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") continue;
    const json& v = it.value();
    auto bad = [&](const std::string& why) {
      return absl::DataLossError(absl::StrCat(path, ": tensor \"", it.key(), "\": ", why));
    };
    if (!v.is_object() || !v.contains("dtype") || !v.contains("shape") || !v.contains("data_offsets")) {
      return bad("needs dtype, shape and data_offsets");
    }
    if (!v["dtype"].is_string()) return bad("dtype is not a string");
    const DType* d = FindDType(v["dtype"].get<std::string>());
    if (d == nullptr) return bad(absl::StrCat("dtype ", v["dtype"].get<std::string>(), " cannot be read"));
    Entry e{it.key(), d, {}, 0, 0};
    uint64_t numel = 1;
    if (!v["shape"].is_array()) return bad("shape is not a list");
    for (const json& s : v["shape"]) {
      if (!s.is_number_unsigned()) return bad("a dimension is not a non-negative integer");
      e.shape.push_back(s.get<int64_t>());
      numel *= s.get<uint64_t>();
    }
    const json& off = v["data_offsets"];
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned()) {
      return bad("data_offsets is not [begin, end]");
    }
    e.begin = off[0].get<uint64_t>();
    e.end = off[1].get<uint64_t>();
    if (e.end < e.begin || e.end > buffer_size) {
      return bad(absl::StrCat("data_offsets [", e.begin, ", ", e.end, "] lie outside the ", buffer_size,
                              " bytes of data (truncated or corrupt file)"));
    }
    if (e.end - e.begin != numel * static_cast<uint64_t>(d->size)) {
      return bad(absl::StrCat(e.end - e.begin, " bytes for ", numel, " values of ", d->name));
    }
    entries.push_back(std::move(e));
  }
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.begin < b.begin; });
  for (size_t i = 1; i < entries.size(); ++i) {
    if (entries[i].begin < entries[i - 1].end) {
      return absl::DataLossError(absl::StrCat(path, ": tensors \"", entries[i - 1].name, "\" and \"", entries[i].name,
                                              "\" overlap (corrupt file)"));
    }
  }
  StateDict out;
  int64_t converted = 0;
  for (const Entry& e : entries) {
    void* p = const_cast<char*>(buffer + e.begin);
    torch::Tensor t;
    if (e.shape.empty() || e.end == e.begin || reinterpret_cast<uintptr_t>(p) % e.dtype->size != 0) {
      // A scalar, an empty or an unaligned tensor (older writers padded the header wrongly): a copy.
      t = torch::empty(e.shape, torch::TensorOptions().dtype(e.dtype->type));
      if (e.end > e.begin) std::memcpy(t.data_ptr(), p, e.end - e.begin);
    } else {
      t = torch::from_blob(p, e.shape, [map](void*) {}, torch::TensorOptions().dtype(e.dtype->type));
    }
    if (e.dtype->type == torch::kFloat16 || e.dtype->type == torch::kBFloat16) {
      t = t.to(torch::kFloat32);
      ++converted;
    }
    out.emplace_back(e.name, t);
  }
  if (converted > 0) UER_LOG(INFO) << path << ": " << converted << " float16/bfloat16 tensors read as float32";
  return out;
}
}  // namespace

absl::Status SaveSafetensors(const std::string& path, const StateDict& state,
                             const std::map<std::string, std::string>& metadata) {
  json header = json::object();
  json meta = json::object();
  meta["format"] = "pt";
  for (const auto& [k, v] : metadata) meta[k] = v;
  header["__metadata__"] = meta;
  std::vector<torch::Tensor> data;
  uint64_t offset = 0;
  std::set<std::string> seen;
  for (const auto& [name, tensor] : state) {
    if (!seen.insert(name).second) return absl::InvalidArgumentError(absl::StrCat("cannot write ", path, ": tensor \"", name, "\" twice"));
    torch::Tensor t = tensor.detach().to(torch::kCPU).contiguous();
    const DType* d = FindDType(t.scalar_type());
    if (d == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("cannot write ", path, ": tensor \"", name, "\" has dtype ",
                                                     c10::toString(t.scalar_type()), ", which safetensors has no name for"));
    }
    const uint64_t bytes = static_cast<uint64_t>(t.numel()) * d->size;
    header[name] = {{"dtype", d->name}, {"shape", t.sizes().vec()}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    data.push_back(t);
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  const fs::path parent = fs::path(path).parent_path();
  std::error_code ec;
  if (!parent.empty()) fs::create_directories(parent, ec);
  UER_ASSIGN_OR_RETURN(std::unique_ptr<OutputFile> out, OutputFile::Create(path));
  const uint64_t n = text.size();
  out->Write(&n, 8);
  out->Write(text.data(), text.size());
  for (const torch::Tensor& t : data) {
    if (out->failed()) break;
    const size_t bytes = static_cast<size_t>(t.numel()) * t.element_size();
    out->WriteMapped(t.data_ptr(), bytes);
  }
  return out->Commit();
}

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


// ---- TensorFlow tensor bundles ------------------------------------------------------------------

namespace {


// The protobuf wire format, for the two small messages of a bundle.
void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}
bool GetVarint(const char** p, const char* end, uint64_t* v) {
  *v = 0;
  for (int shift = 0; shift < 64 && *p < end; shift += 7) {
    const uint8_t b = static_cast<uint8_t>(*(*p)++);
    *v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) return true;
  }
  return false;
}
// Calls f(field, wire type, varint value, bytes) for each field; false on a malformed message.
template <typename F>
bool ForEachField(const std::string& msg, F f) {
  const char* p = msg.data();
  const char* end = p + msg.size();
  while (p < end) {
    uint64_t tag, v = 0;
    if (!GetVarint(&p, end, &tag)) return false;
    const int wire = static_cast<int>(tag & 7);
    std::string bytes;
    if (wire == 0) {
      if (!GetVarint(&p, end, &v)) return false;
    } else if (wire == 2) {
      uint64_t len;
      if (!GetVarint(&p, end, &len) || len > static_cast<uint64_t>(end - p)) return false;
      bytes.assign(p, len);
      p += len;
    } else if (wire == 5) {
      if (end - p < 4) return false;
      uint32_t x;
      std::memcpy(&x, p, 4);
      v = x;
      p += 4;
    } else if (wire == 1) {
      if (end - p < 8) return false;
      std::memcpy(&v, p, 8);
      p += 8;
    } else {
      return false;
    }
    f(static_cast<int>(tag >> 3), wire, v, bytes);
  }
  return true;
}

struct TfType {
  int code;
  torch::ScalarType type;
};
constexpr TfType kTfTypes[] = {{1, torch::kFloat32}, {2, torch::kFloat64}, {3, torch::kInt32}, {9, torch::kInt64},
                               {19, torch::kFloat16}, {14, torch::kBFloat16}, {4, torch::kUInt8}, {6, torch::kInt8},
                               {10, torch::kBool}};

std::string BundleDataPath(const std::string& prefix, int shard, int shards) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), ".data-%05d-of-%05d", shard, shards);
  return prefix + buf;
}

// LevelDB allocates a block's size, read from the file, before it reads the block: a damaged
// handle asks for petabytes (an abort, found by checkpoint_fuzz). The footer's handles and every
// data block handle of the index block are checked against the file first (the table format:
// github.com/google/leveldb/blob/main/doc/table_format.md).
bool GetVarint(const std::string& b, size_t* at, size_t end, uint64_t* v) {
  *v = 0;
  for (int shift = 0; shift <= 63 && *at < end; shift += 7) {
    const uint8_t c = static_cast<uint8_t>(b[(*at)++]);
    *v |= uint64_t{c & 0x7fu} << shift;
    if (!(c & 0x80)) return true;
  }
  return false;
}

std::string CheckTableHandles(const std::string& b) {
  constexpr size_t kFooter = 48, kTrailer = 5;  // footer; a block's type byte and CRC
  if (b.size() < kFooter) return "shorter than a table footer";
  size_t at = b.size() - kFooter;
  uint64_t meta_off, meta_size, index_off, index_size;
  if (!GetVarint(b, &at, b.size() - 8, &meta_off) || !GetVarint(b, &at, b.size() - 8, &meta_size) ||
      !GetVarint(b, &at, b.size() - 8, &index_off) || !GetVarint(b, &at, b.size() - 8, &index_size)) {
    return "a damaged footer";
  }
  const uint64_t limit = b.size() - kFooter;
  auto fits = [&](uint64_t off, uint64_t size) { return off <= limit && size <= limit - off && limit - off - size >= kTrailer; };
  if (!fits(meta_off, meta_size) || !fits(index_off, index_size)) return "a block handle outside the file";
  // The index block (uncompressed, as TensorFlow writes it): entries, then restart offsets and their count.
  if (b[index_off + index_size] != 0) return "a compressed index block";
  if (index_size < 4) return "a damaged index block";
  uint32_t restarts;
  std::memcpy(&restarts, b.data() + index_off + index_size - 4, 4);
  if (restarts > (index_size - 4) / 4) return "a damaged index block";
  const size_t end = index_off + index_size - 4 - 4 * static_cast<size_t>(restarts);
  at = index_off;
  while (at < end) {
    uint64_t shared, non_shared, value_len, off, size;
    if (!GetVarint(b, &at, end, &shared) || !GetVarint(b, &at, end, &non_shared) || !GetVarint(b, &at, end, &value_len) ||
        non_shared > end - at || value_len > end - at - non_shared) {
      return "a damaged index block";
    }
    at += non_shared;
    const size_t value_end = at + value_len;
    if (!GetVarint(b, &at, value_end, &off) || !GetVarint(b, &at, value_end, &size) || !fits(off, size)) {
      return "a data block handle outside the file";
    }
    at = value_end;
  }
  return "";
}

}  // namespace

namespace {
absl::StatusOr<StateDict> LoadTfCheckpointUnguarded(const std::string& prefix);
}  // namespace

absl::StatusOr<StateDict> LoadTfCheckpoint(const std::string& prefix) {
  return Guarded(prefix, [&] { return LoadTfCheckpointUnguarded(prefix); });
}

namespace {
absl::StatusOr<StateDict> LoadTfCheckpointUnguarded(const std::string& prefix) {
  const std::string index = prefix + ".index";
  leveldb::RandomAccessFile* raw = nullptr;
  uint64_t size = 0;
  std::error_code ec;
  if (!fs::exists(index, ec)) return absl::NotFoundError(absl::StrCat("cannot open ", index, " (a TensorFlow checkpoint is PREFIX.index and PREFIX.data-*)"));
  if (leveldb::Status s = leveldb::Env::Default()->GetFileSize(index, &size); !s.ok()) return absl::NotFoundError(s.ToString());
  if (leveldb::Status s = leveldb::Env::Default()->NewRandomAccessFile(index, &raw); !s.ok()) return absl::NotFoundError(s.ToString());
  std::unique_ptr<leveldb::RandomAccessFile> file(raw);
  {
    std::ifstream in(index, std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    if (const std::string bad = CheckTableHandles(bytes.str()); !bad.empty()) {
      return absl::DataLossError(absl::StrCat(index, " is not a tensor bundle index (", bad, ")"));
    }
  }
  leveldb::Table* table_raw = nullptr;
  leveldb::Options options;
  if (leveldb::Status s = leveldb::Table::Open(options, file.get(), size, &table_raw); !s.ok()) {
    return absl::DataLossError(absl::StrCat(index, " is not a tensor bundle index (", s.ToString(), ")"));
  }
  std::unique_ptr<leveldb::Table> table(table_raw);
  std::unique_ptr<leveldb::Iterator> it(table->NewIterator(leveldb::ReadOptions()));
  struct Entry {
    std::string name;
    int dtype = 0, shard = 0;
    std::vector<int64_t> shape;
    uint64_t offset = 0, size = 0;
    uint32_t crc = 0;
    bool sliced = false;
  };
  std::vector<Entry> entries;
  int shards = 1;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::string key = it->key().ToString(), value = it->value().ToString();
    if (key.empty()) {  // BundleHeaderProto
      ForEachField(value, [&](int field, int, uint64_t v, const std::string&) {
        if (field == 1) shards = static_cast<int>(v);
        if (field == 2 && v != 0) shards = -1;  // big-endian
      });
      if (shards == -1) return absl::InvalidArgumentError(absl::StrCat(index, ": a big-endian bundle"));
      continue;
    }
    Entry e;
    e.name = key;
    const bool ok = ForEachField(value, [&](int field, int wire, uint64_t v, const std::string& bytes) {
      if (field == 1) e.dtype = static_cast<int>(v);
      if (field == 2) {
        ForEachField(bytes, [&](int f, int, uint64_t, const std::string& dim) {
          if (f != 2) return;
          int64_t d = 0;
          ForEachField(dim, [&](int g, int, uint64_t x, const std::string&) { if (g == 1) d = static_cast<int64_t>(x); });
          e.shape.push_back(d);
        });
      }
      if (field == 3) e.shard = static_cast<int>(v);
      if (field == 4) e.offset = v;
      if (field == 5) e.size = v;
      if (field == 6) e.crc = static_cast<uint32_t>(v);
      if (field == 7) e.sliced = true;
    });
    if (!ok) return absl::DataLossError(absl::StrCat(index, ": the entry of \"", key, "\" is not a BundleEntryProto"));
    entries.push_back(std::move(e));
  }
  if (!it->status().ok()) return absl::DataLossError(absl::StrCat(index, ": ", it->status().ToString()));
  if (shards < 1 || shards > 100000) return absl::DataLossError(absl::StrCat(index, ": ", shards, " shards"));
  std::map<int, std::shared_ptr<MappedFile>> maps;
  StateDict out;
  for (const Entry& e : entries) {
    auto bad = [&](const std::string& why) { return absl::DataLossError(absl::StrCat(prefix, ": tensor \"", e.name, "\": ", why)); };
    if (e.sliced) return bad("a partitioned variable (slices) cannot be read");
    const TfType* type = nullptr;
    for (const TfType& t : kTfTypes) {
      if (t.code == e.dtype) type = &t;
    }
    if (type == nullptr) return bad(absl::StrCat("TensorFlow dtype ", e.dtype, " cannot be read"));
    if (e.shard < 0 || e.shard >= shards) return bad(absl::StrCat("shard ", e.shard, " of ", shards));
    if (!maps.count(e.shard)) {
      const std::string data = BundleDataPath(prefix, e.shard, shards);
      UER_ASSIGN_OR_RETURN(std::shared_ptr<MappedFile> m, MappedFile::Open(data));
      if (IsLfsPointer(m->data(), m->size())) {
        return absl::InvalidArgumentError(absl::StrCat(data, " is a git-LFS pointer file, not the weights: fetch them (git lfs pull)"));
      }
      maps[e.shard] = m;
    }
    const MappedFile& m = *maps[e.shard];
    int64_t numel = 1;
    for (int64_t d : e.shape) numel *= d;
    torch::Tensor t = torch::empty(e.shape, torch::TensorOptions().dtype(type->type));
    if (e.size != static_cast<uint64_t>(numel) * t.element_size()) return bad(absl::StrCat(e.size, " bytes for shape ", c10::str(t.sizes())));
    if (e.offset > m.size() || e.size > m.size() - e.offset) {
      return bad(absl::StrCat("bytes ", e.offset, "..", e.offset + e.size, " lie past the ", m.size(),
                              " bytes of its data file (truncated?)"));
    }
    const char* p = m.data() + e.offset;
    if (MaskCrc(Crc32c(p, e.size)) != e.crc) return bad("its CRC-32C does not match (corrupt data file)");
    if (e.size > 0) std::memcpy(t.data_ptr(), p, e.size);
    if (type->type == torch::kFloat16 || type->type == torch::kBFloat16) t = t.to(torch::kFloat32);
    out.emplace_back(e.name, t);
  }
  return out;
}
}  // namespace

absl::Status SaveTfCheckpoint(const std::string& prefix, const StateDict& state) {
  std::map<std::string, torch::Tensor> sorted;  // the table's keys in order
  for (const auto& [k, t] : state) sorted[k] = t.detach().to(torch::kCPU).contiguous();
  const std::string data_path = BundleDataPath(prefix, 0, 1), index_path = prefix + ".index";
  std::error_code ec;
  if (fs::path(prefix).has_parent_path()) fs::create_directories(fs::path(prefix).parent_path(), ec);
  UER_ASSIGN_OR_RETURN(std::unique_ptr<OutputFile> data, OutputFile::Create(data_path));
  std::vector<std::pair<std::string, std::string>> entries = {{"", std::string("\x08\x01\x1a\x02\x08\x01", 6)}};
  uint64_t offset = 0;
  for (const auto& [name, t] : sorted) {
    const TfType* type = nullptr;
    for (const TfType& x : kTfTypes) {
      if (x.type == t.scalar_type()) type = &x;
    }
    if (type == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("cannot write \"", name, "\": dtype ", c10::toString(t.scalar_type())));
    }
    const size_t bytes = static_cast<size_t>(t.numel()) * t.element_size();
    uint32_t crc32c = 0;
    data->WriteMapped(t.data_ptr(), bytes, [&crc32c](const char* p, size_t n) { crc32c = Crc32c(p, n, crc32c); });
    std::string shape, entry;
    for (int64_t d : t.sizes()) {
      std::string dim;
      dim.push_back('\x08');
      PutVarint(&dim, static_cast<uint64_t>(d));
      shape.push_back('\x12');
      PutVarint(&shape, dim.size());
      shape += dim;
    }
    entry.push_back('\x08');
    PutVarint(&entry, static_cast<uint64_t>(type->code));
    entry.push_back('\x12');
    PutVarint(&entry, shape.size());
    entry += shape;
    if (offset) {
      entry.push_back('\x20');
      PutVarint(&entry, offset);
    }
    if (bytes) {
      entry.push_back('\x28');
      PutVarint(&entry, bytes);
    }
    const uint32_t crc = MaskCrc(crc32c);
    entry.push_back('\x35');
    entry.append(reinterpret_cast<const char*>(&crc), 4);
    entries.emplace_back(name, entry);
    offset += bytes;
  }
  std::string table;
  {
    StringFile file(&table);
    leveldb::Options options;
    options.compression = leveldb::kNoCompression;  // as TensorFlow's BundleWriter
    leveldb::TableBuilder builder(options, &file);
    for (const auto& [k, v] : entries) builder.Add(k, v);
    const leveldb::Status s = builder.Finish();
    if (!s.ok()) return absl::InternalError(absl::StrCat("cannot build ", index_path, ": ", s.ToString()));
  }
  UER_ASSIGN_OR_RETURN(std::unique_ptr<OutputFile> index, OutputFile::Create(index_path));
  index->Write(table.data(), table.size());
  // The data file first: a bundle whose index is in place always finds its data (a crash between
  // the two leaves the old index, whose offsets may no longer fit the new data: its CRCs say so).
  UER_RETURN_IF_ERROR(data->Commit());
  return index->Commit();
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
