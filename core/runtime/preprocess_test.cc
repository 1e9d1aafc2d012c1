#include "core/runtime/preprocess.h"

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>

#include <cstddef>
#include <cstring>
#include <filesystem>
#include <set>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "core/runtime/dataset.h"
#include "core/runtime/loader.h"
#include "testing/test_util.h"

namespace uer::runtime {
namespace {

using ::testing::HasSubstr;
using ::uer::testing::ReadFile;
using ::uer::testing::RunfilePath;
using ::uer::testing::StatusIs;

class PreprocessTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    for (const char* n : {"bert/libuer_tokenizer_bert.so", "char/libuer_tokenizer_char.so",
                          "space/libuer_tokenizer_space.so"}) {
      ASSERT_OK(LoadPlugin(RunfilePath(std::string("plugins/tokenizers/") + n)));
    }
    EnableLazyBuiltinPlugins();  // the targets' data sides, by name
  }
  void SetUp() override { vocab_ = ::uer::testing::WriteUerVocab(dir_, "abcdefghijklmnopqrstuvwxyz"); }
  std::string Write(const std::string& name, const std::string& text) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
  PreprocessOptions Options(const std::string& corpus, const std::string& target) {
    PreprocessOptions o;
    o.corpus_path = corpus;
    o.vocab_path = vocab_;
    o.dataset_path = dir_ + "/" + target + ".uer";
    o.tokenizer = "char";
    o.target = target;
    o.seq_length = 16;
    o.dup_factor = 2;
    return o;
  }
  std::string dir_ = ::uer::testing::TempDir("preprocess");
  std::string vocab_;
};

constexpr int kCls = 101, kSep = 102, kMask = 103;

TEST_F(PreprocessTest, BertInstancesHaveUerPysStructure) {
  std::string corpus = Write("bert.txt", "abcdefg\nhijklmn\nopq\n\nrstuv\nwxyz\n\nabc\ndef\nghi\n\n");
  PreprocessOptions o = Options(corpus, "bert");
  ASSERT_OK_AND_ASSIGN(PreprocessStats s, RunPreprocess(o));
  ASSERT_OK_AND_ASSIGN(auto ds, Dataset::Open(o.dataset_path));
  EXPECT_EQ(ds->size(), static_cast<uint64_t>(s.stats.instances));
  EXPECT_GT(s.stats.instances, 0);
  EXPECT_EQ(ds->target(), "bert");
  EXPECT_EQ(ds->header().seq_length, 16u);
  for (uint64_t i = 0; i < ds->size(); ++i) {
    ASSERT_OK_AND_ASSIGN(DecodedInstance d, DecodeInstance(*ds, i));
    EXPECT_EQ(d.src[0], kCls);
    int64_t a_end = 0, b_end = 0;
    while (a_end < 16 && d.seg[a_end] == 1) ++a_end;
    b_end = a_end;
    while (b_end < 16 && d.seg[b_end] == 2) ++b_end;
    ASSERT_GT(a_end, 1);
    ASSERT_GT(b_end, a_end);
    EXPECT_EQ(d.src[a_end - 1], kSep);
    EXPECT_EQ(d.src[b_end - 1], kSep);
    for (int64_t k = b_end; k < 16; ++k) EXPECT_EQ(d.src[k], 0);  // padding
    const std::vector<int64_t>& tgt = d.Field("tgt_mlm");
    for (int64_t k = 0; k < 16; ++k) {
      if (tgt[k] != 0) {  // a predicted position: never [CLS]/[SEP], holds the original letter
        EXPECT_NE(tgt[k], kCls);
        EXPECT_NE(tgt[k], kSep);
        EXPECT_GE(tgt[k], 104);
      } else if (k < b_end && d.src[k] != kCls && d.src[k] != kSep) {
        EXPECT_GE(d.src[k], 104);  // not predicted: unchanged
      }
    }
    EXPECT_TRUE(d.Field("tgt_nsp")[0] == 0 || d.Field("tgt_nsp")[0] == 1);
  }
}

TEST_F(PreprocessTest, SameFlagsSameFile) {
  std::string corpus = Write("bert2.txt", "abcdefg\nhijklmn\n\nopq\nrstuv\n\nwxyz\nabc\n");
  PreprocessOptions o = Options(corpus, "bert");
  ASSERT_OK(RunPreprocess(o));
  std::ifstream a(o.dataset_path, std::ios::binary);
  std::stringstream first;
  first << a.rdbuf();
  ASSERT_OK(RunPreprocess(o));
  std::ifstream b(o.dataset_path, std::ios::binary);
  std::stringstream second;
  second << b.rdbuf();
  EXPECT_EQ(first.str(), second.str());
  o.seed = 8;
  ASSERT_OK(RunPreprocess(o));
  std::ifstream c(o.dataset_path, std::ios::binary);
  std::stringstream third;
  third << c.rdbuf();
  EXPECT_NE(first.str(), third.str());
}

TEST_F(PreprocessTest, MlmDupFactorCopiesEveryLine) {
  // UER-py's seed writes one copy and then fails on a closed file; uer-cc writes dup_factor copies.
  std::string corpus = Write("mlm.txt", "abcdefghijklmnopqrstuvwxyz\nabc\n\nxyz\n");
  PreprocessOptions o = Options(corpus, "mlm");
  o.dup_factor = 3;
  ASSERT_OK_AND_ASSIGN(PreprocessStats s, RunPreprocess(o));
  EXPECT_EQ(s.stats.instances, 9);  // 3 non-empty lines x 3
  ASSERT_OK_AND_ASSIGN(auto ds, Dataset::Open(o.dataset_path));
  ASSERT_OK_AND_ASSIGN(DecodedInstance first, DecodeInstance(*ds, 0));
  EXPECT_EQ(std::count(first.seg.begin(), first.seg.end(), 1), 16);  // truncated to seq_length, no [CLS]
  ASSERT_OK_AND_ASSIGN(DecodedInstance second, DecodeInstance(*ds, 1));
  EXPECT_EQ(std::count(second.seg.begin(), second.seg.end(), 1), 3);
  // Two workers give the same instances (the lines are sliced, each worker seeded alike).
  o.processes_num = 2;
  ASSERT_OK_AND_ASSIGN(PreprocessStats s2, RunPreprocess(o));
  EXPECT_EQ(s2.stats.instances, 9);
}

TEST_F(PreprocessTest, LmAndBilmShiftTheirTargets) {
  std::string corpus = Write("lm.txt", "abcd\n");
  PreprocessOptions o = Options(corpus, "lm");
  o.seq_length = 3;
  ASSERT_OK(RunPreprocess(o));
  ASSERT_OK_AND_ASSIGN(auto lm, Dataset::Open(o.dataset_path));
  ASSERT_OK_AND_ASSIGN(DecodedInstance d, DecodeInstance(*lm, 0));
  const int a = 104;  // id of "a"
  EXPECT_EQ(d.src, (std::vector<int64_t>{a, a + 1, a + 2}));
  EXPECT_EQ(d.Field("tgt"), (std::vector<int64_t>{a + 1, a + 2, a + 3}));
  EXPECT_EQ(d.seg, (std::vector<int64_t>{1, 1, 1}));
  o = Options(corpus, "bilm");
  o.seq_length = 6;
  ASSERT_OK(RunPreprocess(o));
  ASSERT_OK_AND_ASSIGN(auto bilm, Dataset::Open(o.dataset_path));
  ASSERT_OK_AND_ASSIGN(DecodedInstance b, DecodeInstance(*bilm, 0));
  EXPECT_EQ(b.src, (std::vector<int64_t>{a, a + 1, a + 2, a + 3, 0, 0}));
  EXPECT_EQ(b.Field("tgt_forward"), (std::vector<int64_t>{a + 1, a + 2, a + 3, kSep, 0, 0}));
  EXPECT_EQ(b.Field("tgt_backward"), (std::vector<int64_t>{kCls, a, a + 1, a + 2, 0, 0}));
}

TEST_F(PreprocessTest, ClsSingleAndPair) {
  std::string corpus = Write("cls.tsv", "label\ttext_a\n1\tab\n0\tab\tcd\n");
  PreprocessOptions o = Options(corpus, "cls");
  ASSERT_OK(RunPreprocess(o));
  ASSERT_OK_AND_ASSIGN(auto ds, Dataset::Open(o.dataset_path));
  ASSERT_EQ(ds->size(), 2u);
  ASSERT_OK_AND_ASSIGN(DecodedInstance single, DecodeInstance(*ds, 0));
  EXPECT_EQ(single.Field("tgt")[0], 1);
  EXPECT_EQ(std::vector<int64_t>(single.src.begin(), single.src.begin() + 4), (std::vector<int64_t>{kCls, 104, 105, 0}));
  EXPECT_EQ(std::vector<int64_t>(single.seg.begin(), single.seg.begin() + 4), (std::vector<int64_t>{1, 1, 1, 0}));
  ASSERT_OK_AND_ASSIGN(DecodedInstance pair, DecodeInstance(*ds, 1));
  EXPECT_EQ(pair.Field("tgt")[0], 0);
  EXPECT_EQ(std::vector<int64_t>(pair.src.begin(), pair.src.begin() + 7),
            (std::vector<int64_t>{kCls, 104, 105, kSep, 106, 107, kSep}));
  EXPECT_EQ(std::vector<int64_t>(pair.seg.begin(), pair.seg.begin() + 8), (std::vector<int64_t>{1, 1, 1, 1, 2, 2, 2, 0}));
}

// The nsp target's data side: bert's sentence pairs, unmasked, the label is is_random_next.
TEST_F(PreprocessTest, NspInstancesArePairsWithoutMasks) {
  std::string corpus = Write("nsp.txt", "abcdefg\nhijklmn\nopq\n\nrstuv\nwxyz\n\nabc\ndef\nghi\n\n");
  PreprocessOptions o = Options(corpus, "nsp");
  ASSERT_OK_AND_ASSIGN(PreprocessStats s, RunPreprocess(o));
  ASSERT_OK_AND_ASSIGN(auto ds, Dataset::Open(o.dataset_path));
  EXPECT_EQ(ds->target(), "nsp");
  EXPECT_EQ(s.stats.counts.count("masked"), 0u);
  std::set<int64_t> labels;
  for (uint64_t i = 0; i < ds->size(); ++i) {
    ASSERT_OK_AND_ASSIGN(DecodedInstance d, DecodeInstance(*ds, i));
    EXPECT_EQ(d.src[0], kCls);
    for (int64_t id : d.src) EXPECT_NE(id, kMask);
    labels.insert(d.Field("tgt")[0]);
  }
  EXPECT_EQ(labels, (std::set<int64_t>{0, 1}));
}

TEST_F(PreprocessTest, BadInputSaysWhatTheFormatMustBe) {
  PreprocessOptions o = Options(Write("noblank.txt", "abc\ndef\nghi\n"), "bert");
  EXPECT_THAT(RunPreprocess(o), StatusIs(absl::StatusCode::kInvalidArgument,
                                         HasSubstr("has no blank line: the bert target needs documents of at least two "
                                                   "sentences, one sentence a line, documents separated by blank lines")));
  EXPECT_FALSE(std::filesystem::exists(o.dataset_path));
  o.corpus_path = Write("single.txt", "abc\n\ndef\n\nghi\n");
  EXPECT_THAT(RunPreprocess(o), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("has no document of two sentences")));
  o.corpus_path = Write("empty.txt", "");
  EXPECT_THAT(RunPreprocess(o), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("is empty")));
  o.corpus_path = dir_ + "/missing.txt";
  EXPECT_THAT(RunPreprocess(o), StatusIs(absl::StatusCode::kNotFound, HasSubstr("cannot open corpus " + o.corpus_path)));
  o.corpus_path = Write("ok.txt", "ab\ncd\n\n");
  o.vocab_path = dir_ + "/missing_vocab.txt";
  EXPECT_THAT(RunPreprocess(o), StatusIs(absl::StatusCode::kNotFound, HasSubstr("cannot open vocabulary")));
  o.vocab_path = vocab_;
  o.seq_length = 4;
  EXPECT_THAT(RunPreprocess(o), StatusIs(absl::StatusCode::kInvalidArgument,
                                         "--seq_length 4 is too small for target bert: it needs at least 5 ([CLS] A [SEP] B [SEP])"));
  o = Options(Write("badcls.tsv", "1\tab\nx\tcd\n"), "cls");
  EXPECT_THAT(RunPreprocess(o), StatusIs(absl::StatusCode::kInvalidArgument,
                                         o.corpus_path + ":2: label \"x\" is not an integer (cls corpus lines are label<TAB>text)"));
  o.corpus_path = Write("badcols.tsv", "1\tab\tcd\tef\n");
  EXPECT_THAT(RunPreprocess(o), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(o.corpus_path + ":1: 4 columns")));
  o.target = "nope";
  EXPECT_THAT(RunPreprocess(o), StatusIs(absl::StatusCode::kNotFound, HasSubstr("target \"nope\" has no data side")));
  // No part files are left behind.
  for (const auto& e : std::filesystem::directory_iterator(dir_)) {
    EXPECT_EQ(e.path().string().find(".part"), std::string::npos) << e.path();
  }
}

// uer-cc 0.1's dataset format 1 named its target by a code; such files still read: the data side
// that claims the code decodes them.
TEST_F(PreprocessTest, FormatOneDatasetsStillRead) {
  PreprocessOptions o = Options(Write("v1.txt", "abcd\nefgh\n"), "lm");
  ASSERT_OK(RunPreprocess(o));
  std::string bytes = ReadFile(o.dataset_path);
  DatasetHeader h;
  std::memcpy(&h, bytes.data(), sizeof(h));
  ASSERT_EQ(h.format_version, 2u);
  ASSERT_EQ(std::string(h.target_name), "lm");
  h.format_version = 1;
  h.target_code = 3;  // format 1's lm
  std::memset(h.target_name, 0, sizeof(h.target_name));
  h.record_version = 0;
  h.header_checksum = Fnv1a64(&h, offsetof(DatasetHeader, header_checksum));
  std::memcpy(bytes.data(), &h, sizeof(h));
  const std::string v1 = dir_ + "/v1.uer";
  std::ofstream(v1, std::ios::binary) << bytes;
  ASSERT_OK_AND_ASSIGN(auto ds, Dataset::Open(v1));
  EXPECT_EQ(ds->target(), "lm");
  EXPECT_EQ(ds->record_version(), 1u);
  ASSERT_OK_AND_ASSIGN(DecodedInstance d, DecodeInstance(*ds, 1));
  EXPECT_EQ(d.src[0], 108);  // "e"
  EXPECT_EQ(d.Field("tgt")[0], 109);
  // A code no data side claims is named.
  h.target_code = 77;
  h.header_checksum = Fnv1a64(&h, offsetof(DatasetHeader, header_checksum));
  std::memcpy(bytes.data(), &h, sizeof(h));
  std::ofstream(v1, std::ios::binary | std::ios::trunc) << bytes;
  EXPECT_THAT(Dataset::Open(v1), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("format 1 target code 77")));
}

TEST_F(PreprocessTest, DatasetRefusesTruncatedAndForeignFiles) {
  PreprocessOptions o = Options(Write("lm2.txt", "abcd\nefgh\n"), "lm");
  ASSERT_OK(RunPreprocess(o));
  std::filesystem::resize_file(o.dataset_path, std::filesystem::file_size(o.dataset_path) - 4);
  EXPECT_THAT(Dataset::Open(o.dataset_path), StatusIs(absl::StatusCode::kDataLoss, HasSubstr("truncated or corrupt")));
  std::string pickle = Write("dataset.pt", std::string(300, '\x80'));
  EXPECT_THAT(Dataset::Open(pickle), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("is not a uer-cc dataset")));
  ASSERT_OK(RunPreprocess(o));
  ASSERT_OK_AND_ASSIGN(auto ds, Dataset::Open(o.dataset_path));
  ASSERT_OK_AND_ASSIGN(core::Vocab v, core::Vocab::Load(vocab_));
  EXPECT_OK(ds->CheckCompatible(v, "lm"));
  EXPECT_THAT(ds->CheckCompatible(v, "bert"),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("was built for target lm, not bert")));
  ASSERT_OK_AND_ASSIGN(core::Vocab other, core::Vocab::FromTokens({"[UNK]", "x"}, "other.txt"));
  EXPECT_THAT(ds->CheckCompatible(other, "lm"),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("was built with another vocabulary")));
}

// A flipped byte anywhere in the payload is found at open (the CRC); a file without the CRC (an
// older uer-cc's) still has every id checked against the vocabulary when an instance is decoded.
TEST_F(PreprocessTest, DamagedPayloadIsNamedNeverIndexed) {
  PreprocessOptions o = Options(Write("mlm.txt", "abcdefgh\nijklmnop\nqrstuvwx\n"), "mlm");
  ASSERT_OK(RunPreprocess(o));
  std::string bytes = ReadFile(o.dataset_path);
  DatasetHeader h;
  std::memcpy(&h, bytes.data(), sizeof(h));
  ASSERT_TRUE(h.flags & kDatasetPayloadCrc);
  ASSERT_OK(Dataset::Open(o.dataset_path).status());
  // Instance 1's first token id (after its two header words), pushed past the vocabulary.
  const size_t data_start = sizeof(DatasetHeader) + (h.instance_count + 1) * 8;
  uint64_t offset1;
  std::memcpy(&offset1, bytes.data() + sizeof(DatasetHeader) + 8, 8);
  const size_t at = data_start + (offset1 + 2) * 4 + 3;
  bytes[at] ^= 0x10;
  const std::string flipped = dir_ + "/flipped.uer";
  std::ofstream(flipped, std::ios::binary) << bytes;
  EXPECT_THAT(Dataset::Open(flipped), StatusIs(absl::StatusCode::kDataLoss,
                                               HasSubstr(flipped + ": the payload's CRC-32 is ")));
  // The same damage in a file that carries no CRC: decoding instance 1 names it.
  h.flags = 0;
  h.header_checksum = Fnv1a64(&h, offsetof(DatasetHeader, header_checksum));
  std::memcpy(bytes.data(), &h, sizeof(h));
  std::ofstream(flipped, std::ios::binary | std::ios::trunc) << bytes;
  ASSERT_OK_AND_ASSIGN(auto ds, Dataset::Open(flipped));
  ASSERT_OK(DecodeInstance(*ds, 0).status());
  EXPECT_THAT(DecodeInstance(*ds, 1), StatusIs(absl::StatusCode::kDataLoss,
                                               HasSubstr(flipped + ": instance 1 (mlm) holds the token id 26843")));
  // An offset past the data (2^40) is found at open.
  uint64_t huge = uint64_t{1} << 40;
  std::memcpy(bytes.data() + sizeof(DatasetHeader), &huge, 8);
  std::ofstream(flipped, std::ios::binary | std::ios::trunc) << bytes;
  EXPECT_THAT(Dataset::Open(flipped), StatusIs(absl::StatusCode::kDataLoss, HasSubstr("the offset of instance 0")));
}

// Every byte of a dataset is covered: the header by its checksum, the offsets and data by the
// payload's CRC-32. Flipping any one of them is refused at open, naming the file.
TEST_F(PreprocessTest, EveryFlippedByteIsFound) {
  PreprocessOptions o = Options(Write("mlm.txt", "abcdefgh\nijklmnop\nqrstuvwx\n"), "mlm");
  ASSERT_OK(RunPreprocess(o));
  std::string bytes = ReadFile(o.dataset_path);
  const std::string flipped = dir_ + "/every.uer";
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string b = bytes;
    b[i] ^= 0x01;
    std::ofstream(flipped, std::ios::binary | std::ios::trunc) << b;
    absl::StatusOr<std::unique_ptr<Dataset>> ds = Dataset::Open(flipped);
    ASSERT_FALSE(ds.ok()) << "byte " << i << " of " << bytes.size();
    EXPECT_THAT(ds.status().message(), HasSubstr(flipped)) << "byte " << i;
  }
}

// A GBK corpus is refused at its first bad line, as tokenize and build_vocab refuse it; the same
// flag reads it as U+FFFD.
TEST_F(PreprocessTest, InvalidUtf8IsRefusedWithItsLineOrReplaced) {
  PreprocessOptions o = Options(Write("gbk.txt", "abcd\n\xc4\xe3\xba\xc3 efg\n"), "mlm");
  EXPECT_THAT(RunPreprocess(o), StatusIs(absl::StatusCode::kInvalidArgument,
                                         o.corpus_path + ":2: invalid UTF-8 at byte 0 (use --replace_invalid_utf8 to "
                                         "read it as U+FFFD)"));
  EXPECT_FALSE(std::filesystem::exists(o.dataset_path));
  o.replace_invalid_utf8 = true;
  EXPECT_OK(RunPreprocess(o).status());
}

TEST_F(PreprocessTest, StopSignalLeavesNothingBehind) {
  PreprocessOptions o = Options(Write("stop.txt", "abcd\nefgh\n"), "mlm");
  std::atomic<int> stop{15};
  o.stop_signal = &stop;
  EXPECT_THAT(RunPreprocess(o), StatusIs(absl::StatusCode::kCancelled, HasSubstr("stopped by signal 15")));
  for (const auto& e : std::filesystem::directory_iterator(dir_)) {
    EXPECT_EQ(e.path().string().find("stop.uer"), std::string::npos) << e.path();
    EXPECT_EQ(e.path().string().find(".tmp."), std::string::npos) << e.path();
  }
}

// What a kill -9 left (PATH*.tmp.PID of a dead process) is removed; a live process's file stays.
TEST_F(PreprocessTest, StaleTemporariesOfDeadProcessesAreRemoved) {
  const std::string path = dir_ + "/stale.uer";
  pid_t dead = fork();
  if (dead == 0) _exit(0);
  ASSERT_GT(dead, 0);
  int status;
  waitpid(dead, &status, 0);
  const std::string stale = Write(absl::StrCat("stale.uer.part0.data.tmp.", dead), "x");
  const std::string live = Write(absl::StrCat("stale.uer.tmp.", getppid()), "x");
  const std::string other = Write(absl::StrCat("other.uer.tmp.", dead), "x");
  EXPECT_THAT(RemoveStaleTemporaries(path), ::testing::ElementsAre(stale));
  EXPECT_FALSE(std::filesystem::exists(stale));
  EXPECT_TRUE(std::filesystem::exists(live));
  EXPECT_TRUE(std::filesystem::exists(other));
}

// UER-py's seed preprocess.py on corpora/book_review_bert.txt with the default flags (bert target,
// seq_length 128, dup_factor 5, short_seq_prob 0.1, seed 7) writes 150592 instances, masks 1004243
// of 6679864 maskable tokens and draws 101739 random-next pairs (bench/preprocess_parity.py compares
// every instance). uer-cc reproduces its random stream, so the statistics agree exactly.
TEST_F(PreprocessTest, BookReviewStatisticsAgreeWithUerPy) {
  UER_REQUIRE_SHARED_DATA();
  const std::string data = ::uer::testing::SharedDir() + "/data";
  PreprocessOptions o;
  o.corpus_path = data + "/corpora/book_review_bert.txt";
  o.vocab_path = data + "/vocab/google_zh_vocab.txt";
  o.dataset_path = dir_ + "/book_review.uer";
  ASSERT_OK_AND_ASSIGN(PreprocessStats s, RunPreprocess(o));
  EXPECT_EQ(s.stats.instances, 150592);
  EXPECT_EQ(s.stats.counts["masked"], 1004243);
  EXPECT_EQ(s.stats.counts["maskable"], 6679864);
  EXPECT_EQ(s.stats.counts["random_next"], 101739);
  // Two workers: the same kind of data, near the same numbers.
  o.processes_num = 2;
  ASSERT_OK_AND_ASSIGN(PreprocessStats s2, RunPreprocess(o));
  EXPECT_NEAR(static_cast<double>(s2.stats.instances), 150592, 1500);
  EXPECT_NEAR(static_cast<double>(s2.stats.counts["masked"]) / s2.stats.counts["maskable"], 0.15, 0.002);
}

}  // namespace
}  // namespace uer::runtime
