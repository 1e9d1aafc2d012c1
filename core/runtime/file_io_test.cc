#include "core/runtime/file_io.h"

#include <sys/mman.h>
#include <unistd.h>

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

TEST(MappedFileTest, MissingFileIsNotFound) {
  EXPECT_EQ(MappedFile::Open("/nonexistent/file.bin").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace uer::runtime
