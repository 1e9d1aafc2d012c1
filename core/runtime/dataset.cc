#include "core/runtime/dataset.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "zlib.h"
#include "core/log.h"
#include "core/status_macros.h"

namespace uer::runtime {
using namespace ::uer::core;  // NOLINT: the SDK types the runtime works with

uint64_t Fnv1a64(const void* data, size_t size, uint64_t h) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < size; ++i) {
    h ^= p[i];
    h *= 1099511628211ULL;
  }
  return h;
}

uint64_t VocabChecksum(const Vocab& vocab) {
  uint64_t h = 1469598103934665603ULL;
  for (const std::string& t : vocab.tokens()) {
    h = Fnv1a64(t.data(), t.size(), h);
    h = Fnv1a64("\n", 1, h);
  }
  return h;
}

absl::StatusOr<std::unique_ptr<DatasetPartWriter>> DatasetPartWriter::Create(const std::string& prefix) {
  auto w = std::unique_ptr<DatasetPartWriter>(new DatasetPartWriter());
  w->data_path_ = TemporaryPath(prefix + ".data");
  w->offsets_path_ = TemporaryPath(prefix + ".offsets");
  w->data_ = fopen(w->data_path_.c_str(), "wb");
  w->offsets_ = fopen(w->offsets_path_.c_str(), "wb");
  if (!w->data_ || !w->offsets_) {
    unlink(w->data_path_.c_str());
    unlink(w->offsets_path_.c_str());
    return absl::PermissionDeniedError(absl::StrCat("cannot write ", prefix, ".*: ", std::strerror(errno)));
  }
  return w;
}

DatasetPartWriter::~DatasetPartWriter() {
  if (data_) fclose(data_);
  if (offsets_) fclose(offsets_);
}

absl::Status DatasetPartWriter::Add(const std::vector<int32_t>& record) {
  uint64_t start = words_;
  if (fwrite(&start, sizeof(start), 1, offsets_) != 1 ||
      fwrite(record.data(), sizeof(int32_t), record.size(), data_) != record.size()) {
    return absl::DataLossError(absl::StrCat("cannot write ", data_path_, ": ", std::strerror(errno)));
  }
  data_crc_ = crc32_z(data_crc_, reinterpret_cast<const Bytef*>(record.data()), record.size() * sizeof(int32_t));
  words_ += record.size();
  ++count_;
  return absl::OkStatus();
}

absl::Status DatasetPartWriter::Close() {
  bool ok = fclose(data_) == 0;
  ok = (fclose(offsets_) == 0) && ok;
  data_ = offsets_ = nullptr;
  if (!ok) return absl::DataLossError(absl::StrCat("cannot write ", data_path_, ": ", std::strerror(errno)));
  return absl::OkStatus();
}

namespace {

// Appends `path` to `out`; with `crc`, adds `add` to every uint64 (offsets) and updates *crc with
// what was written.
absl::Status CopyFile(FILE* out, const std::string& path, const std::string& dest, uint64_t add,
                      uint32_t* crc = nullptr) {
  if (crc == nullptr) {
    // Kernel-side copy, no trip through user space.
    int in_fd = open(path.c_str(), O_RDONLY);
    if (in_fd < 0) return absl::DataLossError(absl::StrCat("cannot read ", path, ": ", std::strerror(errno)));
    struct stat st;
    fstat(in_fd, &st);
    fflush(out);
    int out_fd = fileno(out);
    off_t left = st.st_size;
    bool ok = true;
    while (left > 0) {
      ssize_t n = copy_file_range(in_fd, nullptr, out_fd, nullptr, static_cast<size_t>(left), 0);
      if (n <= 0) { ok = n == 0 && left == 0; break; }
      left -= n;
    }
    close(in_fd);
    if (!ok) return absl::DataLossError(absl::StrCat("cannot write ", dest, ": ", std::strerror(errno)));
    fseeko(out, 0, SEEK_END);
    return absl::OkStatus();
  }
  FILE* in = fopen(path.c_str(), "rb");
  if (!in) return absl::DataLossError(absl::StrCat("cannot read ", path, ": ", std::strerror(errno)));
  std::vector<char> buf(1 << 22);
  size_t n;
  bool ok = true;
  while ((n = fread(buf.data(), 1, buf.size(), in)) > 0) {
    if (add) {  // offsets: shift by the words of the parts before
      auto* w = reinterpret_cast<uint64_t*>(buf.data());
      for (size_t i = 0; i < n / 8; ++i) w[i] += add;
    }
    *crc = crc32_z(*crc, reinterpret_cast<const Bytef*>(buf.data()), n);
    if (fwrite(buf.data(), 1, n, out) != n) { ok = false; break; }
  }
  fclose(in);
  if (!ok) return absl::DataLossError(absl::StrCat("cannot write ", dest, ": ", std::strerror(errno)));
  return absl::OkStatus();
}

}  // namespace

absl::Status MergeDatasetParts(const std::string& path, DatasetHeader header,
                               const std::vector<DatasetPartWriter*>& parts) {
  header.instance_count = 0;
  header.data_words = 0;
  for (auto* p : parts) {
    header.instance_count += p->count();
    header.data_words += p->words();
  }
  // The payload's CRC: the offsets' (computed as they are shifted below) combined with the data's
  // (each part's, kept as it was written).
  uint32_t data_crc = 0;
  for (auto* p : parts) data_crc = crc32_combine(data_crc, p->data_crc32(), p->words() * sizeof(int32_t));
  const std::string tmp = TemporaryPath(path);
  FILE* out = fopen(tmp.c_str(), "wb");
  if (!out) return absl::PermissionDeniedError(absl::StrCat("cannot write ", tmp, ": ", std::strerror(errno)));
  absl::Status st;
  if (fwrite(&header, sizeof(header), 1, out) != 1) st = absl::DataLossError(absl::StrCat("cannot write ", tmp));
  uint64_t base = 0;
  uint32_t crc = 0;
  for (auto* p : parts) {
    if (!st.ok()) break;
    st = CopyFile(out, p->offsets_path(), tmp, base, &crc);  // shifted by the words of the parts before
    base += p->words();
  }
  if (st.ok() && fwrite(&header.data_words, sizeof(uint64_t), 1, out) != 1) {
    st = absl::DataLossError(absl::StrCat("cannot write ", tmp));
  }
  crc = crc32_z(crc, reinterpret_cast<const Bytef*>(&header.data_words), sizeof(uint64_t));
  header.payload_crc32 = crc32_combine(crc, data_crc, header.data_words * sizeof(int32_t));
  header.flags |= kDatasetPayloadCrc;
  header.header_checksum = Fnv1a64(&header, offsetof(DatasetHeader, header_checksum));
  for (auto* p : parts) {
    if (!st.ok()) break;
    st = CopyFile(out, p->data_path(), tmp, 0);
  }
  // The header again, now with the payload's CRC.
  if (st.ok() && (fflush(out) != 0 || pwrite(fileno(out), &header, sizeof(header), 0) != sizeof(header))) {
    st = absl::DataLossError(absl::StrCat("cannot write ", tmp, ": ", std::strerror(errno)));
  }
  bool ok = fflush(out) == 0 && fsync(fileno(out)) == 0;
  ok = (fclose(out) == 0) && ok;
  if (st.ok() && !ok) st = absl::DataLossError(absl::StrCat("cannot write ", tmp, ": ", std::strerror(errno)));
  for (auto* p : parts) {
    unlink(p->data_path().c_str());
    unlink(p->offsets_path().c_str());
  }
  if (!st.ok()) {
    unlink(tmp.c_str());
    return st;
  }
  return CommitTemporary(tmp, path);
}

absl::StatusOr<std::unique_ptr<Dataset>> Dataset::Open(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY);
  if (fd < 0) return absl::NotFoundError(absl::StrCat("cannot open dataset ", path, ": ", std::strerror(errno)));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return absl::InvalidArgumentError(absl::StrCat("dataset ", path, S_ISDIR(st.st_mode) ? " is a directory, not a file"
                                                                                         : " is not a regular file"));
  }
  const size_t size = static_cast<size_t>(st.st_size);
  if (size < sizeof(DatasetHeader)) {
    close(fd);
    return absl::InvalidArgumentError(absl::StrCat(
        path, " is not a uer-cc dataset (", size, " bytes; UER-py's pickled dataset.pt files must be "
        "built again with //tools:preprocess)"));
  }
  void* map = mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  close(fd);
  if (map == MAP_FAILED) return absl::InternalError(absl::StrCat("cannot map ", path, ": ", std::strerror(errno)));
  auto ds = std::unique_ptr<Dataset>(new Dataset());
  ds->path_ = path;
  ds->map_ = map;
  ds->map_size_ = size;
  ds->header_ = static_cast<const DatasetHeader*>(map);
  const DatasetHeader& h = *ds->header_;
  if (std::memcmp(h.magic, kDatasetMagic, 8) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(path, " is not a uer-cc dataset (bad magic; UER-py's "
                                                   "pickled dataset.pt files must be built again with //tools:preprocess)"));
  }
  if (h.format_version != 1 && h.format_version != kDatasetFormatVersion) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": dataset format version ", h.format_version,
                                                   ", this uer-cc reads 1 and ", kDatasetFormatVersion));
  }
  if (h.header_checksum != Fnv1a64(&h, offsetof(DatasetHeader, header_checksum))) {
    return absl::DataLossError(absl::StrCat(path, ": the header checksum does not match (corrupt file)"));
  }
  // Sizes checked before they are multiplied: a crafted count must not wrap the arithmetic around.
  const uint64_t room = size - sizeof(DatasetHeader);
  if (h.instance_count == 0 || h.instance_count > room / 8 - 1 ||
      h.data_words > (room - (h.instance_count + 1) * 8) / 4) {
    return absl::DataLossError(absl::StrCat(path, ": the header's instance count (", h.instance_count, ") and data size (",
                                            h.data_words, " words) do not fit the file's ", size, " bytes (truncated or corrupt file)"));
  }
  if (h.seq_length == 0 || h.seq_length > (1u << 20)) {
    return absl::DataLossError(absl::StrCat(path, ": seq_length ", h.seq_length, " in the header (corrupt file)"));
  }
  const size_t expect = sizeof(DatasetHeader) + (h.instance_count + 1) * 8 + h.data_words * 4;
  if (size != expect) {
    return absl::DataLossError(absl::StrCat(path, ": ", size, " bytes but the header describes ", expect,
                                            " (truncated or corrupt file)"));
  }
  ds->offsets_ = reinterpret_cast<const uint64_t*>(static_cast<const char*>(map) + sizeof(DatasetHeader));
  ds->data_ = reinterpret_cast<const int32_t*>(ds->offsets_ + h.instance_count + 1);
  if (h.flags & kDatasetPayloadCrc) {
    const size_t payload = size - sizeof(DatasetHeader);
    const uint32_t crc = crc32_z(0, reinterpret_cast<const Bytef*>(ds->offsets_), payload);
    if (crc != h.payload_crc32) {
      return absl::DataLossError(absl::StrCat(path, ": the payload's CRC-32 is ", absl::Hex(crc), ", the header says ",
                                              absl::Hex(h.payload_crc32), " (corrupt file: run preprocess again)"));
    }
  }
  if (ds->offsets_[h.instance_count] != h.data_words) {
    return absl::DataLossError(absl::StrCat(path, ": the offsets do not end at the data size (corrupt file)"));
  }
  for (uint64_t i = 0; i < h.instance_count; ++i) {
    if (ds->offsets_[i] > ds->offsets_[i + 1]) {
      return absl::DataLossError(absl::StrCat(path, ": the offset of instance ", i, " lies past the next one's (corrupt file)"));
    }
  }
  if (h.format_version == 1) {
    // Format 1 named its target by a code: the data side that claims the code is the target.
    core::registry::ResolveAll();
    for (const std::string& name : core::registry::Names(core::PluginKind::kTargetData)) {
      auto f = core::FindFactory<core::TargetDataFactory>(name);
      if (f.ok() && (*f)->legacy_format1_code() == h.target_code) ds->data_side_ = *f;
    }
    if (ds->data_side_ == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": format 1 target code ", h.target_code,
                                                     " is claimed by no loaded target"));
    }
    ds->target_ = ds->data_side_->name();
    ds->record_version_ = 1;
  } else {
    ds->target_ = std::string(h.target_name, strnlen(h.target_name, sizeof(h.target_name)));
    ds->record_version_ = h.record_version;
    auto f = core::FindTargetData(ds->target_);
    if (!f.ok()) {
      return absl::Status(f.status().code(), absl::StrCat(path, " holds instances of target \"", ds->target_,
                                                          "\", which has no data side here: ", f.status().message()));
    }
    ds->data_side_ = *f;
  }
  ds->fields_ = ds->data_side_->Fields();
  if (ds->record_version_ != ds->data_side_->record_version()) {
    return absl::FailedPreconditionError(absl::StrCat(
        path, ": its ", ds->target_, " records are version ", ds->record_version_, ", the loaded target reads version ",
        ds->data_side_->record_version(), ": run preprocess again"));
  }
  return ds;
}

Dataset::~Dataset() {
  if (map_) munmap(map_, map_size_);
}

core::DataSpec Dataset::spec() const {
  const DatasetHeader& h = *header_;
  core::DataSpec s;
  s.seq_length = h.seq_length;
  s.vocab_size = static_cast<int64_t>(h.vocab_size);
  s.pad_id = h.pad_id;
  s.unk_id = h.unk_id;
  s.cls_id = h.cls_id;
  s.sep_id = h.sep_id;
  s.mask_id = h.mask_id;
  return s;
}

absl::Status Dataset::CheckCompatible(const Vocab& vocab, const std::string& target) const {
  const DatasetHeader& h = *header_;
  if (target_ != target) {
    return absl::FailedPreconditionError(absl::StrCat(path_, " was built for target ", target_, ", not ", target,
                                                      ": run preprocess with --target ", target));
  }
  if (h.vocab_size != static_cast<uint64_t>(vocab.size()) || h.vocab_checksum != VocabChecksum(vocab)) {
    return absl::FailedPreconditionError(absl::StrCat(path_, " was built with another vocabulary (",
                                                      h.vocab_size, " tokens) than ", vocab.path(), " (",
                                                      vocab.size(), " tokens)"));
  }
  return absl::OkStatus();
}

absl::Status Dataset::Decode(uint64_t i, core::RowView* row) const {
  if (i >= size()) return absl::OutOfRangeError(absl::StrCat("instance ", i, " of ", size(), " in ", path_));
  const InstanceView v = Instance(i);
  const core::DataSpec s = spec();
  absl::Status st = data_side_->Decode(v.data, v.words, s, row);
  if (!st.ok()) {
    return absl::DataLossError(absl::StrCat(path_, ": instance ", i, " (", target_, ") is malformed: ", st.message()));
  }
  // Every value that will index a table is checked here, so that a damaged file is named instead
  // of reaching an embedding or a softmax with an id past its end.
  auto bad = [&](const std::string& what, int64_t value, int64_t limit) {
    return absl::DataLossError(absl::StrCat(path_, ": instance ", i, " (", target_, ") holds ", what, " ", value,
                                            ", outside [0, ", limit, ") (corrupt file)"));
  };
  const int64_t seq = s.seq_length;
  for (int64_t k = 0; k < seq; ++k) {
    if (row->src[k] < 0 || row->src[k] >= s.vocab_size) return bad("the token id", row->src[k], s.vocab_size);
    if (row->seg[k] < 0 || row->seg[k] > 2) return bad("the segment id", row->seg[k], 3);
  }
  for (size_t f = 0; f < fields_.size(); ++f) {
    const core::FieldSpec& spec = fields_[f];
    const int64_t limit = spec.token_ids ? s.vocab_size : spec.max_value + 1;
    if (!spec.token_ids && spec.max_value < 0) continue;
    const int64_t n = spec.per_position ? seq : 1;
    for (int64_t k = 0; k < n; ++k) {
      const int64_t value = row->fields[f][k];
      if (value < 0 || value >= limit) return bad(absl::StrCat("a ", spec.name, " value"), value, limit);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<DatasetHeader> NewDatasetHeader(const core::TargetDataFactory& target, const Vocab& vocab,
                                               int seq_length, int seed, int dup_factor) {
  const std::string name = target.name();
  DatasetHeader h;
  std::memset(&h, 0, sizeof(h));
  if (name.size() >= sizeof(h.target_name)) {
    return absl::InvalidArgumentError(absl::StrCat("target name \"", name, "\" is longer than ",
                                                   sizeof(h.target_name) - 1, " bytes"));
  }
  std::memcpy(h.magic, kDatasetMagic, 8);
  h.format_version = kDatasetFormatVersion;
  std::memcpy(h.target_name, name.data(), name.size());
  h.record_version = target.record_version();
  h.seq_length = static_cast<uint32_t>(seq_length);
  h.vocab_size = static_cast<uint64_t>(vocab.size());
  h.vocab_checksum = VocabChecksum(vocab);
  h.pad_id = static_cast<int32_t>(vocab.pad_id());
  h.unk_id = static_cast<int32_t>(vocab.unk_id());
  h.cls_id = static_cast<int32_t>(vocab.cls_id());
  h.sep_id = static_cast<int32_t>(vocab.sep_id());
  h.mask_id = static_cast<int32_t>(vocab.mask_id());
  h.seed = static_cast<uint64_t>(seed);
  h.dup_factor = static_cast<uint32_t>(dup_factor);
  return h;
}

const std::vector<int64_t>& DecodedInstance::Field(const std::string& name) const {
  static const std::vector<int64_t>* empty = new std::vector<int64_t>();
  auto it = fields.find(name);
  return it == fields.end() ? *empty : it->second;
}

absl::StatusOr<DecodedInstance> DecodeInstance(const Dataset& ds, uint64_t index) {
  const core::DataSpec spec = ds.spec();
  const int64_t seq = spec.seq_length;
  const std::vector<core::FieldSpec> specs = ds.data().Fields();
  DecodedInstance d;
  d.src.assign(seq, spec.pad_id);
  d.seg.assign(seq, 0);
  core::RowView row;
  row.src = d.src.data();
  row.seg = d.seg.data();
  for (const core::FieldSpec& f : specs) d.fields[f.name].assign(f.per_position ? seq : 1, 0);
  for (const core::FieldSpec& f : specs) row.fields.push_back(d.fields[f.name].data());
  UER_RETURN_IF_ERROR(ds.Decode(index, &row));
  return d;
}

}  // namespace uer::runtime
