#include "core/runtime/checkpoint.h"


#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <set>
#include <tuple>

#include <torch/torch.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/runtime/interop.h"
#include "core/runtime/file_io.h"

namespace uer::runtime {
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

// A stored record of a mapped zip: its bytes.
struct ZipRecord {
  const char* data;
  uint64_t size;
};
using ZipRecords = std::map<std::string, ZipRecord>;

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

// ---- Writing ---------------------------------------------------------------------------------

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

// ---- The zip container ---------------------------------------------------------------------------
// torch.save's zip, read and written here without LibTorch's miniz: read, the records are views of
// the mapped file (a model is in memory once); written, each byte is read once (its CRC-32 while it
// is in cache, then the write) and the disk writes start while the rest is still being written.
//
// PyTorch's zip reader does not check the CRC-32s its writer stores (its miniz is built without the
// checks), so a torn or bit-flipped checkpoint loads silently. uer-cc writes the CRC-32 of the whole
// file into the zip's comment and checks it on reading; a file another writer made (torch.save,
// transformers) has each record's CRC-32 checked instead.

constexpr size_t kEocdSize = 22;
constexpr uint32_t kEocdSignature = 0x06054b50;
constexpr char kChecksumCommentPrefix[] = "uer-cc crc32 ";
constexpr size_t kChecksumCommentSize = sizeof(kChecksumCommentPrefix) - 1 + 8;
constexpr uint32_t kMax32 = 0xffffffffu;

uint16_t Le16(const char* p) {
  const auto* u = reinterpret_cast<const uint8_t*>(p);
  return static_cast<uint16_t>(u[0] | u[1] << 8);
}
uint32_t Le32(const char* p) {
  const auto* u = reinterpret_cast<const uint8_t*>(p);
  return uint32_t{u[0]} | uint32_t{u[1]} << 8 | uint32_t{u[2]} << 16 | uint32_t{u[3]} << 24;
}
uint64_t Le64(const char* p) { return uint64_t{Le32(p)} | uint64_t{Le32(p + 4)} << 32; }

// The CRC-32 of a mapped file's bytes, read in pieces whose pages are handed back once read: checking
// a model does not bring all of it into memory at once (its tensors fault their pages in again when used).
uint32_t MappedCrc32(const char* p, uint64_t n) {
  constexpr uint64_t kPiece = 8 << 20;
  uint32_t crc = 0;
  for (uint64_t done = 0; done < n; done += kPiece) {
    const uint64_t m = std::min(kPiece, n - done);
    PrefetchMapped(p + done, m);
    crc = Crc32(p + done, m, crc);
    ReleaseCleanPages(p + done, m);
  }
  return crc;
}

// Reads a torch.save zip's central directory and checks its checksums: the whole file's (uer-cc's
// comment) or every stored record's.
absl::StatusOr<ZipRecords> ReadZip(const std::string& path, const char* data, uint64_t size) {
  auto corrupt = [&](const std::string& what) {
    return absl::DataLossError(absl::StrCat("checkpoint ", path, ": ", what));
  };
  auto truncated = [&](const std::string& what) {
    return absl::DataLossError(absl::StrCat("cannot read checkpoint ", path,
                                            " (truncated, or not a torch.save zip file): ", what));
  };
  if (size < kEocdSize) return truncated(absl::StrCat("only ", size, " bytes"));
  // The end-of-central-directory record: the last one whose comment ends the file.
  uint64_t eocd = size;
  const uint64_t lowest = size >= kEocdSize + 65535 ? size - kEocdSize - 65535 : 0;
  for (uint64_t at = size - kEocdSize + 1; at-- > lowest;) {
    if (Le32(data + at) == kEocdSignature && at + kEocdSize + Le16(data + at + 20) == size) {
      eocd = at;
      break;
    }
  }
  if (eocd == size) return truncated("no end-of-central-directory record at its end");
  const uint64_t comment_size = Le16(data + eocd + 20);
  bool whole_file_checked = false;
  if (comment_size > 0) {
    const std::string_view comment(data + eocd + kEocdSize, comment_size);
    const size_t prefix = sizeof(kChecksumCommentPrefix) - 1;
    uint32_t stored = 0;
    bool ok = comment.size() == kChecksumCommentSize && comment.substr(0, prefix) == kChecksumCommentPrefix;
    for (size_t i = prefix; ok && i < comment.size(); ++i) {
      const char c = comment[i];
      const int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
      ok = v >= 0;
      stored = stored << 4 | static_cast<uint32_t>(v & 0xf);
    }
    if (!ok) return corrupt("its zip comment is not uer-cc's checksum (a corrupt file?)");
    const uint32_t crc = MappedCrc32(data, size - comment_size);
    if (crc != stored) {
      return corrupt(absl::StrCat("its CRC-32 is ", absl::Hex(crc, absl::kZeroPad8), ", its checksum says ",
                                  absl::Hex(stored, absl::kZeroPad8), ": the file is corrupt (damaged on disk or in transfer)"));
    }
    whole_file_checked = true;
  }
  uint64_t entries = Le16(data + eocd + 10), cd_size = Le32(data + eocd + 12), cd_offset = Le32(data + eocd + 16);
  if (entries == 0xffff || cd_size == kMax32 || cd_offset == kMax32) {  // zip64
    if (eocd < 20 || Le32(data + eocd - 20) != 0x07064b50) return corrupt("a zip64 file without its locator");
    const uint64_t z = Le64(data + eocd - 20 + 8);
    if (size < 56 || z > size - 56 || Le32(data + z) != 0x06064b50) return corrupt("its zip64 end record lies outside the file");
    entries = Le64(data + z + 32);
    cd_size = Le64(data + z + 40);
    cd_offset = Le64(data + z + 48);
  }
  if (cd_offset > size || cd_size > size - cd_offset) return truncated("its central directory lies outside the file");
  ZipRecords records;
  uint64_t at = cd_offset;
  for (uint64_t k = 0; k < entries; ++k) {
    if (at + 46 > cd_offset + cd_size || Le32(data + at) != 0x02014b50) return corrupt("a damaged central directory");
    const uint16_t method = Le16(data + at + 10);
    const uint32_t crc = Le32(data + at + 16);
    uint64_t csize = Le32(data + at + 20), usize = Le32(data + at + 24);
    const uint16_t name_len = Le16(data + at + 28), extra_len = Le16(data + at + 30), comment_len = Le16(data + at + 32);
    uint64_t local = Le32(data + at + 42);
    if (at + 46 + name_len + extra_len + comment_len > cd_offset + cd_size) return corrupt("a damaged central directory");
    const std::string name(data + at + 46, name_len);
    // zip64 sizes and offset, in this order, for the fields that say 0xffffffff.
    const uint64_t extra_end = at + 46 + name_len + extra_len;
    for (uint64_t e = at + 46 + name_len; e + 4 <= extra_end;) {
      const uint16_t id = Le16(data + e), len = Le16(data + e + 2);
      const uint64_t field_end = std::min<uint64_t>(e + 4 + len, extra_end);  // never past the extra field
      uint64_t f = e + 4;
      if (id == 0x0001) {
        if (usize == kMax32 && f + 8 <= field_end) usize = Le64(data + f), f += 8;
        if (csize == kMax32 && f + 8 <= field_end) csize = Le64(data + f), f += 8;
        if (local == kMax32 && f + 8 <= field_end) local = Le64(data + f), f += 8;
      }
      e += 4 + len;
    }
    if (size < 30 || local > size - 30 || Le32(data + local) != 0x04034b50) {
      return corrupt(absl::StrCat("record '", name, "' has no local header where the directory says"));
    }
    const uint64_t begin = local + 30 + Le16(data + local + 26) + Le16(data + local + 28);
    // Reading a local header maps in the whole page-cache folio it lies in (up to 2 MB at once on
    // recent kernels), most of it a tensor's data. After the whole-file check, nothing else hands
    // those pages back before the tensors are used: handed back here, not piled up over the walk.
    // (Checked record by record, the record's own check below brings its pages in and hands them back.)
    if (whole_file_checked) {
      constexpr uint64_t kFolio = uint64_t{2} << 20;
      const uint64_t folio = local / kFolio * kFolio;
      ReleaseCleanPages(data + folio, std::min(size, folio + 2 * kFolio) - folio);
    }
    if (begin > size || csize > size - begin) return truncated(absl::StrCat("record '", name, "' runs past the end"));
    if (method != 0) {
      return corrupt(absl::StrCat("record '", name, "' is compressed (method ", method,
                                  "); torch.save stores its records uncompressed"));
    }
    if (usize != csize) {
      return corrupt(absl::StrCat("record '", name, "' is stored with two different sizes (", csize, " and ", usize, ")"));
    }
    if (!whole_file_checked && MappedCrc32(data + begin, csize) != crc) {
      return corrupt(absl::StrCat("record '", name, "' fails its CRC-32 check: the file is corrupt"));
    }
    records[name] = ZipRecord{data + begin, csize};
    at += 46 + name_len + extra_len + comment_len;
  }
  return records;
}

// Sizes and offsets from this one on are written as zip64 fields (lowered by tests).
uint64_t zip64_from = kMax32;

// Writes a zip as PyTorch's writer lays it out, so that torch.load (and zipfile) read it: stored
// records named "archive/NAME", each record's data 64-byte aligned (an "FB" extra field of 'Z's),
// CRC-32 and sizes in a data descriptor after the data, zip64 fields where a size or offset needs
// them, a zip64 end record always; then the whole file's CRC-32 as the comment.
class ZipWriter {
 public:
  explicit ZipWriter(OutputFile* out) : out_(out) {}

  void Add(const std::string& record, const void* data, uint64_t size) {
    const std::string name = "archive/" + record;
    const bool big = size >= zip64_from;
    const uint64_t offset = out_->size();
    std::string header;
    Put32(&header, 0x04034b50);
    Put16(&header, big ? 45 : 0);  // version needed
    Put16(&header, 0x0808);        // data descriptor, UTF-8 names
    Put16(&header, 0);             // stored
    Put32(&header, 0);             // time, date
    Put32(&header, 0);             // CRC-32: in the descriptor
    Put32(&header, big ? kMax32 : 0);
    Put32(&header, big ? kMax32 : 0);
    const uint64_t zip64_extra = big ? 20 : 0;
    const uint64_t start = offset + 30 + name.size() + zip64_extra + 4;
    const uint64_t padding = (64 - start % 64) % 64;
    Put16(&header, static_cast<uint16_t>(name.size()));
    Put16(&header, static_cast<uint16_t>(zip64_extra + 4 + padding));
    header += name;
    if (big) {
      Put16(&header, 0x0001);
      Put16(&header, 16);
      Put64(&header, size);
      Put64(&header, size);
    }
    header += "FB";
    Put16(&header, static_cast<uint16_t>(padding));
    header.append(padding, 'Z');
    Write(header.data(), header.size());
    uint32_t crc = 0;
    out_->WriteMapped(data, size, [&crc](const char* p, size_t n) { crc = Crc32(p, n, crc); });
    file_crc_ = Crc32Combine(file_crc_, crc, size);
    std::string descriptor;
    Put32(&descriptor, 0x08074b50);
    Put32(&descriptor, crc);
    if (big) {
      Put64(&descriptor, size);
      Put64(&descriptor, size);
    } else {
      Put32(&descriptor, static_cast<uint32_t>(size));
      Put32(&descriptor, static_cast<uint32_t>(size));
    }
    Write(descriptor.data(), descriptor.size());
    entries_.push_back({name, crc, size, offset});
  }

  // The central directory and end records, with the whole file's CRC-32 as the comment
  // ("uer-cc crc32 89abcdef", which ReadZip checks; zip readers, torch.load's among them, skip it).
  void Finish() {
    const uint64_t cd_offset = out_->size();
    std::string cd;
    for (const Entry& e : entries_) {
      const bool big_size = e.size >= zip64_from, big_offset = e.offset >= zip64_from;
      Put32(&cd, 0x02014b50);
      Put16(&cd, big_size || big_offset ? 45 : 0);  // made by
      Put16(&cd, big_size || big_offset ? 45 : 0);  // needed
      Put16(&cd, 0x0808);
      Put16(&cd, 0);
      Put32(&cd, 0);
      Put32(&cd, e.crc);
      Put32(&cd, big_size ? kMax32 : static_cast<uint32_t>(e.size));
      Put32(&cd, big_size ? kMax32 : static_cast<uint32_t>(e.size));
      Put16(&cd, static_cast<uint16_t>(e.name.size()));
      const uint16_t extra = big_size || big_offset ? static_cast<uint16_t>(4 + (big_size ? 16 : 0) + (big_offset ? 8 : 0)) : 0;
      Put16(&cd, extra);
      Put16(&cd, 0);  // comment
      Put16(&cd, 0);  // disk
      Put16(&cd, 0);  // internal attributes
      Put32(&cd, 0);  // external attributes
      Put32(&cd, big_offset ? kMax32 : static_cast<uint32_t>(e.offset));
      cd += e.name;
      if (extra > 0) {
        Put16(&cd, 0x0001);
        Put16(&cd, static_cast<uint16_t>(extra - 4));
        if (big_size) {
          Put64(&cd, e.size);
          Put64(&cd, e.size);
        }
        if (big_offset) Put64(&cd, e.offset);
      }
    }
    const uint64_t zip64_end = cd_offset + cd.size();
    const uint64_t count = entries_.size();
    Put32(&cd, 0x06064b50);
    Put64(&cd, 44);
    Put16(&cd, 0x031e);
    Put16(&cd, 45);
    Put32(&cd, 0);
    Put32(&cd, 0);
    Put64(&cd, count);
    Put64(&cd, count);
    Put64(&cd, zip64_end - cd_offset);
    Put64(&cd, cd_offset);
    Put32(&cd, 0x07064b50);  // the zip64 end record's locator
    Put32(&cd, 0);
    Put64(&cd, zip64_end);
    Put32(&cd, 1);
    Put32(&cd, kEocdSignature);
    Put16(&cd, 0);
    Put16(&cd, 0);
    Put16(&cd, static_cast<uint16_t>(std::min<uint64_t>(count, 0xffff)));
    Put16(&cd, static_cast<uint16_t>(std::min<uint64_t>(count, 0xffff)));
    Put32(&cd, zip64_end - cd_offset >= zip64_from ? kMax32 : static_cast<uint32_t>(zip64_end - cd_offset));
    Put32(&cd, cd_offset >= zip64_from ? kMax32 : static_cast<uint32_t>(cd_offset));
    Put16(&cd, static_cast<uint16_t>(kChecksumCommentSize));
    Write(cd.data(), cd.size());
    char comment[kChecksumCommentSize + 1];
    std::snprintf(comment, sizeof(comment), "%s%08x", kChecksumCommentPrefix, file_crc_);
    Write(comment, kChecksumCommentSize);
  }

  uint32_t file_crc() const { return file_crc_; }

 private:
  struct Entry {
    std::string name;
    uint32_t crc;
    uint64_t size;
    uint64_t offset;
  };
  static void Put16(std::string* s, uint16_t v) { s->append(reinterpret_cast<const char*>(&v), 2); }
  static void Put32(std::string* s, uint32_t v) { s->append(reinterpret_cast<const char*>(&v), 4); }
  static void Put64(std::string* s, uint64_t v) { s->append(reinterpret_cast<const char*>(&v), 8); }

  void Write(const char* p, size_t n) {
    file_crc_ = Crc32(p, n, file_crc_);
    out_->Write(p, n);
  }

  OutputFile* out_;
  uint32_t file_crc_ = 0;
  std::vector<Entry> entries_;
};

absl::Status WriteTorchFile(const std::string& path, const std::string& pickle,
                            const std::vector<torch::Tensor>& storages) {
  UER_ASSIGN_OR_RETURN(std::unique_ptr<OutputFile> out, OutputFile::Create(path));
  ZipWriter zip(out.get());
  zip.Add("data.pkl", pickle.data(), pickle.size());
  zip.Add("byteorder", "little", 6);
  for (size_t k = 0; k < storages.size() && !out->failed(); ++k) {
    const torch::Tensor& t = storages[k];
    zip.Add("data/" + std::to_string(k), t.data_ptr(), static_cast<uint64_t>(t.numel()) * t.element_size());
  }
  // What PyTorch's writer ends with: the format version, and an id for the file (here from its
  // contents, so that the same model gives the same bytes).
  zip.Add("version", "3\n", 2);
  char id[41];
  std::snprintf(id, sizeof(id), "%040u", zip.file_crc());
  zip.Add(".data/serialization_id", id, 40);
  zip.Finish();
  return out->Commit();
}

std::string FirstLine(const std::string& s) { return s.substr(0, s.find('\n')); }

}  // namespace

const PyValue* PyValue::Get(const std::string& key) const {
  for (const auto& [k, v] : dict) {
    if (k->kind == Kind::kString && k->s == key) return v.get();
  }
  return nullptr;
}

void SetZip64ThresholdForTesting(uint64_t bytes) { zip64_from = std::min<uint64_t>(bytes, kMax32); }

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
  UER_ASSIGN_OR_RETURN(ZipRecords records, ReadZip(path, (*file)->data(), (*file)->size()));
  // The records sit in one folder named after the archive ("archive/data.pkl"), as torch.load finds them.
  const std::string first = records.empty() ? std::string() : records.begin()->first;
  const std::string prefix = first.substr(0, first.find('/') + 1);
  auto pickle = records.find(prefix + "data.pkl");
  if (prefix.empty() || pickle == records.end()) {
    return absl::InvalidArgumentError(absl::StrCat(path, " is not a torch.save file (no data.pkl)"));
  }
  try {
    Unpickler u(path, pickle->second, &records, prefix, *file);
    return u.Run();
  } catch (const std::exception& e) {
    return absl::DataLossError(absl::StrCat("cannot read checkpoint ", path, ": ", FirstLine(e.what())));
  }
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
  Pickler p;
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
      if (!StorageName(t->scalar_type())) {
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
  return WriteTorchFile(path, p.out(), storages);
}

absl::Status SaveTensor(const std::string& path, const torch::Tensor& tensor) {
  torch::Tensor c = tensor.detach().to(torch::kCPU).contiguous();
  if (!StorageName(c.scalar_type())) {
    return absl::InvalidArgumentError(absl::StrCat("cannot save a tensor of dtype ", c.scalar_type()));
  }
  Pickler p;
  p.Proto();
  p.Tensor(c, "0");
  p.Op(".");
  return WriteTorchFile(path, p.out(), {c});
}

}  // namespace uer::runtime
