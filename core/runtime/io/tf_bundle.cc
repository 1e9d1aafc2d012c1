// TensorFlow checkpoints, V2 tensor bundles (declared in core/runtime/interop.h).
#include <leveldb/env.h>
#include <leveldb/iterator.h>
#include <leveldb/options.h>
#include <leveldb/table.h>
#include <leveldb/table_builder.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

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

}  // namespace uer::runtime
