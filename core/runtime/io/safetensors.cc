// safetensors files (declared in core/runtime/interop.h).
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include <nlohmann/json.hpp>
#include <torch/types.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/log.h"
#include "core/runtime/checkpoint.h"
#include "core/runtime/checksum.h"
#include "core/runtime/file_io.h"
#include "core/runtime/interop.h"
#include "core/runtime/io/guard.h"
#include "core/status_macros.h"

namespace uer::runtime {
namespace {

namespace fs = std::filesystem;
using io::Guarded;
using io::IsLfsPointer;
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

}  // namespace uer::runtime
