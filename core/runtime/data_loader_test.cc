// The pre-training data loader on a small lm dataset: UER-py's order (a buffer shuffled with
// Python's random), a pass that covers every instance once, ranks that split the global batch,
// Skip for resuming, and batches that hold the decoded instances.
#include "core/runtime/data_loader.h"

#include <fstream>
#include <numeric>
#include <set>

#include "core/runtime/loader.h"
#include "core/runtime/preprocess.h"
#include "testing/test_util.h"

namespace uer::runtime {
namespace {

class DataLoaderTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_OK(LoadPlugin(::uer::testing::RunfilePath("plugins/tokenizers/char/libuer_tokenizer_char.so")));
    EnableLazyBuiltinPlugins();  // the lm target's data side
  }
  void SetUp() override {
    const std::string dir = ::uer::testing::TempDir("data_loader");
    std::string corpus;
    for (int i = 0; i < 60; ++i) corpus += std::string(5 + i % 7, static_cast<char>('a' + i % 26)) + "\n";
    std::ofstream(dir + "/corpus.txt") << corpus;
    PreprocessOptions o;
    o.corpus_path = dir + "/corpus.txt";
    o.vocab_path = ::uer::testing::WriteUerVocab(dir, "abcdefghijklmnopqrstuvwxyz");
    o.dataset_path = dir + "/lm.uer";
    o.tokenizer = "char";
    o.target = "lm";
    o.seq_length = 8;
    ASSERT_OK(RunPreprocess(o).status());
    ASSERT_OK_AND_ASSIGN(dataset_, Dataset::Open(o.dataset_path));
    ASSERT_GE(dataset_->size(), 40u);
  }
  std::unique_ptr<Dataset> dataset_;
};

TEST_F(DataLoaderTest, BatchesFollowAPythonShuffleOfTheBuffer) {
  DataLoader loader(*dataset_, {.batch_size = 4, .buffer_size = 1000, .seed = 11});
  std::vector<uint64_t> order(dataset_->size());
  std::iota(order.begin(), order.end(), 0);
  core::PythonRandom rng(11);
  rng.Shuffle(order);
  EXPECT_EQ(loader.NextIndices(), std::vector<uint64_t>(order.begin(), order.begin() + 4));
  EXPECT_EQ(loader.NextIndices(), std::vector<uint64_t>(order.begin() + 4, order.begin() + 8));
  EXPECT_EQ(loader.batches(), 2);
}

// Buffers of 10 positions in file order, each shuffled: a pass sees every instance once.
TEST_F(DataLoaderTest, APassCoversEveryInstanceOnce) {
  const uint64_t n = dataset_->size() / 10 * 10;
  DataLoader loader(*dataset_, {.batch_size = 5, .buffer_size = 10, .seed = 3});
  std::multiset<uint64_t> seen;
  for (uint64_t b = 0; b < n / 5; ++b) {
    std::vector<uint64_t> idx = loader.NextIndices();
    ASSERT_EQ(idx.size(), 5u);
    const uint64_t buffer = b / 2 * 10;
    for (uint64_t i : idx) {
      EXPECT_GE(i, buffer);
      EXPECT_LT(i, buffer + 10);
      seen.insert(i);
    }
  }
  EXPECT_EQ(seen.size(), n);
  EXPECT_EQ(std::set<uint64_t>(seen.begin(), seen.end()).size(), n);
}

// Two ranks of batch 3 read the halves of what one process of batch 6 reads.
TEST_F(DataLoaderTest, RanksSplitTheGlobalBatch) {
  DataLoader one(*dataset_, {.batch_size = 6, .buffer_size = 20, .seed = 5});
  DataLoader r0(*dataset_, {.batch_size = 3, .buffer_size = 20, .seed = 5, .rank = 0, .world_size = 2});
  DataLoader r1(*dataset_, {.batch_size = 3, .buffer_size = 20, .seed = 5, .rank = 1, .world_size = 2});
  for (int b = 0; b < 12; ++b) {
    std::vector<uint64_t> whole = one.NextIndices(), a = r0.NextIndices(), c = r1.NextIndices();
    a.insert(a.end(), c.begin(), c.end());
    EXPECT_EQ(a, whole) << "batch " << b;
  }
}

TEST_F(DataLoaderTest, SkipLandsWhereDrawingWould) {
  DataLoader drawn(*dataset_, {.batch_size = 4, .buffer_size = 12, .seed = 9});
  for (int b = 0; b < 7; ++b) drawn.NextIndices();
  DataLoader skipped(*dataset_, {.batch_size = 4, .buffer_size = 12, .seed = 9});
  skipped.Skip(7);
  EXPECT_EQ(skipped.batches(), 7);
  for (int b = 0; b < 5; ++b) EXPECT_EQ(skipped.NextIndices(), drawn.NextIndices()) << "batch " << 7 + b;
}

TEST_F(DataLoaderTest, ABatchHoldsTheDecodedInstances) {
  DataLoader loader(*dataset_, {.batch_size = 3, .buffer_size = 1000, .seed = 1});
  std::vector<uint64_t> idx = DataLoader(*dataset_, {.batch_size = 3, .buffer_size = 1000, .seed = 1}).NextIndices();
  ASSERT_OK_AND_ASSIGN(Batch b, loader.Next(torch::kCPU));
  EXPECT_EQ(b.src.sizes(), torch::IntArrayRef({3, 8}));
  EXPECT_EQ(b.instances, 3);
  EXPECT_EQ(b.tokens, 24);
  for (int64_t r = 0; r < 3; ++r) {
    ASSERT_OK_AND_ASSIGN(DecodedInstance d, DecodeInstance(*dataset_, idx[r]));
    EXPECT_TRUE(torch::equal(b.src[r], torch::tensor(d.src, torch::kLong))) << "row " << r;
    EXPECT_TRUE(torch::equal(b.seg[r], torch::tensor(d.seg, torch::kLong))) << "row " << r;
    for (const auto& [name, values] : d.fields) {
      ASSERT_TRUE(b.tgt.count(name)) << name;
      EXPECT_TRUE(torch::equal(b.tgt.at(name)[r].reshape({-1}), torch::tensor(values, torch::kLong))) << name;
    }
  }
}

}  // namespace
}  // namespace uer::runtime
