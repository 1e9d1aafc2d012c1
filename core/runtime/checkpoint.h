// Reading and writing what Python's torch.save writes (the zip format with a pickle), without
// Python: state dicts (OrderedDict[str, Tensor], with or without a `_metadata` attribute — LibTorch's
// own pickle_load returns None for those) and plain dicts of tensors and numbers (io.pt files).
// What uer-cc writes loads in Python with `torch.load(path)` (weights_only=True, the default).
//
//   UER_ASSIGN_OR_RETURN(StateDict sd, LoadStateDict("model.bin"));
//   UER_RETURN_IF_ERROR(SaveStateDict("out.bin", sd));   // atomic: a temporary file, then rename
#ifndef UER_CORE_RUNTIME_CHECKPOINT_H_
#define UER_CORE_RUNTIME_CHECKPOINT_H_

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <torch/types.h>

#include "absl/status/statusor.h"
#include "core/plugin_api.h"

namespace uer::runtime {

using core::StateDict;

// A Python value from a pickle: None, bool, int, float, str, tensor, list/tuple, dict (ordered).
struct PyValue {
  enum class Kind { kNone, kBool, kInt, kFloat, kString, kTensor, kList, kTuple, kDict, kOther };
  Kind kind = Kind::kNone;
  bool b = false;
  int64_t i = 0;
  double f = 0;
  std::string s;  // kString, or the global's "module.name" for kOther
  torch::Tensor tensor;
  std::vector<std::shared_ptr<PyValue>> items;                                     // list, tuple
  std::vector<std::pair<std::shared_ptr<PyValue>, std::shared_ptr<PyValue>>> dict;  // dict

  const PyValue* Get(const std::string& key) const;  // dict lookup by string key, or nullptr
};

// Any torch.save file. Errors name the file (missing, truncated, not a torch file, unsupported pickle).
absl::StatusOr<PyValue> LoadTorchFile(const std::string& path);
// A torch.save file holding a dict of tensors, in file order.
absl::StatusOr<StateDict> LoadStateDict(const std::string& path);

// Writes `state` as torch.save(OrderedDict) does (contiguous CPU copies), atomically.
absl::Status SaveStateDict(const std::string& path, const StateDict& state);
// Writes a dict of named values: tensors, and int64 / double / string scalars.
using SaveValue = std::variant<torch::Tensor, int64_t, double, std::string>;
absl::Status SaveDict(const std::string& path, const std::vector<std::pair<std::string, SaveValue>>& items);
// Writes one tensor as torch.save(tensor) does (a CPU copy, no grad), atomically.
absl::Status SaveTensor(const std::string& path, const torch::Tensor& tensor);

// Tests: write sizes and offsets from `bytes` on as zip64 fields (normally from 4 GiB on).
void SetZip64ThresholdForTesting(uint64_t bytes);

}  // namespace uer::runtime

#endif  // UER_CORE_RUNTIME_CHECKPOINT_H_
