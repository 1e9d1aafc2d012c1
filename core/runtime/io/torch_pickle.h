// The pickles of torch.save files (core/runtime/checkpoint.h is the public side): a pickle virtual
// machine for the opcodes torch.save emits (protocols 2 to 4) whose storages are records of the
// file's zip, and a writer of the pickle torch.save writes for a dict of tensors and scalars.
#ifndef UER_CORE_RUNTIME_IO_TORCH_PICKLE_H_
#define UER_CORE_RUNTIME_IO_TORCH_PICKLE_H_

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include <torch/types.h>

#include "absl/status/statusor.h"
#include "core/runtime/checkpoint.h"
#include "core/runtime/file_io.h"
#include "core/runtime/io/torch_zip.h"

namespace uer::runtime::io {

// Runs the pickle record `pickle` of the mapped `file`; its storages are the records `prefix` +
// "data/KEY". Errors (and exceptions, on malformed input) name `path`.
absl::StatusOr<PyValue> Unpickle(const std::string& path, const ZipRecord& pickle, const ZipRecords* records,
                                 std::string prefix, std::shared_ptr<MappedFile> file);

// torch's storage class of a dtype ("FloatStorage"), or nullptr for a dtype torch.save cannot store.
const char* StorageName(torch::ScalarType t);

// The pickle torch.save writes (protocol 2), op by op.
class Pickler {
 public:
  void Proto() { out_ += "\x80\x02"; }
  void Global(const std::string& module, const std::string& name) { out_ += "c" + module + "\n" + name + "\n"; }
  void Mark() { out_ += "("; }
  void Str(const std::string& s) {
    out_ += "X";
    uint32_t n = static_cast<uint32_t>(s.size());
    out_.append(reinterpret_cast<const char*>(&n), 4);
    out_ += s;
  }
  void Int(int64_t v) {
    if (v >= 0 && v < 256) { out_ += "K"; out_.push_back(static_cast<char>(v)); }
    else if (v >= INT32_MIN && v <= INT32_MAX) { out_ += "J"; int32_t x = static_cast<int32_t>(v); out_.append(reinterpret_cast<const char*>(&x), 4); }
    else { out_ += "\x8a\x08"; out_.append(reinterpret_cast<const char*>(&v), 8); }
  }
  void Float(double d) {
    uint64_t bits;
    std::memcpy(&bits, &d, 8);
    out_ += "G";
    for (int k = 7; k >= 0; --k) out_.push_back(static_cast<char>((bits >> (8 * k)) & 0xff));
  }
  void Op(const char* op) { out_ += op; }
  // torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, OrderedDict())
  void Tensor(const torch::Tensor& t, const std::string& key) {
    Global("torch._utils", "_rebuild_tensor_v2");
    Mark();
    Mark();
    Str("storage");
    Global("torch", StorageName(t.scalar_type()));
    Str(key);
    Str("cpu");
    Int(t.numel());
    Op("t");
    Op("Q");  // BINPERSID
    Int(0);
    Mark();
    for (int64_t s : t.sizes()) Int(s);
    Op("t");
    Mark();
    for (int64_t s : t.strides()) Int(s);
    Op("t");
    Op("\x89");  // requires_grad False
    Global("collections", "OrderedDict");
    Op(")R");
    Op("t");
    Op("R");
  }
  std::string& out() { return out_; }

 private:
  std::string out_;
};

}  // namespace uer::runtime::io

#endif  // UER_CORE_RUNTIME_IO_TORCH_PICKLE_H_
