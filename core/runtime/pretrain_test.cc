#include "core/runtime/pretrain.h"

#include <filesystem>
#include <fstream>

#include "core/runtime/loader.h"
#include "core/runtime/model/model.h"
#include "testing/test_util.h"
#include "core/runtime/preprocess.h"
#include "core/runtime/trainer.h"

namespace uer::runtime {
namespace {

using ::testing::HasSubstr;
using ::uer::testing::StatusIs;

class PretrainTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ASSERT_OK(LoadPluginList(::uer::testing::RunfilePath("plugins"), ':')); }
  void SetUp() override {
    vocab_ = ::uer::testing::WriteUerVocab(dir_, "abcdefghijklmnopqrstuvwxyz");
    std::string corpus;
    for (int d = 0; d < 40; ++d) {
      for (int s = 0; s < 3; ++s) {
        for (int k = 0; k < 12; ++k) corpus.push_back('a' + (d * 7 + s * 3 + k * k) % 26);
        corpus += "\n";
      }
      corpus += "\n";
    }
    PreprocessOptions p;
    p.corpus_path = Write("corpus.txt", corpus);
    p.vocab_path = vocab_;
    p.dataset_path = dir_ + "/bert.uer";
    p.tokenizer = "char";
    p.seq_length = 32;
    p.dup_factor = 2;
    ASSERT_OK(RunPreprocess(p));
    p.target = "lm";
    p.dataset_path = dir_ + "/lm.uer";
    ASSERT_OK(RunPreprocess(p));
  }
  std::string Write(const std::string& name, const std::string& text) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }
  PretrainOptions Options(const std::string& out) {
    PretrainOptions o;
    o.dataset_path = dir_ + "/bert.uer";
    o.vocab_path = vocab_;
    o.run.trainer.output_model_path = dir_ + "/" + out;
    o.config.set_emb_size(32);
    o.config.set_hidden_size(32);
    o.config.set_feedforward_size(64);
    o.config.set_heads_num(2);
    o.config.set_layers_num(2);
    o.run.trainer.total_steps = 6;
    o.run.trainer.save_checkpoint_steps = 3;
    o.run.trainer.report_steps = 2;
    o.run.batch_size = 4;
    o.instances_buffer_size = 16;
    o.run.trainer.optimizer.learning_rate = 1e-3;
    return o;
  }
  std::string dir_ = ::uer::testing::TempDir("pretrain");
  std::string vocab_;
};

TEST_F(PretrainTest, ResumeEndsWithTheSameWeightsAsOneRun) {
  PretrainOptions straight = Options("straight.bin");
  ASSERT_OK_AND_ASSIGN(PretrainResult a, RunPretrain(straight));
  EXPECT_EQ(a.losses.size(), 6u);
  EXPECT_TRUE(std::filesystem::exists(straight.run.trainer.output_model_path + "-3.state"));

  // The same run, "interrupted" after step 3: keep only its first checkpoint, then resume.
  PretrainOptions split = Options("split.bin");
  ASSERT_OK(RunPretrain(split));
  std::filesystem::remove(split.run.trainer.output_model_path + "-6");
  std::filesystem::remove(split.run.trainer.output_model_path + "-6.state");
  std::filesystem::remove(split.run.trainer.output_model_path);
  split.run.trainer.resume = true;
  ASSERT_OK_AND_ASSIGN(PretrainResult b, RunPretrain(split));
  ASSERT_EQ(b.losses.size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_DOUBLE_EQ(b.losses[i], a.losses[3 + i]) << "step " << 4 + i;
  ASSERT_OK_AND_ASSIGN(core::StateDict wa, LoadStateDict(straight.run.trainer.output_model_path));
  ASSERT_OK_AND_ASSIGN(core::StateDict wb, LoadStateDict(split.run.trainer.output_model_path));
  ASSERT_EQ(wa.size(), wb.size());
  for (size_t i = 0; i < wa.size(); ++i) {
    EXPECT_EQ(wa[i].first, wb[i].first);
    EXPECT_TRUE(torch::equal(wa[i].second, wb[i].second)) << wa[i].first << " max diff " << (wa[i].second - wb[i].second).abs().max().item<double>();
  }
}

// A fresh run over an earlier run's checkpoints is refused (a later --resume would pick up the older
// run's higher step); --overwrite_checkpoints deletes them first.
TEST_F(PretrainTest, EarlierCheckpointsAreRefusedOrOverwritten) {
  PretrainOptions o = Options("again.bin");
  ASSERT_OK(RunPretrain(o));
  EXPECT_THAT(RunPretrain(o), StatusIs(absl::StatusCode::kInvalidArgument,
                                       HasSubstr(o.run.trainer.output_model_path + "-6 (and 1 more of steps 3..6) are checkpoints "
                                                 "of an earlier run: continue it with --resume, or pass --overwrite_checkpoints")));
  o.run.trainer.overwrite_checkpoints = true;
  o.run.trainer.total_steps = 2;
  o.run.trainer.save_checkpoint_steps = 2;
  ASSERT_OK(RunPretrain(o));
  EXPECT_EQ(CheckpointSteps(o.run.trainer.output_model_path), std::vector<int64_t>({2}));
}

// --resume passes over a damaged newest checkpoint to the one before; with none usable it stops.
TEST_F(PretrainTest, ResumeFallsBackPastADamagedCheckpoint) {
  PretrainOptions o = Options("torn.bin");
  ASSERT_OK_AND_ASSIGN(PretrainResult a, RunPretrain(o));
  std::filesystem::resize_file(o.run.trainer.output_model_path + "-6", 100);
  std::filesystem::remove(o.run.trainer.output_model_path);
  o.run.trainer.resume = true;
  ASSERT_OK_AND_ASSIGN(PretrainResult b, RunPretrain(o));
  ASSERT_EQ(b.losses.size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_DOUBLE_EQ(b.losses[i], a.losses[3 + i]) << "step " << 4 + i;
  std::filesystem::resize_file(o.run.trainer.output_model_path + "-3", 100);
  std::filesystem::resize_file(o.run.trainer.output_model_path + "-6", 100);
  EXPECT_THAT(RunPretrain(o), StatusIs(absl::StatusCode::kDataLoss, HasSubstr("--resume: no usable checkpoint")));
}

TEST_F(PretrainTest, StopSignalWritesACheckpointAndItsState) {
  PretrainOptions o = Options("stopped.bin");
  std::atomic<int> stop{15};
  o.run.trainer.stop_signal = &stop;
  ASSERT_OK_AND_ASSIGN(PretrainResult r, RunPretrain(o));
  EXPECT_EQ(r.stopped_by_signal, 15);
  EXPECT_EQ(r.last_checkpoint, o.run.trainer.output_model_path + "-0");
  EXPECT_TRUE(std::filesystem::exists(o.run.trainer.output_model_path + "-0.state"));
}

TEST_F(PretrainTest, RefusesADatasetOfAnotherTargetOrVocabulary) {
  PretrainOptions o = Options("x.bin");
  o.dataset_path = dir_ + "/lm.uer";
  EXPECT_THAT(RunPretrain(o), StatusIs(absl::StatusCode::kFailedPrecondition,
                                       HasSubstr("was built for target lm, not bert: run preprocess with --target bert")));
  o.dataset_path = dir_ + "/bert.uer";
  o.vocab_path = Write("other_vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nx\n");
  EXPECT_THAT(RunPretrain(o), StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("was built with another vocabulary")));
}

TEST_F(PretrainTest, PretrainedModelOfAnotherSizeNamesTheTensorAndShapes) {
  PretrainOptions small = Options("small.bin");
  small.run.trainer.total_steps = 1;
  ASSERT_OK(RunPretrain(small));
  PretrainOptions big = Options("big.bin");
  big.config.set_hidden_size(64);
  big.config.set_emb_size(64);
  big.pretrained_model_path = small.run.trainer.output_model_path;
  EXPECT_THAT(RunPretrain(big), StatusIs(absl::StatusCode::kInvalidArgument,
                                         HasSubstr("embedding.word_embedding.weight: checkpoint [130, 32] vs model [130, 64]")));
}

TEST_F(PretrainTest, NanLossStopsWithTheStepNumber) {
  PretrainOptions first = Options("good.bin");
  first.run.trainer.total_steps = 1;
  ASSERT_OK(RunPretrain(first));
  ASSERT_OK_AND_ASSIGN(core::StateDict w, LoadStateDict(first.run.trainer.output_model_path));
  for (auto& [k, t] : w) {
    if (k == "embedding.layer_norm.gamma") t.fill_(std::nan(""));
  }
  ASSERT_OK(SaveStateDict(dir_ + "/nan.bin", w));
  PretrainOptions o = Options("nan_out.bin");
  o.pretrained_model_path = dir_ + "/nan.bin";
  EXPECT_THAT(RunPretrain(o), StatusIs(absl::StatusCode::kInternal, HasSubstr("the loss is nan at step 1; stopped without saving")));
  EXPECT_FALSE(std::filesystem::exists(o.run.trainer.output_model_path));
}

// End to end on the book review corpus: a 2-layer BERT pre-trained for a few hundred steps on CPU
// brings its MLM loss well below where it starts.
TEST_F(PretrainTest, BookReviewMlmLossFalls) {
  UER_REQUIRE_SHARED_DATA();
  const std::string data = ::uer::testing::SharedDir() + "/data";
  PreprocessOptions p;
  p.corpus_path = data + "/corpora/book_review_bert.txt";
  p.vocab_path = data + "/vocab/google_zh_vocab.txt";
  p.dataset_path = dir_ + "/book_review.uer";
  p.seq_length = 64;
  p.dup_factor = 1;
  ASSERT_OK(RunPreprocess(p));
  PretrainOptions o;
  o.dataset_path = p.dataset_path;
  o.vocab_path = p.vocab_path;
  o.run.trainer.output_model_path = dir_ + "/book_review.bin";
  o.config.set_emb_size(128);
  o.config.set_hidden_size(128);
  o.config.set_feedforward_size(512);
  o.config.set_heads_num(2);
  o.config.set_layers_num(2);
  o.run.trainer.total_steps = 300;
  o.run.trainer.save_checkpoint_steps = 300;
  o.run.trainer.report_steps = 100;
  o.run.batch_size = 16;
  o.run.trainer.optimizer.learning_rate = 1e-3;
  o.run.trainer.optimizer.warmup = 0.05;
  ASSERT_OK_AND_ASSIGN(PretrainResult r, RunPretrain(o));
  double first = 0, last = 0;
  for (int i = 0; i < 10; ++i) first += r.losses[i] / 10;
  for (int i = 290; i < 300; ++i) last += r.losses[i] / 10;
  EXPECT_LT(last, first - 2.5) << "loss (mlm + nsp) from " << first << " to " << last;
}

}  // namespace
}  // namespace uer::runtime
