#include "core/runtime/io/torch_pickle.h"

#include <map>
#include <vector>

#include <torch/torch.h>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"

namespace uer::runtime::io {
using namespace ::uer::core;  // NOLINT: the SDK types the runtime works with
namespace {

using PyPtr = std::shared_ptr<PyValue>;

PyPtr MakeNone() { return std::make_shared<PyValue>(); }

struct StorageInfo {
  torch::ScalarType dtype;
};

absl::StatusOr<torch::ScalarType> StorageDtype(const std::string& global) {
  static const std::map<std::string, torch::ScalarType> kTypes = {
      {"torch.FloatStorage", torch::kFloat32},   {"torch.DoubleStorage", torch::kFloat64},
      {"torch.HalfStorage", torch::kFloat16},    {"torch.BFloat16Storage", torch::kBFloat16},
      {"torch.LongStorage", torch::kInt64},      {"torch.IntStorage", torch::kInt32},
      {"torch.ShortStorage", torch::kInt16},     {"torch.CharStorage", torch::kInt8},
      {"torch.ByteStorage", torch::kUInt8},      {"torch.BoolStorage", torch::kBool},
  };
  auto it = kTypes.find(global);
  if (it == kTypes.end()) return absl::InvalidArgumentError(absl::StrCat("unsupported storage type ", global));
  return it->second;
}


// A pickle virtual machine for the opcodes torch.save emits (protocols 2 to 4). Storages are the
// records `prefix` + "data/KEY" of the mapped `file`.
class Unpickler {
 public:
  Unpickler(const std::string& path, const ZipRecord& pickle, const ZipRecords* records, std::string prefix,
            std::shared_ptr<MappedFile> file)
      : path_(path), p_(pickle.data), end_(pickle.data + pickle.size), records_(records), prefix_(std::move(prefix)),
        file_(std::move(file)) {}

  absl::StatusOr<PyValue> Run() {
    while (p_ < end_) {
      const unsigned char op = static_cast<unsigned char>(*p_++);
      absl::Status st = Step(op);
      if (!st.ok()) return st;
      if (done_) {
        if (stack_.empty()) return Error("empty stack at STOP");
        return *stack_.back();
      }
    }
    return Error("the pickle ends without STOP (truncated file?)");
  }

 private:
  absl::Status Error(const std::string& what) {
    return absl::DataLossError(absl::StrCat(path_, ": cannot read the pickle: ", what));
  }
  bool Need(size_t n) { return static_cast<size_t>(end_ - p_) >= n; }
  template <typename T>
  T Read() {
    T v;
    std::memcpy(&v, p_, sizeof(T));
    p_ += sizeof(T);
    return v;
  }
  std::string ReadLine() {
    const char* nl = static_cast<const char*>(memchr(p_, '\n', end_ - p_));
    if (!nl) nl = end_;
    std::string s(p_, nl);
    p_ = nl < end_ ? nl + 1 : end_;
    return s;
  }
  PyPtr Pop() {
    if (stack_.empty()) return MakeNone();
    PyPtr v = stack_.back();
    stack_.pop_back();
    return v;
  }
  std::vector<PyPtr> PopMark() {
    size_t m = marks_.empty() ? 0 : marks_.back();
    if (!marks_.empty()) marks_.pop_back();
    std::vector<PyPtr> items(stack_.begin() + m, stack_.end());
    stack_.resize(m);
    return items;
  }
  PyPtr Global(const std::string& name) {
    auto v = std::make_shared<PyValue>();
    v->kind = PyValue::Kind::kOther;
    v->s = name;
    return v;
  }
  PyPtr Str(std::string s) {
    auto v = std::make_shared<PyValue>();
    v->kind = PyValue::Kind::kString;
    v->s = std::move(s);
    return v;
  }
  PyPtr Int(int64_t i) {
    auto v = std::make_shared<PyValue>();
    v->kind = PyValue::Kind::kInt;
    v->i = i;
    return v;
  }
  PyPtr Tuple(std::vector<PyPtr> items) {
    auto v = std::make_shared<PyValue>();
    v->kind = PyValue::Kind::kTuple;
    v->items = std::move(items);
    return v;
  }

  absl::StatusOr<PyPtr> LoadStorage(const PyValue& pid) {
    // ('storage', <storage type global>, key, location, numel)
    if (pid.kind != PyValue::Kind::kTuple || pid.items.size() < 5 || pid.items[0]->s != "storage") {
      return Error("unsupported persistent id");
    }
    auto dtype = StorageDtype(pid.items[1]->s);
    if (!dtype.ok()) return Error(std::string(dtype.status().message()));
    const std::string key = pid.items[2]->kind == PyValue::Kind::kString ? pid.items[2]->s : std::to_string(pid.items[2]->i);
    auto cached = storages_.find(key);
    if (cached != storages_.end()) return cached->second;
    const int64_t numel = pid.items[4]->i;
    const std::string record = prefix_ + "data/" + key;
    auto it = records_->find(record);
    if (it == records_->end()) return Error("missing storage record " + record);
    const auto [ptr, size] = it->second;
    const size_t element = c10::elementSize(*dtype);
    if (numel < 0 || static_cast<uint64_t>(numel) > size / element) {
      return Error(absl::StrCat("storage ", record, " holds ", size, " bytes, expected ", numel, " elements of ", element));
    }
    torch::Tensor flat;
    const auto options = torch::TensorOptions().dtype(*dtype);
    if (numel > 0 && reinterpret_cast<uintptr_t>(ptr) % element == 0) {
      // A view of the mapped file (copy-on-write), which it keeps mapped.
      flat = torch::from_blob(const_cast<char*>(ptr), {numel}, [file = file_](void*) {}, options);
    } else {
      flat = torch::empty({numel}, options);
      if (numel > 0) std::memcpy(flat.data_ptr(), ptr, static_cast<size_t>(numel) * element);
    }
    auto v = std::make_shared<PyValue>();
    v->kind = PyValue::Kind::kTensor;
    v->tensor = flat;
    storages_[key] = v;
    return v;
  }

  // Whether `target` is `from` or inside it. Inserting such a value would make a cycle of shared
  // pointers, which never frees (a leak that checkpoint_fuzz found): pickles of model files hold none.
  static bool Reaches(const PyValue* from, const PyValue* target) {
    std::vector<const PyValue*> todo = {from};
    std::set<const PyValue*> seen;
    while (!todo.empty()) {
      const PyValue* v = todo.back();
      todo.pop_back();
      if (v == target) return true;
      if (!seen.insert(v).second) continue;
      for (const auto& x : v->items) todo.push_back(x.get());
      for (const auto& [k, x] : v->dict) {
        todo.push_back(k.get());
        todo.push_back(x.get());
      }
    }
    return false;
  }

  absl::StatusOr<PyPtr> Reduce(const PyValue& fn, const PyValue& args) {
    const std::string& name = fn.s;
    if (name == "collections.OrderedDict" || name == "builtins.dict") {
      auto d = std::make_shared<PyValue>();
      d->kind = PyValue::Kind::kDict;
      return d;
    }
    if (name == "torch._utils._rebuild_tensor_v2" || name == "torch._utils._rebuild_tensor") {
      if (args.items.size() < 4 || args.items[0]->kind != PyValue::Kind::kTensor) return Error("bad tensor record");
      const torch::Tensor& storage = args.items[0]->tensor;
      // Offset, sizes and strides: non-negative integers, as many strides as sizes, and the last
      // element inside the storage (each found broken by checkpoint_fuzz before it was checked).
      auto is_ints = [](const PyValue& v) {
        if (v.kind != PyValue::Kind::kTuple && v.kind != PyValue::Kind::kList) return false;
        for (const auto& x : v.items) {
          if (x->kind != PyValue::Kind::kInt || x->i < 0) return false;
        }
        return true;
      };
      if (args.items[1]->kind != PyValue::Kind::kInt || args.items[1]->i < 0 || !is_ints(*args.items[2]) ||
          !is_ints(*args.items[3]) || args.items[2]->items.size() != args.items[3]->items.size()) {
        return Error("bad tensor record (offset, sizes or strides)");
      }
      const int64_t offset = args.items[1]->i;
      std::vector<int64_t> sizes, strides;
      for (auto& s : args.items[2]->items) sizes.push_back(s->i);
      for (auto& s : args.items[3]->items) strides.push_back(s->i);
      int64_t needed = offset;
      for (size_t k = 0; k < sizes.size(); ++k) {
        int64_t reach = 0;
        if (sizes[k] > 0 && (__builtin_mul_overflow(sizes[k] - 1, strides[k], &reach) ||
                             __builtin_add_overflow(needed, reach, &needed))) {
          return Error("a tensor reaches past its storage");
        }
      }
      // A view may repeat storage elements (a stride 0), but not by absurd factors: reading it
      // copies it whole.
      int64_t numel = 1;
      for (int64_t n : sizes) {
        if (__builtin_mul_overflow(numel, n, &numel)) return Error("a tensor of more elements than can exist");
      }
      if (numel > 64 * std::max<int64_t>(storage.numel(), 1) + (int64_t{1} << 20)) {
        return Error(absl::StrCat("a tensor of ", numel, " elements over a storage of ", storage.numel()));
      }
      bool empty = false;
      for (int64_t s : sizes) empty |= s == 0;
      if (!empty && needed >= storage.numel()) return Error("a tensor reaches past its storage");
      auto v = std::make_shared<PyValue>();
      v->kind = PyValue::Kind::kTensor;
      v->tensor = empty ? torch::empty(sizes, storage.options())
                        : storage.as_strided(sizes, strides, offset).contiguous();
      return v;
    }
    if (name == "torch._utils._rebuild_parameter" || name == "torch._utils._rebuild_parameter_with_state") {
      if (args.items.empty()) return Error("bad parameter record");
      return args.items[0];
    }
    if (name == "torch.jit._pickle.restore_type_tag" && !args.items.empty()) return args.items[0];
    if (name == "torch.device" || name == "torch.Size") {
      if (name == "torch.Size" && !args.items.empty()) return args.items[0];
      return args.items.empty() ? MakeNone() : args.items[0];
    }
    if (name == "_codecs.encode" && !args.items.empty()) return args.items[0];
    // Anything else is kept as an opaque object (it may be a value nobody reads).
    return Global(name);
  }

  absl::Status Step(unsigned char op) {
    switch (op) {
      case 0x80: if (!Need(1)) return Error("truncated"); ++p_; return absl::OkStatus();  // PROTO
      case 0x95: if (!Need(8)) return Error("truncated"); p_ += 8; return absl::OkStatus();  // FRAME
      case '.': done_ = true; return absl::OkStatus();  // STOP
      case '(': marks_.push_back(stack_.size()); return absl::OkStatus();  // MARK
      case 'N': stack_.push_back(MakeNone()); return absl::OkStatus();
      case 0x88: case 0x89: {  // NEWTRUE / NEWFALSE
        auto v = std::make_shared<PyValue>();
        v->kind = PyValue::Kind::kBool;
        v->b = op == 0x88;
        stack_.push_back(v);
        return absl::OkStatus();
      }
      case 'K': if (!Need(1)) return Error("truncated"); stack_.push_back(Int(Read<uint8_t>())); return absl::OkStatus();
      case 'M': if (!Need(2)) return Error("truncated"); stack_.push_back(Int(Read<uint16_t>())); return absl::OkStatus();
      case 'J': if (!Need(4)) return Error("truncated"); stack_.push_back(Int(Read<int32_t>())); return absl::OkStatus();
      case 0x8a: {  // LONG1
        if (!Need(1)) return Error("truncated");
        uint8_t n = Read<uint8_t>();
        if (!Need(n) || n > 8) return Error("unsupported long");
        int64_t v = 0;
        for (int k = 0; k < n; ++k) v |= static_cast<int64_t>(static_cast<uint8_t>(p_[k])) << (8 * k);
        if (n > 0 && n < 8 && (p_[n - 1] & 0x80)) v -= int64_t{1} << (8 * n);
        p_ += n;
        stack_.push_back(Int(v));
        return absl::OkStatus();
      }
      case 'G': {  // BINFLOAT, big-endian
        if (!Need(8)) return Error("truncated");
        uint64_t bits = 0;
        for (int k = 0; k < 8; ++k) bits = (bits << 8) | static_cast<uint8_t>(p_[k]);
        p_ += 8;
        auto v = std::make_shared<PyValue>();
        v->kind = PyValue::Kind::kFloat;
        std::memcpy(&v->f, &bits, 8);
        stack_.push_back(v);
        return absl::OkStatus();
      }
      case 'X': case 'T': case 'B': {  // BINUNICODE, BINSTRING, BINBYTES
        if (!Need(4)) return Error("truncated");
        uint32_t n = Read<uint32_t>();
        if (!Need(n)) return Error("truncated string");
        stack_.push_back(Str(std::string(p_, n)));
        p_ += n;
        return absl::OkStatus();
      }
      case 0x8c: case 'U': case 'C': {  // SHORT_BINUNICODE, SHORT_BINSTRING, SHORT_BINBYTES
        if (!Need(1)) return Error("truncated");
        uint8_t n = Read<uint8_t>();
        if (!Need(n)) return Error("truncated string");
        stack_.push_back(Str(std::string(p_, n)));
        p_ += n;
        return absl::OkStatus();
      }
      case 'c': {  // GLOBAL "module\nname\n"
        std::string module = ReadLine();
        std::string name = ReadLine();
        stack_.push_back(Global(module + "." + name));
        return absl::OkStatus();
      }
      case 0x93: {  // STACK_GLOBAL
        PyPtr name = Pop(), module = Pop();
        stack_.push_back(Global(module->s + "." + name->s));
        return absl::OkStatus();
      }
      case 'q': if (!Need(1)) return Error("truncated"); memo_[Read<uint8_t>()] = stack_.empty() ? MakeNone() : stack_.back(); return absl::OkStatus();
      case 'r': if (!Need(4)) return Error("truncated"); memo_[Read<uint32_t>()] = stack_.empty() ? MakeNone() : stack_.back(); return absl::OkStatus();
      case 0x94: memo_[memo_.size()] = stack_.empty() ? MakeNone() : stack_.back(); return absl::OkStatus();  // MEMOIZE
      case 'h': case 'j': {  // BINGET / LONG_BINGET
        size_t need = op == 'h' ? 1 : 4;
        if (!Need(need)) return Error("truncated");
        uint32_t k = op == 'h' ? Read<uint8_t>() : Read<uint32_t>();
        auto it = memo_.find(k);
        if (it == memo_.end()) return Error("memo key missing");
        stack_.push_back(it->second);
        return absl::OkStatus();
      }
      case '}': case ']': {  // EMPTY_DICT / EMPTY_LIST
        auto v = std::make_shared<PyValue>();
        v->kind = op == '}' ? PyValue::Kind::kDict : PyValue::Kind::kList;
        stack_.push_back(v);
        return absl::OkStatus();
      }
      case ')': stack_.push_back(Tuple({})); return absl::OkStatus();
      case 't': stack_.push_back(Tuple(PopMark())); return absl::OkStatus();
      case 0x85: case 0x86: case 0x87: {  // TUPLE1..3
        size_t n = op - 0x84;
        if (stack_.size() < n) return Error("stack underflow");
        std::vector<PyPtr> items(stack_.end() - n, stack_.end());
        stack_.resize(stack_.size() - n);
        stack_.push_back(Tuple(std::move(items)));
        return absl::OkStatus();
      }
      case 'l': {  // LIST
        auto v = std::make_shared<PyValue>();
        v->kind = PyValue::Kind::kList;
        v->items = PopMark();
        stack_.push_back(v);
        return absl::OkStatus();
      }
      case 'a': {  // APPEND
        PyPtr x = Pop();
        if (stack_.empty()) return absl::OkStatus();
        if (Reaches(x.get(), stack_.back().get())) return Error("a container that holds itself");
        stack_.back()->items.push_back(x);
        return absl::OkStatus();
      }
      case 'e': {  // APPENDS
        auto items = PopMark();
        if (stack_.empty()) return absl::OkStatus();
        for (auto& x : items) {
          if (Reaches(x.get(), stack_.back().get())) return Error("a container that holds itself");
          stack_.back()->items.push_back(x);
        }
        return absl::OkStatus();
      }
      case 's': {  // SETITEM
        PyPtr value = Pop(), key = Pop();
        if (stack_.empty()) return absl::OkStatus();
        if (Reaches(key.get(), stack_.back().get()) || Reaches(value.get(), stack_.back().get())) {
          return Error("a container that holds itself");
        }
        stack_.back()->dict.emplace_back(key, value);
        return absl::OkStatus();
      }
      case 'u': {  // SETITEMS
        auto items = PopMark();
        if (stack_.empty() || items.size() % 2) return Error("bad SETITEMS");
        for (size_t k = 0; k + 1 < items.size(); k += 2) {
          if (Reaches(items[k].get(), stack_.back().get()) || Reaches(items[k + 1].get(), stack_.back().get())) {
            return Error("a container that holds itself");
          }
          stack_.back()->dict.emplace_back(items[k], items[k + 1]);
        }
        return absl::OkStatus();
      }
      case 'd': {  // DICT
        auto items = PopMark();
        auto v = std::make_shared<PyValue>();
        v->kind = PyValue::Kind::kDict;
        for (size_t k = 0; k + 1 < items.size(); k += 2) v->dict.emplace_back(items[k], items[k + 1]);
        stack_.push_back(v);
        return absl::OkStatus();
      }
      case 'R': {  // REDUCE
        PyPtr args = Pop(), fn = Pop();
        auto r = Reduce(*fn, *args);
        if (!r.ok()) return r.status();
        stack_.push_back(*r);
        return absl::OkStatus();
      }
      case 0x81: {  // NEWOBJ
        PyPtr args = Pop(), cls = Pop();
        auto r = Reduce(*cls, *args);
        if (!r.ok()) return r.status();
        stack_.push_back(*r);
        return absl::OkStatus();
      }
      case 'b': Pop(); return absl::OkStatus();  // BUILD: attributes such as a state dict's _metadata
      case 'Q': {  // BINPERSID
        PyPtr pid = Pop();
        auto r = LoadStorage(*pid);
        if (!r.ok()) return r.status();
        stack_.push_back(*r);
        return absl::OkStatus();
      }
      case '0': Pop(); return absl::OkStatus();  // POP
      case '2': if (!stack_.empty()) stack_.push_back(stack_.back()); return absl::OkStatus();  // DUP
      default:
        return Error(absl::StrCat("unsupported pickle opcode 0x", absl::Hex(op)));
    }
  }

  std::string path_;
  const char* p_;
  const char* end_;
  const ZipRecords* records_;
  std::string prefix_;
  std::shared_ptr<MappedFile> file_;
  std::vector<PyPtr> stack_;
  std::vector<size_t> marks_;
  std::map<uint32_t, PyPtr> memo_;
  std::map<std::string, PyPtr> storages_;
  bool done_ = false;
};

}  // namespace

absl::StatusOr<PyValue> Unpickle(const std::string& path, const ZipRecord& pickle, const ZipRecords* records,
                                 std::string prefix, std::shared_ptr<MappedFile> file) {
  Unpickler u(path, pickle, records, std::move(prefix), std::move(file));
  return u.Run();
}

const char* StorageName(torch::ScalarType t) {
  switch (t) {
    case torch::kFloat32: return "FloatStorage";
    case torch::kFloat64: return "DoubleStorage";
    case torch::kFloat16: return "HalfStorage";
    case torch::kBFloat16: return "BFloat16Storage";
    case torch::kInt64: return "LongStorage";
    case torch::kInt32: return "IntStorage";
    case torch::kInt16: return "ShortStorage";
    case torch::kInt8: return "CharStorage";
    case torch::kUInt8: return "ByteStorage";
    case torch::kBool: return "BoolStorage";
    default: return nullptr;
  }
}

}  // namespace uer::runtime::io
