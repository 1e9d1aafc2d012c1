#include "core/dataset.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace uer::core {

const char* DatasetTargetName(DatasetTarget t) {
  switch (t) {
    case DatasetTarget::kBert: return "bert";
    case DatasetTarget::kMlm: return "mlm";
    case DatasetTarget::kLm: return "lm";
    case DatasetTarget::kBilm: return "bilm";
    case DatasetTarget::kCls: return "cls";
  }
  return "unknown";
}

absl::StatusOr<DatasetTarget> ParseDatasetTarget(const std::string& name) {
  for (DatasetTarget t : {DatasetTarget::kBert, DatasetTarget::kMlm, DatasetTarget::kLm,
                          DatasetTarget::kBilm, DatasetTarget::kCls}) {
    if (name == DatasetTargetName(t)) return t;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown dataset target \"", name, "\"; known: bert, mlm, lm, bilm, cls"));
}

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
  w->data_path_ = prefix + ".data";
  w->offsets_path_ = prefix + ".offsets";
  w->data_ = fopen(w->data_path_.c_str(), "wb");
  w->offsets_ = fopen(w->offsets_path_.c_str(), "wb");
  if (!w->data_ || !w->offsets_) {
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

absl::Status CopyFile(FILE* out, const std::string& path, const std::string& dest, uint64_t add) {
  if (add == 0) {
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
  header.header_checksum = Fnv1a64(&header, offsetof(DatasetHeader, header_checksum));
  const std::string tmp = absl::StrCat(path, ".tmp.", getpid());
  FILE* out = fopen(tmp.c_str(), "wb");
  if (!out) return absl::PermissionDeniedError(absl::StrCat("cannot write ", tmp, ": ", std::strerror(errno)));
  absl::Status st;
  if (fwrite(&header, sizeof(header), 1, out) != 1) st = absl::DataLossError(absl::StrCat("cannot write ", tmp));
  uint64_t base = 0;
  for (auto* p : parts) {
    if (!st.ok()) break;
    // CopyFile adds `base` to every offset; the first part needs no shift.
    st = base == 0 ? CopyFile(out, p->offsets_path(), tmp, 0) : CopyFile(out, p->offsets_path(), tmp, base);
    base += p->words();
  }
  if (st.ok() && fwrite(&header.data_words, sizeof(uint64_t), 1, out) != 1) {
    st = absl::DataLossError(absl::StrCat("cannot write ", tmp));
  }
  for (auto* p : parts) {
    if (!st.ok()) break;
    st = CopyFile(out, p->data_path(), tmp, 0);
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
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    unlink(tmp.c_str());
    return absl::DataLossError(absl::StrCat("cannot rename ", tmp, " to ", path, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Dataset>> Dataset::Open(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY);
  if (fd < 0) return absl::NotFoundError(absl::StrCat("cannot open dataset ", path, ": ", std::strerror(errno)));
  struct stat st;
  fstat(fd, &st);
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
  if (h.format_version != kDatasetFormatVersion) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": dataset format version ", h.format_version,
                                                   ", this uer-cc reads ", kDatasetFormatVersion));
  }
  if (h.header_checksum != Fnv1a64(&h, offsetof(DatasetHeader, header_checksum))) {
    return absl::DataLossError(absl::StrCat(path, ": the header checksum does not match (corrupt file)"));
  }
  const size_t expect = sizeof(DatasetHeader) + (h.instance_count + 1) * 8 + h.data_words * 4;
  if (size != expect) {
    return absl::DataLossError(absl::StrCat(path, ": ", size, " bytes but the header describes ", expect,
                                            " (truncated or corrupt file)"));
  }
  ds->offsets_ = reinterpret_cast<const uint64_t*>(static_cast<const char*>(map) + sizeof(DatasetHeader));
  ds->data_ = reinterpret_cast<const int32_t*>(ds->offsets_ + h.instance_count + 1);
  if (ds->offsets_[h.instance_count] != h.data_words) {
    return absl::DataLossError(absl::StrCat(path, ": the offsets do not end at the data size (corrupt file)"));
  }
  return ds;
}

Dataset::~Dataset() {
  if (map_) munmap(map_, map_size_);
}

absl::Status Dataset::CheckCompatible(const Vocab& vocab, DatasetTarget target, int seq_length) const {
  const DatasetHeader& h = *header_;
  if (static_cast<DatasetTarget>(h.target) != target) {
    return absl::FailedPreconditionError(absl::StrCat(
        path_, " was built for target ", DatasetTargetName(static_cast<DatasetTarget>(h.target)),
        ", not ", DatasetTargetName(target), ": run preprocess with --target ", DatasetTargetName(target)));
  }
  if (static_cast<int>(h.seq_length) != seq_length) {
    return absl::FailedPreconditionError(absl::StrCat(path_, " was built with --seq_length ", h.seq_length,
                                                      ", not ", seq_length));
  }
  if (h.vocab_size != static_cast<uint64_t>(vocab.size()) || h.vocab_checksum != VocabChecksum(vocab)) {
    return absl::FailedPreconditionError(absl::StrCat(path_, " was built with another vocabulary (",
                                                      h.vocab_size, " tokens) than ", vocab.path(), " (",
                                                      vocab.size(), " tokens)"));
  }
  return absl::OkStatus();
}

}  // namespace uer::core
