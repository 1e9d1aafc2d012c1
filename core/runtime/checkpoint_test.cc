#include "core/runtime/checkpoint.h"

#include <cstring>
#include <fstream>
#include <sstream>

#include <torch/torch.h>

#include "core/runtime/checksum.h"
#include "testing/test_util.h"

namespace uer::runtime {
namespace {

using ::testing::HasSubstr;
using ::uer::testing::ReadFile;
using ::uer::testing::StatusIs;

void WriteAll(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

StateDict Small() {
  return {{"w", torch::arange(6, torch::kFloat).reshape({2, 3})}, {"b", torch::tensor({7.5, -1.0})}};
}

TEST(Crc32cTest, KnownValues) {
  EXPECT_EQ(Crc32c("123456789", 9), 0xE3069283u);  // the standard check value
  EXPECT_EQ(Crc32c("", 0), 0u);
  // In pieces as in one go, across the 8-byte rounds.
  const std::string s = "The quick brown fox jumps over the lazy dog, twice over.";
  EXPECT_EQ(Crc32c(s.data() + 5, s.size() - 5, Crc32c(s.data(), 5)), Crc32c(s.data(), s.size()));
  EXPECT_EQ(MaskCrc(0), 0xa282ead8u);
}

// uer-cc's checkpoints end with the whole file's CRC-32 as the zip comment.
TEST(CheckpointTest, WritesItsChecksumAndReadsItBack) {
  const std::string dir = uer::testing::TempDir("ckpt_crc");
  const std::string path = dir + "/m.bin";
  ASSERT_OK(SaveStateDict(path, Small()));
  const std::string bytes = ReadFile(path);
  ASSERT_GT(bytes.size(), 21u);
  EXPECT_EQ(bytes.substr(bytes.size() - 21, 13), "uer-cc crc32 ");
  ASSERT_OK_AND_ASSIGN(StateDict sd, LoadStateDict(path));
  ASSERT_EQ(sd.size(), 2u);
  EXPECT_TRUE(torch::equal(sd[0].second, Small()[0].second));
  EXPECT_TRUE(torch::equal(sd[1].second, Small()[1].second));
}

// Any one flipped byte is refused with the file named, never loaded.
TEST(CheckpointTest, EveryFlippedByteIsFound) {
  const std::string dir = uer::testing::TempDir("ckpt_flip");
  const std::string path = dir + "/m.bin", flipped = dir + "/flipped.bin";
  ASSERT_OK(SaveStateDict(path, Small()));
  const std::string bytes = ReadFile(path);
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string b = bytes;
    b[i] ^= 0x04;
    WriteAll(flipped, b);
    absl::StatusOr<StateDict> sd = LoadStateDict(flipped);
    ASSERT_FALSE(sd.ok()) << "byte " << i << " of " << bytes.size() << " was not noticed";
    EXPECT_THAT(sd.status().message(), HasSubstr(flipped)) << "byte " << i;
  }
  // Cut anywhere: refused too.
  for (size_t n : {size_t{0}, size_t{10}, bytes.size() / 2, bytes.size() - 1}) {
    WriteAll(flipped, bytes.substr(0, n));
    EXPECT_THAT(LoadStateDict(flipped), StatusIs(absl::StatusCode::kDataLoss, HasSubstr(flipped))) << n;
  }
}

// A file without uer-cc's comment (torch.save's, transformers') has each record's CRC-32 checked.
TEST(CheckpointTest, OtherWritersFilesHaveTheirRecordsChecked) {
  const std::string dir = uer::testing::TempDir("ckpt_foreign");
  const std::string path = dir + "/m.bin", plain = dir + "/plain.bin";
  ASSERT_OK(SaveStateDict(path, Small()));
  std::string bytes = ReadFile(path);
  bytes.resize(bytes.size() - 21);  // drop the comment and zero its length, as torch.save writes it
  bytes[bytes.size() - 2] = 0;
  bytes[bytes.size() - 1] = 0;
  WriteAll(plain, bytes);
  ASSERT_OK_AND_ASSIGN(StateDict sd, LoadStateDict(plain));
  EXPECT_TRUE(torch::equal(sd[0].second, Small()[0].second));
  // The first weight's value 1.0f (bytes 00 00 80 3f), damaged in place.
  const float one = 1.0f;
  const size_t at = bytes.find(std::string(reinterpret_cast<const char*>(&one), 4));
  ASSERT_NE(at, std::string::npos);
  bytes[at + 3] ^= 0x01;
  WriteAll(plain, bytes);
  EXPECT_THAT(LoadStateDict(plain),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("record 'archive/data/0' fails its CRC-32 check")));
  // A comment that is not uer-cc's checksum.
  bytes = ReadFile(path);
  bytes[bytes.size() - 5] = 'z';
  WriteAll(plain, bytes);
  EXPECT_THAT(LoadStateDict(plain), StatusIs(absl::StatusCode::kDataLoss, HasSubstr("not uer-cc's checksum")));
}

// A tensor under two names (tied weights) is one storage in the file, as torch.save writes it, and
// comes back tied; the file is as large as one copy.
TEST(CheckpointTest, TiedTensorsAreWrittenOnce) {
  const std::string dir = uer::testing::TempDir("ckpt_tied");
  torch::Tensor w = torch::rand({64, 32});
  ASSERT_OK(SaveStateDict(dir + "/tied.bin", {{"a", w}, {"b", w}, {"c", w.clone()}}));
  ASSERT_OK(SaveStateDict(dir + "/one.bin", {{"a", w}, {"c", w.clone()}}));
  const std::string tied = ReadFile(dir + "/tied.bin"), one = ReadFile(dir + "/one.bin");
  EXPECT_LT(tied.size(), one.size() + 200);
  ASSERT_OK_AND_ASSIGN(StateDict sd, LoadStateDict(dir + "/tied.bin"));
  ASSERT_EQ(sd.size(), 3u);
  EXPECT_TRUE(torch::equal(sd[0].second, w));
  EXPECT_TRUE(torch::equal(sd[2].second, w));
  EXPECT_EQ(sd[0].second.data_ptr(), sd[1].second.data_ptr());
  EXPECT_NE(sd[0].second.data_ptr(), sd[2].second.data_ptr());
}

// Tied means the same view of one storage: a transposed or shifted view of it is a tensor of its
// own, written as such (it reads back with its own values).
TEST(CheckpointTest, OtherViewsOfAStorageAreNotTied) {
  const std::string dir = uer::testing::TempDir("ckpt_views");
  torch::Tensor w = torch::rand({16, 16});
  ASSERT_OK(SaveStateDict(dir + "/views.bin", {{"w", w}, {"t", w.t()}, {"row", w[3]}, {"same", w.view({16, 16})}}));
  ASSERT_OK_AND_ASSIGN(StateDict sd, LoadStateDict(dir + "/views.bin"));
  ASSERT_EQ(sd.size(), 4u);
  EXPECT_TRUE(torch::equal(sd[1].second, w.t()));
  EXPECT_TRUE(torch::equal(sd[2].second, w[3]));
  EXPECT_EQ(sd[0].second.data_ptr(), sd[3].second.data_ptr());
  EXPECT_NE(sd[0].second.data_ptr(), sd[1].second.data_ptr());
}

// Sizes and offsets written as zip64 fields (as for a model of 4 GiB and more) read back.
TEST(CheckpointTest, Zip64FieldsReadBack) {
  const std::string dir = uer::testing::TempDir("ckpt_zip64");
  SetZip64ThresholdForTesting(0);
  absl::Status saved = SaveStateDict(dir + "/m.bin", Small());
  SetZip64ThresholdForTesting(~uint64_t{0});
  ASSERT_OK(saved);
  const std::string bytes = ReadFile(dir + "/m.bin");
  EXPECT_NE(bytes.find(std::string("\x01\x00\x10\x00", 4)), std::string::npos);  // a local zip64 field
  ASSERT_OK_AND_ASSIGN(StateDict sd, LoadStateDict(dir + "/m.bin"));
  ASSERT_EQ(sd.size(), 2u);
  EXPECT_TRUE(torch::equal(sd[0].second, Small()[0].second));
  EXPECT_TRUE(torch::equal(sd[1].second, Small()[1].second));
}

// Tensors read are views of the mapped file; writing to one changes neither the file nor a
// second read of it.
TEST(CheckpointTest, ReadTensorsAreCopyOnWrite) {
  const std::string dir = uer::testing::TempDir("ckpt_cow");
  ASSERT_OK(SaveStateDict(dir + "/m.bin", Small()));
  const std::string before = ReadFile(dir + "/m.bin");
  ASSERT_OK_AND_ASSIGN(StateDict a, LoadStateDict(dir + "/m.bin"));
  a[0].second.add_(100);
  ASSERT_OK_AND_ASSIGN(StateDict b, LoadStateDict(dir + "/m.bin"));
  EXPECT_TRUE(torch::equal(b[0].second, Small()[0].second));
  EXPECT_TRUE(torch::equal(a[0].second, Small()[0].second + 100));
  EXPECT_EQ(ReadFile(dir + "/m.bin"), before);
}

}  // namespace
}  // namespace uer::runtime
