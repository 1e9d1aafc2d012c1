#include "core/runtime/file_io.h"

#include <fcntl.h>
#include <libdeflate.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/runtime/io/atomic_file.h"
#include "core/status_macros.h"

namespace uer::runtime {
namespace {

// What a mapped file was when it was opened: an output made from its bytes is committed only if the
// file is still that (see OutputFile::Commit).
struct Origin {
  std::string path;
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = 0;
  struct timespec mtime = {0, 0};
};

struct Mapping {
  size_t size;
  Origin origin;
};

// The live mappings, by start address (ReleaseCleanPages drops pages inside these only).
std::mutex& RegistryMutex() {
  static std::mutex m;
  return m;
}
std::map<uintptr_t, Mapping>& Registry() {
  static auto* r = new std::map<uintptr_t, Mapping>();
  return *r;
}

// The live mapping that holds address a, or null. Callers hold RegistryMutex.
const std::pair<const uintptr_t, Mapping>* MappingAt(uintptr_t a) {
  auto it = Registry().upper_bound(a);
  if (it == Registry().begin()) return nullptr;
  --it;
  return a < it->first + it->second.size ? &*it : nullptr;
}

// The registry again, for the SIGBUS handler, which may not lock: fixed slots of plain atomics.
// Another program cutting a mapped file short (cp or torch.save over it in place) makes the next
// read of a page past its new end raise SIGBUS; the handler names the file instead of crashing.
// Live outputs' temporary files are listed the same way, for the handler to remove.
constexpr int kSlots = 128;
constexpr size_t kSlotPath = 512;
struct Slot {
  std::atomic<uintptr_t> begin{0};  // 0: free
  std::atomic<uintptr_t> end{0};
  char path[kSlotPath] = {0};
};
Slot g_mapped[kSlots];
Slot g_temporaries[kSlots];  // begin: the OutputFile's address while it is live
struct sigaction g_previous_sigbus;

void WriteStderr(const char* s) {
  size_t n = std::strlen(s);
  while (n > 0) {
    const ssize_t w = write(STDERR_FILENO, s, n);
    if (w <= 0) return;
    s += w;
    n -= static_cast<size_t>(w);
  }
}

void OnSigbus(int sig, siginfo_t* info, void* context) {
  // A fault on a mapped file's page past its end (not a SIGBUS another process sent, whose si_addr
  // is no address, nor a hardware error).
  if (info != nullptr && info->si_code == BUS_ADRERR) {
    const uintptr_t a = reinterpret_cast<uintptr_t>(info->si_addr);
    for (Slot& s : g_mapped) {
      const uintptr_t begin = s.begin.load(std::memory_order_acquire);
      if (begin == 0 || a < begin || a >= s.end.load(std::memory_order_relaxed)) continue;
      WriteStderr("error: ");
      WriteStderr(s.path);
      WriteStderr(" was cut short on disk while it was being read (another program rewrote it in place);"
                  " nothing was written: run again once it is complete\n");
      for (Slot& t : g_temporaries) {
        if (t.begin.load(std::memory_order_acquire) != 0) unlink(t.path);
      }
      _exit(1);
    }
  }
  // Not ours: whoever handled SIGBUS before (glog's failure handler), else the default action
  // (raised again: pending until this handler returns).
  const auto previous = g_previous_sigbus.sa_handler;
  if (previous == SIG_IGN) return;
  if (previous != SIG_DFL) {
    if (g_previous_sigbus.sa_flags & SA_SIGINFO) {
      g_previous_sigbus.sa_sigaction(sig, info, context);
    } else {
      previous(sig);
    }
    return;
  }
  signal(SIGBUS, SIG_DFL);
  raise(SIGBUS);
}

void InstallSigbusHandler() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction action;
    std::memset(&action, 0, sizeof(action));
    action.sa_sigaction = OnSigbus;
    action.sa_flags = SA_SIGINFO;
    sigemptyset(&action.sa_mask);
    sigaction(SIGBUS, &action, &g_previous_sigbus);
  });
}

// Takes a free slot for [begin, end) and `path`; -1 when all are taken or the path does not fit
// (the handler then does without: a cut path could name another file). Callers hold RegistryMutex.
int TakeSlot(Slot* slots, uintptr_t begin, uintptr_t end, const std::string& path) {
  if (path.size() >= kSlotPath) return -1;
  for (int k = 0; k < kSlots; ++k) {
    uintptr_t expected = 0;
    if (slots[k].begin.load(std::memory_order_relaxed) != 0) continue;
    std::strncpy(slots[k].path, path.c_str(), kSlotPath - 1);
    slots[k].end.store(end, std::memory_order_relaxed);
    if (slots[k].begin.compare_exchange_strong(expected, begin, std::memory_order_release)) return k;
  }
  return -1;
}

void FreeSlot(Slot* slots, uintptr_t begin) {
  for (int k = 0; k < kSlots; ++k) {
    uintptr_t expected = begin;
    if (slots[k].begin.compare_exchange_strong(expected, 0, std::memory_order_release)) return;
  }
}

size_t PageSize() {
  static const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return page;
}

}  // namespace

absl::StatusOr<std::shared_ptr<MappedFile>> MappedFile::Open(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::NotFoundError(absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    const int e = errno;
    close(fd);
    return absl::DataLossError(absl::StrCat("cannot stat ", path, ": ", std::strerror(e)));
  }
  const size_t size = static_cast<size_t>(st.st_size);
  void* addr = nullptr;
  if (size > 0) {
    addr = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE, fd, 0);
    if (addr == MAP_FAILED) {
      const int e = errno;
      close(fd);
      return absl::DataLossError(absl::StrCat("cannot map ", path, ": ", std::strerror(e)));
    }
    InstallSigbusHandler();
    const uintptr_t begin = reinterpret_cast<uintptr_t>(addr);
    std::lock_guard<std::mutex> lock(RegistryMutex());
    Registry()[begin] = Mapping{size, Origin{path, st.st_dev, st.st_ino, st.st_size, st.st_mtim}};
    TakeSlot(g_mapped, begin, begin + size, path);
  }
  close(fd);
  return std::shared_ptr<MappedFile>(new MappedFile(addr, size));
}

MappedFile::~MappedFile() {
  if (addr_ == nullptr) return;
  {
    std::lock_guard<std::mutex> lock(RegistryMutex());
    Registry().erase(reinterpret_cast<uintptr_t>(addr_));
    FreeSlot(g_mapped, reinterpret_cast<uintptr_t>(addr_));
  }
  munmap(addr_, size_);
}

void PrefetchMapped(const void* p, size_t n) {
#if defined(MADV_POPULATE_READ)
  const size_t page = PageSize();
  uintptr_t begin = reinterpret_cast<uintptr_t>(p), end = begin + n;
  {
    std::lock_guard<std::mutex> lock(RegistryMutex());
    const auto* m = MappingAt(begin);
    if (m == nullptr) return;
    end = std::min<uintptr_t>(end, m->first + m->second.size);
  }
  begin = begin / page * page;
  if (end > begin) (void)madvise(reinterpret_cast<void*>(begin), end - begin, MADV_POPULATE_READ);
#else
  (void)p, (void)n;
#endif
}

size_t ReleaseCleanPages(const void* p, size_t n) {
  const size_t page = PageSize();
  uintptr_t begin = reinterpret_cast<uintptr_t>(p), end = begin + n;
  {
    std::lock_guard<std::mutex> lock(RegistryMutex());
    const auto* m = MappingAt(begin);
    if (m == nullptr) return 0;
    end = std::min<uintptr_t>(end, m->first + m->second.size);
  }
  begin = (begin + page - 1) / page * page;  // whole pages inside the range only
  end = end / page * page;
  if (end <= begin) return 0;
  // /proc/self/pagemap says, page by page, whether a page is the file's (bit 61) or the process's
  // own (a copy made when a view was written to), and whether it was swapped out (bit 62).
  const int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  constexpr uint64_t kSwapped = uint64_t{1} << 62, kPresent = uint64_t{1} << 63, kFile = uint64_t{1} << 61;
  std::vector<uint64_t> entries(4096);
  size_t released = 0;
  uintptr_t run = 0;  // the start of the current run of pages to drop, or 0
  auto flush = [&](uintptr_t until) {
    if (run != 0 && until > run && madvise(reinterpret_cast<void*>(run), until - run, MADV_DONTNEED) == 0) {
      released += until - run;
    }
    run = 0;
  };
  uintptr_t at = begin;
  while (at < end) {
    const size_t pages = std::min<size_t>(entries.size(), (end - at) / page);
    const ssize_t got = pread(fd, entries.data(), pages * 8, static_cast<off_t>(at / page * 8));
    if (got != static_cast<ssize_t>(pages * 8)) break;  // unreadable: keep what is not yet checked
    for (size_t k = 0; k < pages; ++k, at += page) {
      const uint64_t e = entries[k];
      const bool droppable = (e & kPresent) ? (e & kFile) != 0 : (e & kSwapped) == 0;
      if (droppable && run == 0) run = at;
      if (!droppable) flush(at);
    }
  }
  flush(std::min(at, end));
  close(fd);
  return released;
}

namespace {

constexpr size_t kAlign = 4096;                // what O_DIRECT asks of addresses, sizes and offsets
constexpr size_t kBufferSize = size_t{8} << 20;  // a multiple of kAlign
constexpr uint64_t kWritebackEvery = uint64_t{64} << 20;

// Writes n bytes at `offset` (so that a retry writes the same place again).
int WriteFully(int fd, const char* p, size_t n, uint64_t offset) {
  while (n > 0) {
    const ssize_t w = pwrite(fd, p, n, static_cast<off_t>(offset));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return w < 0 ? errno : EIO;
    p += w;
    n -= static_cast<size_t>(w);
    offset += static_cast<uint64_t>(w);
  }
  return 0;
}

}  // namespace

// Two buffers: the caller fills one while the thread writes the other.
struct OutputFile::Impl {
  char* buffers[2] = {nullptr, nullptr};
  int current = 0;
  size_t used = 0;  // bytes in buffers[current]
  std::thread thread;
  std::mutex mu;
  std::condition_variable cv;
  int pending = -1;  // the buffer the thread writes, or -1
  size_t pending_bytes = 0;
  bool stop = false;
  int error = 0;         // errno of the first failed write
  uint64_t written = 0;  // bytes written to the file (with the last buffer's padding)
  bool committed = false;
  std::set<uintptr_t> mappings;  // the mapped files WriteMapped copied from (by start address),
  std::vector<Origin> sources;   // and what each was then
};

absl::StatusOr<std::unique_ptr<OutputFile>> OutputFile::Create(const std::string& path) {
  const std::string tmp = TemporaryPath(path);
  bool direct = true;
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_DIRECT, 0644);
  if (fd < 0 && errno == EINVAL) {  // a file system without O_DIRECT (tmpfs)
    direct = false;
    fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  }
  if (fd < 0) return absl::PermissionDeniedError(absl::StrCat("cannot write ", tmp, ": ", std::strerror(errno)));
  return std::unique_ptr<OutputFile>(new OutputFile(path, tmp, fd, direct));
}

OutputFile::OutputFile(std::string path, std::string tmp, int fd, bool direct)
    : path_(std::move(path)), tmp_(std::move(tmp)), fd_(fd), direct_(direct), impl_(std::make_unique<Impl>()) {
  {
    std::lock_guard<std::mutex> lock(RegistryMutex());
    TakeSlot(g_temporaries, reinterpret_cast<uintptr_t>(this), 0, tmp_);
  }
  for (char*& b : impl_->buffers) b = static_cast<char*>(std::aligned_alloc(kAlign, kBufferSize));
  if (impl_->buffers[0] == nullptr || impl_->buffers[1] == nullptr) impl_->error = ENOMEM;
  impl_->thread = std::thread([this] {
    Impl& m = *impl_;
    uint64_t started = 0;  // the disk writes of [0, started) have been started (without O_DIRECT)
    std::unique_lock<std::mutex> lock(m.mu);
    while (true) {
      m.cv.wait(lock, [&] { return m.pending >= 0 || m.stop; });
      if (m.pending < 0) break;
      const char* data = m.buffers[m.pending];
      const size_t n = m.pending_bytes;
      const uint64_t at = m.written;
      lock.unlock();
      int e = WriteFully(fd_, data, n, at);
      if (e == EINVAL && direct_) {
        // The file system took O_DIRECT at open but refuses it now (or refused a short write's
        // unaligned rest): ordinary writes from here on, this buffer again from its start.
        const int flags = fcntl(fd_, F_GETFL);
        e = flags >= 0 && fcntl(fd_, F_SETFL, flags & ~O_DIRECT) == 0 ? WriteFully(fd_, data, n, at) : EINVAL;
      }
      lock.lock();
      if (e != 0 && m.error == 0) m.error = e;
      m.written += n;
#if defined(__linux__)
      if (m.written - started >= kWritebackEvery) {  // through the page cache: start its disk writes now
        (void)sync_file_range(fd_, static_cast<off64_t>(started), static_cast<off64_t>(m.written - started),
                              SYNC_FILE_RANGE_WRITE);
        started = m.written;
      }
#endif
      m.pending = -1;
      m.cv.notify_all();
    }
  });
}

OutputFile::~OutputFile() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stop = true;
  }
  impl_->cv.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
  for (char* b : impl_->buffers) std::free(b);
  if (fd_ >= 0) close(fd_);
  if (!impl_->committed) unlink(tmp_.c_str());
  std::lock_guard<std::mutex> lock(RegistryMutex());
  FreeSlot(g_temporaries, reinterpret_cast<uintptr_t>(this));
}

bool OutputFile::failed() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->error != 0;
}

void OutputFile::Flush(bool last) {
  Impl& m = *impl_;
  size_t bytes = m.used;
  if (last && bytes % kAlign != 0) {  // O_DIRECT writes whole blocks; Commit() cuts the file to size
    const size_t padded = (bytes + kAlign - 1) / kAlign * kAlign;
    std::memset(m.buffers[m.current] + bytes, 0, padded - bytes);
    bytes = padded;
  }
  {
    std::unique_lock<std::mutex> lock(m.mu);
    m.cv.wait(lock, [&] { return m.pending < 0; });
    m.pending = m.current;
    m.pending_bytes = bytes;
  }
  m.cv.notify_all();
  m.current ^= 1;
  m.used = 0;
}

void OutputFile::Write(const void* data, size_t n) {
  Impl& m = *impl_;
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    if (failed()) return;
    const size_t take = std::min(n, kBufferSize - m.used);
    std::memcpy(m.buffers[m.current] + m.used, p, take);
    m.used += take;
    size_ += take;
    p += take;
    n -= take;
    if (m.used == kBufferSize) Flush(/*last=*/false);
  }
}

void OutputFile::WriteMapped(const void* data, size_t n, const std::function<void(const char*, size_t)>& each) {
  constexpr uintptr_t kPiece = 8 << 20;  // brought in and handed back at once
  constexpr size_t kStep = 1 << 20;      // checksummed, then copied while in cache
  const char* p = static_cast<const char*>(data);
  if (n > 0) {  // remember the file, to check at Commit() that it did not change meanwhile
    std::lock_guard<std::mutex> lock(RegistryMutex());
    const auto* m = MappingAt(reinterpret_cast<uintptr_t>(p));
    if (m != nullptr && impl_->mappings.insert(m->first).second) impl_->sources.push_back(m->second.origin);
  }
  while (n > 0 && !failed()) {
    // Pieces end at 8 MB-aligned addresses, so that a page lies in one piece only: every whole page
    // is handed back (the partial pages at the two ends stay).
    const uintptr_t at = reinterpret_cast<uintptr_t>(p);
    const size_t m = std::min<size_t>(n, (at / kPiece + 1) * kPiece - at);
    PrefetchMapped(p, m);
    for (size_t done = 0; done < m; done += kStep) {
      const size_t k = std::min(kStep, m - done);
      if (each) each(p + done, k);
      Write(p + done, k);
    }
    ReleaseCleanPages(p, m);
    p += m;
    n -= m;
  }
}

absl::Status OutputFile::Commit() {
  Impl& m = *impl_;
  if (fd_ < 0) return absl::FailedPreconditionError(absl::StrCat(path_, ": Commit() was called already"));
  if (m.used > 0 && !failed()) Flush(/*last=*/true);
  {
    std::unique_lock<std::mutex> lock(m.mu);
    m.cv.wait(lock, [&] { return m.pending < 0; });
    m.stop = true;
  }
  m.cv.notify_all();
  m.thread.join();
  int e = m.error;
  if (e == 0 && m.written != size_ && ftruncate(fd_, static_cast<off_t>(size_)) != 0) e = errno;
  if (e == 0 && fsync(fd_) != 0) e = errno;
  if (close(fd_) != 0 && e == 0) e = errno;
  fd_ = -1;
  if (e != 0) return absl::DataLossError(absl::StrCat("cannot write ", path_, ": ", std::strerror(e)));
  // A mapped input rewritten in place meanwhile (a torch.save over it) may have lent this output
  // pages of its new content: the output is not trusted. One replaced by a rename is fine (the
  // mapping keeps the old file).
  for (const Origin& o : m.sources) {
    struct stat st;
    if (stat(o.path.c_str(), &st) != 0 || st.st_dev != o.dev || st.st_ino != o.ino) continue;
    if (st.st_size != o.size || st.st_mtim.tv_sec != o.mtime.tv_sec || st.st_mtim.tv_nsec != o.mtime.tv_nsec) {
      return absl::DataLossError(absl::StrCat("did not write ", path_, ": its input ", o.path,
                                              " was rewritten on disk while it was being read; run again once it is complete"));
    }
  }
  UER_RETURN_IF_ERROR(CommitTemporary(tmp_, path_));
  m.committed = true;
  return absl::OkStatus();
}

uint32_t Crc32(const void* p, size_t n, uint32_t crc) { return libdeflate_crc32(crc, p, n); }

uint32_t Crc32Combine(uint32_t crc_a, uint32_t crc_b, uint64_t length_b) {
  return static_cast<uint32_t>(crc32_combine64(crc_a, crc_b, static_cast<z_off64_t>(length_b)));
}

}  // namespace uer::runtime
