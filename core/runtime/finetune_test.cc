// Fine-tuning and inference through the task plugins and the Trainer, on toy data.
#include "core/runtime/finetune.h"

#include <filesystem>
#include <fstream>
#include <set>

#include "absl/strings/str_cat.h"
#include "core/runtime/loader.h"
#include "core/runtime/checkpoint.h"
#include "core/runtime/model/model.h"
#include "core/plugin_api.h"
#include "testing/test_util.h"

namespace uer::runtime {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::uer::testing::StatusIs;

class FinetuneTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ASSERT_OK(runtime::LoadPluginList(::uer::testing::RunfilePath("plugins"), ':')); }
  void SetUp() override {
    dir_ = ::uer::testing::TempDir("finetune");
    vocab_path_ = ::uer::testing::WriteUerVocab(dir_, "abcdxyz");
    auto v = core::Vocab::Load(vocab_path_);
    ASSERT_OK(v);
    vocab_ = std::make_shared<const core::Vocab>(*std::move(v));
    core::TokenizerOptions o;
    o.vocab = vocab_;
    auto t = core::CreateTokenizer("char", o);
    ASSERT_OK(t);
    tokenizer_ = *std::move(t);
  }
  std::string Write(const std::string& name, const std::string& text) {
    const std::string p = dir_ + "/" + name;
    std::ofstream(p) << text;
    return p;
  }
  // Small BERT-style config for training tests.
  // The bert embedding (learned positions) for the transformers, word embeddings for the RNNs.
  core::v1::ModelConfig TinyConfig(const std::string& encoder) {
    static const std::set<std::string> kTransformers = {"bert", "gpt"};
    core::v1::ModelConfig c;
    c.set_embedding(kTransformers.count(encoder) ? "bert" : "word");
    c.set_encoder(encoder);
    c.set_emb_size(32);
    c.set_hidden_size(32);
    c.set_feedforward_size(64);
    c.set_heads_num(2);
    c.set_layers_num(1);
    c.set_tokenizer("char");
    c.set_dropout(0.0f);
    return c;
  }
  std::string dir_, vocab_path_;
  std::shared_ptr<const core::Vocab> vocab_;
  std::unique_ptr<core::Tokenizer> tokenizer_;
};

TEST_F(FinetuneTest, TaskHeadsSitAtTheTopLevelWithUerPyNames) {
  core::v1::ModelConfig c = TinyConfig("bert");
  c.set_labels_num(3);
  ASSERT_OK_AND_ASSIGN(auto model, runtime::BuildFinetuneModel(c, "classifier", {vocab_->size(), 0}));
  std::vector<std::string> keys;
  for (const auto& [k, v] : runtime::ModelStateDict(*model)) keys.push_back(k);
  EXPECT_THAT(keys, ::testing::Contains("output_layer_1.weight"));
  EXPECT_THAT(keys, ::testing::Contains("output_layer_2.bias"));
  EXPECT_THAT(keys, ::testing::Contains("embedding.word_embedding.weight"));
  ASSERT_OK_AND_ASSIGN(auto ner, runtime::BuildFinetuneModel(c, "ner", {vocab_->size(), 0}));
  keys.clear();
  for (const auto& [k, v] : runtime::ModelStateDict(*ner)) keys.push_back(k);
  EXPECT_THAT(keys, ::testing::Contains("output_layer.weight"));
  // Pooling picks the positions UER-py picks.
  for (const char* pooling : {"mean", "max", "first", "last"}) {
    c.set_pooling(pooling);
    ASSERT_OK_AND_ASSIGN(auto m, runtime::BuildFinetuneModel(c, "classifier", {vocab_->size(), 0}));
    m->eval();
    torch::Tensor src = torch::tensor({{101, 104, 105, 0}}, torch::kLong), seg = torch::tensor({{1, 1, 1, 0}}, torch::kLong);
    core::TargetOutput out = m->Forward(src, seg, {{"label", torch::tensor({1}, torch::kLong)}});
    EXPECT_EQ(out.Find("logits")->sizes(), (std::vector<int64_t>{1, 3})) << pooling;
    EXPECT_TRUE(out.loss.defined());
  }
}

// run_classifier cuts batches after their longest sequence for first pooling on transformer
// encoders: the first position's output does not change when padding is removed.
TEST_F(FinetuneTest, PaddingDoesNotChangeTheFirstPositionOfTransformers) {
  for (const char* encoder : {"bert", "gpt"}) {
    core::v1::ModelConfig c = TinyConfig("bert");
    c.set_encoder(encoder);
    ASSERT_OK_AND_ASSIGN(auto m, runtime::BuildFinetuneModel(c, "classifier", {vocab_->size(), 0}));
    m->eval();
    torch::Tensor src = torch::tensor({{101, 104, 105, 106, 0, 0, 0, 0}, {101, 107, 0, 0, 0, 0, 0, 0}}, torch::kLong);
    torch::Tensor seg = src.gt(0).to(torch::kLong);
    torch::Tensor full = *m->Forward(src, seg, {}).Find("logits");
    torch::Tensor cut = *m->Forward(src.narrow(1, 0, 4), seg.narrow(1, 0, 4), {}).Find("logits");
    EXPECT_LE((full - cut).abs().max().item<double>(), 1e-6) << encoder;
  }
}

// pool_tokens_only: mean, max and last pool over the tokens alone (UER-py's later versions), so a
// padded row gives the logits of the same row without padding; the task then reads no padding,
// and the encoder may skip it (as fine-tuning tells it to): the left-to-right RNNs run their rows
// cut to their lengths, the transformers on the tokens alone.
TEST_F(FinetuneTest, PoolTokensOnlyGivesTheLogitsOfTheUnpaddedRows) {
  torch::Tensor src = torch::tensor({{101, 104, 105, 106, 0, 0}, {101, 107, 0, 0, 0, 0}, {101, 104, 107, 105, 106, 104}},
                                    torch::kLong);
  torch::Tensor seg = src.gt(0).to(torch::kLong);
  for (const char* encoder : {"lstm", "gru", "bert", "gpt"}) {
    for (const char* pooling : {"mean", "max", "last"}) {
      core::v1::ModelConfig c = TinyConfig(encoder);
      c.set_pooling(pooling);
      c.set_pool_tokens_only(true);
      ASSERT_OK_AND_ASSIGN(auto m, runtime::BuildFinetuneModel(c, "classifier", {vocab_->size(), 0}));
      EXPECT_FALSE(m->task->ReadsPadding());
      c.set_pool_tokens_only(false);
      ASSERT_OK_AND_ASSIGN(auto seed_pooling, runtime::BuildFinetuneModel(c, "classifier", {vocab_->size(), 0}));
      EXPECT_TRUE(seed_pooling->task->ReadsPadding());
      m->eval();
      for (bool skip : {false, true}) {
        m->encoder->set_skip_padding(skip);
        torch::Tensor padded = *m->Forward(src, seg, {}).Find("logits");
        for (int64_t row = 0; row < src.size(0); ++row) {
          const int64_t n = seg[row].sum().item<int64_t>();
          torch::Tensor alone = *m->Forward(src[row].narrow(0, 0, n).unsqueeze(0), seg[row].narrow(0, 0, n).unsqueeze(0), {})
                                     .Find("logits");
          EXPECT_LE((padded[row] - alone[0]).abs().max().item<double>(), 1e-6)
              << encoder << " " << pooling << " row " << row << (skip ? " skipping padding" : "");
        }
      }
    }
  }
}

// Learnable toy data: the label is whether the text has an "x".
std::string ToyClassifierTsv(int n, int offset) {
  std::string s = "label\ttext_a\n";
  const char* texts[] = {"abcd", "xbcd", "dcba", "dxba", "cadb", "cxdb", "bdca", "bdxa"};
  for (int i = 0; i < n; ++i) {
    const char* t = texts[(i + offset) % 8];
    s += std::string(std::string(t).find('x') == std::string::npos ? "0" : "1") + "\t" + t + "\n";
  }
  return s;
}

TEST_F(FinetuneTest, ClassifierLearnsSavesTheBestAndPredicts) {
  FinetuneOptions o;
  o.task = "classifier";
  o.vocab_path = vocab_path_;
  o.train_path = Write("train.tsv", ToyClassifierTsv(64, 0));
  o.dev_path = Write("dev.tsv", ToyClassifierTsv(16, 3));
  o.test_path = Write("test.tsv", ToyClassifierTsv(16, 5));
  o.run.trainer.output_model_path = dir_ + "/models/classifier.bin";
  o.config = TinyConfig("bert");
  o.run.batch_size = 8;
  o.seq_length = 6;
  o.run.trainer.optimizer.learning_rate = 1e-3;
  o.epochs_num = 6;
  ASSERT_OK_AND_ASSIGN(FinetuneResult r, RunFinetune(o));
  EXPECT_EQ(r.metric_name, "accuracy");
  EXPECT_EQ(r.labels_num, 2);
  EXPECT_EQ(r.dev_metric.size(), 6u);
  EXPECT_DOUBLE_EQ(r.best_dev, 1.0);
  EXPECT_DOUBLE_EQ(r.test_metric, 1.0);
  EXPECT_THAT(r.test_report, HasSubstr("Acc. (Correct/Total): 1.0000 (16/16)"));
  EXPECT_EQ(r.train_samples, 64 * 6);

  InferOptions io;
  io.task = "classifier";
  io.task_options["output_prob"] = "true";
  io.load_model_path = o.run.trainer.output_model_path;
  io.vocab_path = vocab_path_;
  io.test_path = Write("infer.tsv", "text_a\nxabc\nabcd\n");
  io.prediction_path = dir_ + "/prediction.tsv";
  io.config = o.config;
  io.seq_length = 6;
  ASSERT_OK(RunInfer(io));
  std::ifstream in(io.prediction_path);
  std::string header, first, second;
  std::getline(in, header);
  std::getline(in, first);
  std::getline(in, second);
  EXPECT_EQ(header, "label\tprob");
  EXPECT_EQ(first.substr(0, 2), "1\t");
  EXPECT_EQ(second.substr(0, 2), "0\t");

  // A dev label that train lacks.
  o.dev_path = Write("dev_bad.tsv", "label\ttext_a\n0\tab\n2\tcd\n");
  EXPECT_THAT(RunFinetune(o), StatusIs(absl::StatusCode::kInvalidArgument,
                                         HasSubstr(o.dev_path + ":3: label 2 does not occur in the training file")));
}

TEST_F(FinetuneTest, NerLearnsAndPredicts) {
  // "x y" is a location wherever it occurs.
  std::string tsv = "text_a\tlabel\n";
  const char* rows[][2] = {{"a x y b", "O B-LOC I-LOC O"}, {"x y c d", "B-LOC I-LOC O O"},
                           {"a b c d", "O O O O"}, {"d c x y", "O O B-LOC I-LOC"}};
  std::string dev = tsv;
  for (int i = 0; i < 32; ++i) tsv += absl::StrCat(rows[i % 4][0], "\t", rows[i % 4][1], "\n");
  for (int i = 0; i < 4; ++i) dev += absl::StrCat(rows[i][0], "\t", rows[i][1], "\n");
  FinetuneOptions o;
  o.task = "ner";
  o.vocab_path = vocab_path_;
  o.train_path = Write("ner_train.tsv", tsv);
  o.dev_path = Write("ner_dev.tsv", dev);
  o.test_path = o.dev_path;
  o.run.trainer.output_model_path = dir_ + "/ner.bin";
  o.config = TinyConfig("lstm");
  o.run.batch_size = 8;
  o.seq_length = 6;
  o.run.trainer.optimizer.learning_rate = 5e-3;
  o.epochs_num = 8;
  ASSERT_OK_AND_ASSIGN(FinetuneResult r, RunFinetune(o));
  EXPECT_EQ(r.labels_num, 4);  // [PAD] O B-LOC I-LOC
  EXPECT_DOUBLE_EQ(r.test_metric, 1.0) << r.test_report;

  InferOptions io;
  io.task = "ner";
  io.load_model_path = o.run.trainer.output_model_path;  // its label map is ner.bin.labels.json
  io.vocab_path = vocab_path_;
  io.test_path = Write("ner_infer.tsv", "text_a\nc x y\n");
  io.prediction_path = dir_ + "/ner_prediction.tsv";
  io.config = o.config;
  io.seq_length = 6;
  ASSERT_OK(RunInfer(io));
  std::ifstream in(io.prediction_path);
  std::string header, line;
  std::getline(in, header);
  std::getline(in, line);
  EXPECT_EQ(header, "pred_label");
  EXPECT_EQ(line, "O B-LOC I-LOC");
}

// A config the encoder cannot be built from (heads_num does not divide hidden_size) and a
// checkpoint of another architecture end with a message, never an abort.
TEST_F(FinetuneTest, ShapeErrorsAreStatusesNamingTheCause) {
  FinetuneOptions o;
  o.task = "classifier";
  o.vocab_path = vocab_path_;
  o.train_path = Write("train2.tsv", ToyClassifierTsv(16, 0));
  o.dev_path = Write("dev2.tsv", ToyClassifierTsv(8, 1));
  o.run.trainer.output_model_path = dir_ + "/shape.bin";
  o.config = TinyConfig("bert");
  o.config.set_heads_num(3);
  o.seq_length = 6;
  o.epochs_num = 1;
  EXPECT_THAT(RunFinetune(o), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("encoder \"bert\"")));
  o.config = TinyConfig("bert");
  o.pretrained_model_path = dir_ + "/lstm.bin";
  ASSERT_OK_AND_ASSIGN(auto lstm, BuildFinetuneModel(TinyConfig("lstm"), "ner", {vocab_->size(), 0}));
  ASSERT_OK(SaveStateDict(o.pretrained_model_path, ModelStateDict(*lstm)));
  EXPECT_THAT(RunFinetune(o), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("does not match the model")));
  o.pretrained_model_path.clear();
  o.task = "nope";
  EXPECT_THAT(RunFinetune(o), StatusIs(absl::StatusCode::kNotFound, HasSubstr("unknown task \"nope\"")));
}

// Inputs a hostile user would try: a vocabulary without the special tokens the task puts into rows,
// a GBK training file; each refused with a message naming the file, before any work.
TEST_F(FinetuneTest, BadVocabularyOrEncodingIsRefused) {
  FinetuneOptions o;
  o.task = "classifier";
  o.train_path = Write("train3.tsv", ToyClassifierTsv(16, 0));
  o.dev_path = Write("dev3.tsv", ToyClassifierTsv(8, 1));
  o.run.trainer.output_model_path = dir_ + "/bad.bin";
  o.config = TinyConfig("bert");
  o.seq_length = 6;
  o.epochs_num = 1;
  o.vocab_path = Write("no_cls.txt", "[PAD]\n[UNK]\n[SEP]\na\nb\n");
  EXPECT_THAT(RunFinetune(o), StatusIs(absl::StatusCode::kInvalidArgument,
                                       HasSubstr(o.vocab_path + " has no [CLS] token (task classifier needs it)")));
  o.vocab_path = Write("no_pad.txt", "[UNK]\n[CLS]\n[SEP]\na\nb\n");
  EXPECT_THAT(RunFinetune(o), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("has no [PAD] token")));
  o.vocab_path = vocab_path_;
  o.train_path = Write("gbk.tsv", "label\ttext_a\n1\tabc\n0\t\xc4\xe3\xba\xc3\n");
  EXPECT_THAT(RunFinetune(o), StatusIs(absl::StatusCode::kInvalidArgument,
                                       o.train_path + ":3: invalid UTF-8 at byte 2 (use --replace_invalid_utf8 to read it as U+FFFD)"));
  EXPECT_FALSE(std::filesystem::exists(o.run.trainer.output_model_path));
}

// Gradient accumulation over two half batches gives what one full batch gives (classifier loss is a
// mean over rows; dropout off).
TEST_F(FinetuneTest, AccumulationMatchesTheFullBatch) {
  auto run = [&](int64_t batch, int64_t accumulation, const std::string& out) {
    FinetuneOptions o;
    o.task = "classifier";
    o.vocab_path = vocab_path_;
    o.train_path = Write("acc_train.tsv", ToyClassifierTsv(32, 0));
    o.dev_path = Write("acc_dev.tsv", ToyClassifierTsv(8, 1));
    o.run.trainer.output_model_path = dir_ + "/" + out;
    o.config = TinyConfig("bert");
    o.run.batch_size = batch;
    o.run.trainer.accumulation_steps = accumulation;
    o.seq_length = 6;
    o.epochs_num = 1;
    o.run.trainer.optimizer.learning_rate = 1e-3;
    return RunFinetune(o);
  };
  ASSERT_OK(run(8, 1, "full.bin"));
  ASSERT_OK(run(4, 2, "accumulated.bin"));
  ASSERT_OK_AND_ASSIGN(core::StateDict a, LoadStateDict(dir_ + "/full.bin"));
  ASSERT_OK_AND_ASSIGN(core::StateDict b, LoadStateDict(dir_ + "/accumulated.bin"));
  ASSERT_EQ(a.size(), b.size());
  double diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff = std::max(diff, (a[i].second - b[i].second).abs().max().item<double>());
  EXPECT_LE(diff, 1e-6);
}

}  // namespace
}  // namespace uer::runtime
