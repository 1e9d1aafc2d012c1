#include "core/runtime/checkpoint.h"

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <tuple>

#include <torch/torch.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/runtime/file_io.h"
#include "core/runtime/interop.h"
#include "core/runtime/io/guard.h"
#include "core/runtime/io/torch_pickle.h"
#include "core/runtime/io/torch_zip.h"
#include "core/status_macros.h"

namespace uer::runtime {
const PyValue* PyValue::Get(const std::string& key) const {
  for (const auto& [k, v] : dict) {
    if (k->kind == Kind::kString && k->s == key) return v.get();
  }
  return nullptr;
}

void SetZip64ThresholdForTesting(uint64_t bytes) { io::SetZip64Threshold(bytes); }

absl::StatusOr<PyValue> LoadTorchFile(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return absl::InvalidArgumentError(absl::StrCat("checkpoint ", path, " is a directory, not a file"));
  }
  if (!std::filesystem::is_regular_file(path, ec)) {
    return absl::NotFoundError(absl::StrCat("cannot open checkpoint ", path, ": no such file"));
  }
  absl::StatusOr<std::shared_ptr<MappedFile>> file = MappedFile::Open(path);
  if (!file.ok()) return absl::Status(file.status().code(), absl::StrCat("checkpoint: ", file.status().message()));
  UER_ASSIGN_OR_RETURN(io::ZipRecords records, io::ReadZip(path, (*file)->data(), (*file)->size()));
  // The records sit in one folder named after the archive ("archive/data.pkl"), as torch.load finds them.
  const std::string first = records.empty() ? std::string() : records.begin()->first;
  const std::string prefix = first.substr(0, first.find('/') + 1);
  auto pickle = records.find(prefix + "data.pkl");
  if (prefix.empty() || pickle == records.end()) {
    return absl::InvalidArgumentError(absl::StrCat(path, " is not a torch.save file (no data.pkl)"));
  }
  return io::Guarded(absl::StrCat("checkpoint ", path),
                     [&] { return io::Unpickle(path, pickle->second, &records, prefix, *file); });
}

absl::StatusOr<StateDict> LoadStateDict(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return LoadHuggingFaceFolder(path);
  {
    // A safetensors file by its name or its first bytes (an 8-byte header size, then '{').
    char head[9] = {0};
    FILE* f = fopen(path.c_str(), "rb");
    const size_t n = f ? fread(head, 1, sizeof(head), f) : 0;
    if (f) fclose(f);
    if (absl::EndsWith(path, ".safetensors") || (n == 9 && head[8] == '{' && head[0] != 'P')) return LoadSafetensors(path);
    if (n >= 8 && std::memcmp(head, "version ", 8) == 0) {
      return absl::InvalidArgumentError(absl::StrCat(path, " is a git-LFS pointer file, not the weights: fetch them (git lfs pull)"));
    }
  }
  auto v = LoadTorchFile(path);
  if (!v.ok()) return v.status();
  if (v->kind != PyValue::Kind::kDict) {
    return absl::InvalidArgumentError(absl::StrCat(path, " does not hold a dict of tensors"));
  }
  StateDict out;
  for (const auto& [k, val] : v->dict) {
    if (k->kind != PyValue::Kind::kString) continue;
    if (val->kind != PyValue::Kind::kTensor) continue;  // e.g. a step counter beside the weights
    out.emplace_back(k->s, val->tensor);
  }
  return out;
}

absl::Status SaveStateDict(const std::string& path, const StateDict& state) {
  std::vector<std::pair<std::string, SaveValue>> items;
  for (const auto& [k, t] : state) items.emplace_back(k, t);
  return SaveDict(path, items);
}

absl::Status SaveDict(const std::string& path, const std::vector<std::pair<std::string, SaveValue>>& items) {
  io::Pickler p;
  p.Proto();
  p.Global("collections", "OrderedDict");
  p.Op(")R");
  p.Mark();
  std::vector<torch::Tensor> storages;
  // A tensor saved under two names (tied weights: the MLM decoder and the word embedding) is one
  // storage that both names use, as torch.save writes it: written once, and tied again when read.
  // Tied is judged on the tensors given (one storage, the same view of it, on any device), before
  // they are copied to the CPU: two copies of one GPU tensor would be two storages.
  using View = std::tuple<const void*, int64_t, std::vector<int64_t>, std::vector<int64_t>, torch::ScalarType>;
  std::map<View, size_t> written;
  for (const auto& [key, value] : items) {
    p.Str(key);
    if (const auto* t = std::get_if<torch::Tensor>(&value)) {
      if (!io::StorageName(t->scalar_type())) {
        return absl::InvalidArgumentError(absl::StrCat("cannot save ", key, ": unsupported dtype ", t->scalar_type()));
      }
      auto it = written.end();
      if (t->has_storage()) {
        const View view(t->storage().unsafeGetStorageImpl(), t->storage_offset(), t->sizes().vec(), t->strides().vec(),
                        t->scalar_type());
        it = written.find(view);
        if (it == written.end()) it = written.emplace(view, storages.size()).first;
      }
      if (it != written.end() && it->second < storages.size()) {  // tied to a tensor written before
        p.Tensor(storages[it->second], std::to_string(it->second));
        continue;
      }
      torch::Tensor c = t->detach().to(torch::kCPU).contiguous();
      p.Tensor(c, std::to_string(storages.size()));
      storages.push_back(c);
    } else if (const auto* i = std::get_if<int64_t>(&value)) {
      p.Int(*i);
    } else if (const auto* d = std::get_if<double>(&value)) {
      p.Float(*d);
    } else {
      p.Str(std::get<std::string>(value));
    }
  }
  p.Op("u.");
  return io::WriteTorchZip(path, p.out(), storages);
}

absl::Status SaveTensor(const std::string& path, const torch::Tensor& tensor) {
  torch::Tensor c = tensor.detach().to(torch::kCPU).contiguous();
  if (!io::StorageName(c.scalar_type())) {
    return absl::InvalidArgumentError(absl::StrCat("cannot save a tensor of dtype ", c.scalar_type()));
  }
  io::Pickler p;
  p.Proto();
  p.Tensor(c, "0");
  p.Op(".");
  return io::WriteTorchZip(path, p.out(), {c});
}

}  // namespace uer::runtime
