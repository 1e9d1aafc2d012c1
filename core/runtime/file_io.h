// Model files read through memory maps and written straight to the disk.
//
// A checkpoint's tensors are views of the mapped file (copy-on-write: MAP_PRIVATE, readable and
// writable), so a model read is in memory once and only the pages touched are. Writing a model out
// (a conversion, an average) streams it to disk and hands the pages of every mapped tensor it has
// written back to the kernel (`ReleaseCleanPages`): a view read again faults them back in from the
// page cache, and a page some view wrote to (now the process's own) is never dropped. A converter's
// peak memory is then the largest tensor, not the model.
//
// Written, a model goes through `OutputFile`: O_DIRECT from two aligned buffers, one filled while a
// thread writes the other, so each byte is copied once and the disk is kept busy; the page cache is
// bypassed (no page of the output is allocated, nothing is left to flush at the end).
//
//   UER_ASSIGN_OR_RETURN(std::shared_ptr<MappedFile> f, MappedFile::Open("model.safetensors"));
//   ... torch::from_blob(f->data() + offset, ..., [f](void*) {}) ...
//   UER_ASSIGN_OR_RETURN(std::unique_ptr<OutputFile> out, OutputFile::Create("model.bin"));
//   out->Write(bytes, n); ...
//   UER_RETURN_IF_ERROR(out->Commit());  // synced, then renamed over model.bin
#ifndef UER_CORE_RUNTIME_FILE_IO_H_
#define UER_CORE_RUNTIME_FILE_IO_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace uer::runtime {

// Another program may rewrite a mapped file meanwhile. Cut short (truncated, then written in place),
// the next read of a page past its new end raises SIGBUS: a handler installed with the first mapping
// names the file on stderr, removes the temporary files of unfinished OutputFiles and exits 1 (any
// other SIGBUS goes to the handler before it, or kills as by default). Rewritten in place, the bytes
// WriteMapped copied straight from it refuse their output at Commit() (tensors computed from it are
// not tracked; a same-size rewrite within the file system's clock tick goes unseen). Replaced by a
// rename, the mapping keeps the old file: nothing to do.
class MappedFile {
 public:
  // NotFound when the file cannot be opened; an empty file maps to size() == 0.
  static absl::StatusOr<std::shared_ptr<MappedFile>> Open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  char* data() const { return static_cast<char*>(addr_); }
  size_t size() const { return size_; }

 private:
  MappedFile(void* addr, size_t size) : addr_(addr), size_(size) {}
  void* addr_;
  size_t size_;
};

// An output written atomically: into PATH.tmp.PID, renamed over PATH by Commit() once on disk;
// destroyed uncommitted (an error, a crash of the caller's logic), the temporary file is removed and
// PATH is untouched. Writes go to the disk directly (O_DIRECT) where the file system allows it, else
// through the page cache with their disk writes started as they go. A failed write is remembered and
// returned by Commit(); the writes after it are skipped. Commit() also fails, writing nothing, when a
// mapped file WriteMapped copied from was rewritten in place since it was mapped (its size or time
// differ): the output may hold some of its new bytes. Keep no mapped views in long-lived state: each
// output made from one depends on its file staying untouched.
class OutputFile {
 public:
  static absl::StatusOr<std::unique_ptr<OutputFile>> Create(const std::string& path);
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  void Write(const void* data, size_t n);
  // Write() for bytes that may be a view of a MappedFile (a tensor of a model being converted): their
  // pages are brought in 8 MB at a time and handed back once copied (ReleaseCleanPages), so writing a
  // mapped model holds one piece of it in memory, not all of it. `each`, if given, sees the bytes in
  // pieces of at most 1 MB just before each is copied (a checksum taken while they are in cache).
  void WriteMapped(const void* data, size_t n, const std::function<void(const char*, size_t)>& each = nullptr);
  uint64_t size() const { return size_; }
  bool failed() const;
  absl::Status Commit();

 private:
  struct Impl;
  OutputFile(std::string path, std::string tmp, int fd, bool direct);
  void Flush(bool last);
  std::string path_, tmp_;
  int fd_;
  bool direct_;
  uint64_t size_ = 0;
  std::unique_ptr<Impl> impl_;
};

// Maps in, with one call, the pages of [p, p + n) that belong to a live MappedFile (cheaper than a
// fault for each); anything else is left alone.
void PrefetchMapped(const void* p, size_t n);

// Drops from this process the pages inside [p, p + n) that belong to a live MappedFile and were
// never written to; anything else (written pages, memory not mapped from a file) is left alone.
// No other thread may write to that memory meanwhile (a page checked clean and then written before
// it is dropped would lose the write): writers of model files call it on what they have just written.
// The data stays in the file and the page cache. Returns the bytes released.
size_t ReleaseCleanPages(const void* p, size_t n);

// The CRC-32 (zip's, ISO-HDLC) of `n` bytes, continuing `crc` (0 to start).
uint32_t Crc32(const void* p, size_t n, uint32_t crc = 0);
// The CRC-32 of a followed by b, from theirs and b's length.
uint32_t Crc32Combine(uint32_t crc_a, uint32_t crc_b, uint64_t length_b);

}  // namespace uer::runtime

#endif  // UER_CORE_RUNTIME_FILE_IO_H_
