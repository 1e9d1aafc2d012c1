#include "core/runtime/file_io.h"

#include <sys/mman.h>
#include <csignal>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "testing/test_util.h"

namespace uer::runtime {
namespace {

using ::uer::testing::ReadFile;

std::string Pattern(size_t n, int seed) {
  std::string s(n, '\0');
  uint32_t x = static_cast<uint32_t>(seed) * 2654435761u + 1;
  for (char& c : s) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<char>(x >> 24);
  }
  return s;
}

TEST(Crc32Test, KnownValuesAndCombining) {
  EXPECT_EQ(Crc32("123456789", 9), 0xCBF43926u);  // the standard check value
  EXPECT_EQ(Crc32("", 0), 0u);
  const std::string s = Pattern(100000, 1);
  const uint32_t a = Crc32(s.data(), 12345), b = Crc32(s.data() + 12345, s.size() - 12345);
  EXPECT_EQ(Crc32(s.data() + 12345, s.size() - 12345, a), Crc32(s.data(), s.size()));
  EXPECT_EQ(Crc32Combine(a, b, s.size() - 12345), Crc32(s.data(), s.size()));
}

// Every size around the 4 KiB blocks and the 8 MiB buffers comes back byte for byte, written in
// pieces of every kind; the file is there only once committed.
void CheckWrites(const std::string& dir) {
  for (size_t n : {size_t{0}, size_t{1}, size_t{4095}, size_t{4096}, size_t{4097}, (size_t{8} << 20) - 1,
                   size_t{8} << 20, (size_t{8} << 20) + 3, size_t{20} << 20}) {
    const std::string path = dir + "/out_" + std::to_string(n);
    const std::string data = Pattern(n, static_cast<int>(n));
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<OutputFile> out, OutputFile::Create(path));
    size_t at = 0, piece = 1;
    while (at < n) {
      const size_t m = std::min(piece, n - at);
      out->Write(data.data() + at, m);
      at += m;
      piece = piece * 7 + 3;
    }
    EXPECT_EQ(out->size(), n);
    EXPECT_FALSE(std::filesystem::exists(path)) << "visible before Commit: " << path;
    ASSERT_OK(out->Commit());
    EXPECT_EQ(ReadFile(path), data) << n;
    EXPECT_FALSE(std::filesystem::exists(path + ".tmp." + std::to_string(getpid())));
  }
}

TEST(OutputFileTest, WritesEverySizeExactly) { CheckWrites(uer::testing::TempDir("file_io_sizes")); }

// Where the file system has no O_DIRECT (tmpfs), ordinary writes give the same bytes.
TEST(OutputFileTest, WritesWithoutDirectIo) {
  if (!std::filesystem::is_directory("/dev/shm")) GTEST_SKIP() << "no /dev/shm";
  const std::string dir = "/dev/shm/uer_file_io_test_" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  CheckWrites(dir);
  std::filesystem::remove_all(dir);
}

TEST(OutputFileTest, UncommittedLeavesTheOldFileAndNoTemporary) {
  const std::string dir = uer::testing::TempDir("file_io_abandon");
  const std::string path = dir + "/model.bin";
  std::ofstream(path) << "old";
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<OutputFile> out, OutputFile::Create(path));
    const std::string data = Pattern(size_t{9} << 20, 3);
    out->Write(data.data(), data.size());
  }
  EXPECT_EQ(ReadFile(path), "old");
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), std::filesystem::directory_iterator()), 1);
}

TEST(OutputFileTest, AnUnwritableFolderIsAnError) {
  EXPECT_FALSE(OutputFile::Create("/nonexistent_folder/x.bin").ok());
}

// Released pages read back the file's bytes; a page written to (the process's own copy) is kept.
TEST(MappedFileTest, ReleaseKeepsWrittenPagesAndTheData) {
  const std::string dir = uer::testing::TempDir("file_io_map");
  const std::string path = dir + "/data.bin";
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const std::string data = Pattern(64 * page, 5);
  std::ofstream(path, std::ios::binary) << data;
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<MappedFile> f, MappedFile::Open(path));
  ASSERT_EQ(f->size(), data.size());
  ASSERT_EQ(std::string(f->data(), f->size()), data);  // every page read in
  f->data()[10 * page + 5] = 'X';                      // page 10 is now the process's own
  const size_t released = ReleaseCleanPages(f->data(), f->size());
  EXPECT_EQ(released, 63 * page);
  std::string expect = data;
  expect[10 * page + 5] = 'X';
  EXPECT_EQ(std::string(f->data(), f->size()), expect);
  // Memory that is not a mapped file is never touched.
  std::string heap = data;
  EXPECT_EQ(ReleaseCleanPages(heap.data(), heap.size()), 0u);
  EXPECT_EQ(heap, data);
  // Nor is a mapping that has gone.
  char* gone = f->data();
  f.reset();
  EXPECT_EQ(ReleaseCleanPages(gone, page), 0u);
}

// Whether this process has the page at p in memory (/proc/self/pagemap's bit 63).
bool Resident(const void* p) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  std::ifstream pagemap("/proc/self/pagemap", std::ios::binary);
  pagemap.seekg(static_cast<std::streamoff>(reinterpret_cast<uintptr_t>(p) / page * 8));
  uint64_t e = 0;
  pagemap.read(reinterpret_cast<char*>(&e), 8);
  return (e >> 63) & 1;
}

// A mapped input written out (from an odd offset, across 8 MB pieces) comes back byte for byte with
// its CRC-32, and its pages are handed back as they are written: none of them is left in memory.
TEST(MappedFileTest, WriteMappedCopiesAndHandsPagesBack) {
  const std::string dir = uer::testing::TempDir("file_io_write_mapped");
  const std::string data = Pattern((size_t{20} << 20) + 12345, 9);
  std::ofstream(dir + "/in.bin", std::ios::binary) << data;
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<MappedFile> f, MappedFile::Open(dir + "/in.bin"));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<OutputFile> out, OutputFile::Create(dir + "/out.bin"));
  const size_t skip = 100;
  uint32_t crc = 0;
  size_t seen = 0, largest = 0;
  out->WriteMapped(f->data() + skip, f->size() - skip, [&](const char* p, size_t n) {
    EXPECT_EQ(p, f->data() + skip + seen);  // every byte once, in order
    crc = Crc32(p, n, crc);
    seen += n;
    largest = std::max(largest, n);
  });
  EXPECT_EQ(seen, data.size() - skip);
  EXPECT_LE(largest, size_t{1} << 20);
  EXPECT_EQ(crc, Crc32(data.data() + skip, data.size() - skip));
  out->WriteMapped(f->data(), skip);
  ASSERT_OK(out->Commit());
  EXPECT_EQ(ReadFile(dir + "/out.bin"), data.substr(skip) + data.substr(0, skip));
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  size_t resident = 0;
  for (size_t at = page; at + page < f->size(); at += page) resident += Resident(f->data() + at);
  EXPECT_EQ(resident, 0u);
}

// A mapped input rewritten in place while an output is made from it (a torch.save over it): the
// output is refused, naming the input; one replaced by a rename (the mapping keeps the old file) is not.
TEST(MappedFileTest, AnInputRewrittenInPlaceIsNotCommitted) {
  const std::string dir = uer::testing::TempDir("file_io_rewritten");
  const std::string data = Pattern(100000, 3);
  for (bool in_place : {true, false}) {
    std::ofstream(dir + "/in.bin", std::ios::binary) << data;
    ASSERT_OK_AND_ASSIGN(std::shared_ptr<MappedFile> f, MappedFile::Open(dir + "/in.bin"));
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<OutputFile> out, OutputFile::Create(dir + "/out.bin"));
    out->WriteMapped(f->data(), f->size());
    usleep(30000);  // past the file system clock's tick: the rewrite gets a new time
    if (in_place) {
      std::ofstream(dir + "/in.bin", std::ios::binary) << Pattern(100000, 4);
      const absl::Status st = out->Commit();
      EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss);
      EXPECT_NE(st.message().find(dir + "/in.bin"), std::string::npos) << st;
      EXPECT_FALSE(std::filesystem::exists(dir + "/out.bin"));
    } else {
      std::ofstream(dir + "/new.bin", std::ios::binary) << Pattern(100000, 4);
      std::filesystem::rename(dir + "/new.bin", dir + "/in.bin");
      ASSERT_OK(out->Commit());
      EXPECT_EQ(ReadFile(dir + "/out.bin"), data);
    }
  }
}

// A mapped file cut short by another program: reading a page past its new end is SIGBUS; the process
// says which file and exits 1, and removes the temporary files of its unfinished outputs.
TEST(MappedFileDeathTest, ACutShortFileIsNamedNotACrash) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const std::string dir = uer::testing::TempDir("file_io_sigbus");
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  std::ofstream(dir + "/cut.bin", std::ios::binary) << Pattern(16 * page, 6);
  EXPECT_EXIT(
      {
        auto f = MappedFile::Open(dir + "/cut.bin");
        auto out = OutputFile::Create(dir + "/out.bin");
        if (!f.ok() || !out.ok() || truncate((dir + "/cut.bin").c_str(), 0) != 0) std::_Exit(3);
        volatile char c = (*f)->data()[8 * page];
        (void)c;
        std::_Exit(4);
      },
      ::testing::ExitedWithCode(1), "cut.bin was cut short on disk while it was being read");
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos) << e.path();
  }
}

// A SIGBUS another process sends (kill -BUS) is not a file cut short: it kills as it would have.
TEST(MappedFileDeathTest, ASentSigbusIsNotTakenForACutFile) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const std::string dir = uer::testing::TempDir("file_io_sent_sigbus");
  std::ofstream(dir + "/whole.bin", std::ios::binary) << Pattern(8192, 7);
  EXPECT_EXIT(
      {
        auto f = MappedFile::Open(dir + "/whole.bin");
        if (!f.ok()) std::_Exit(3);
        raise(SIGBUS);
        std::_Exit(4);
      },
      ::testing::KilledBySignal(SIGBUS), "");
}

TEST(MappedFileTest, MissingFileIsNotFound) {
  EXPECT_EQ(MappedFile::Open("/nonexistent/file.bin").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace uer::runtime
