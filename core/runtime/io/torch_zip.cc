#include "core/runtime/io/torch_zip.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "core/runtime/checksum.h"
#include "core/runtime/file_io.h"
#include "core/status_macros.h"

namespace uer::runtime::io {
namespace {

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

}  // namespace

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

namespace {

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

}  // namespace

absl::Status WriteTorchZip(const std::string& path, const std::string& pickle,
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

void SetZip64Threshold(uint64_t bytes) { zip64_from = std::min<uint64_t>(bytes, kMax32); }

}  // namespace uer::runtime::io
