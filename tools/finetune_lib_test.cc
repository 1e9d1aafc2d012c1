#include "tools/finetune_lib.h"

#include <filesystem>
#include <fstream>
#include <set>

#include "absl/strings/str_cat.h"
#include "core/runtime/loader.h"
#include "core/runtime/model.h"
#include "core/plugin_api.h"
#include "testing/test_util.h"

namespace uer::tools {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::uer::testing::StatusIs;

class FinetuneLibTest : public ::testing::Test {
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

TEST_F(FinetuneLibTest, ReadsSingleSentencesInUerLayout) {
  TsvOptions o;
  o.seq_length = 5;
  ASSERT_OK_AND_ASSIGN(ClassifierData d, ReadClassifierTsv(Write("s.tsv", "label\ttext_a\n1\tab\n0\tabcdxy\n"), *tokenizer_, o));
  ASSERT_EQ(d.examples.size(), 2u);
  EXPECT_FALSE(d.pair);
  // [CLS]=101, a=104, b=105, then [PAD]=0; segment 1 on the tokens.
  EXPECT_THAT(d.examples[0].src, ElementsAre(101, 104, 105, 0, 0));
  EXPECT_THAT(d.examples[0].seg, ElementsAre(1, 1, 1, 0, 0));
  EXPECT_EQ(d.examples[0].label, 1);
  EXPECT_THAT(d.examples[1].src, ElementsAre(101, 104, 105, 106, 107));  // cut to seq_length
  EXPECT_EQ(d.examples[1].line, 3);
}

TEST_F(FinetuneLibTest, ReadsPairsAndDbqaByTheHeader) {
  TsvOptions o;
  o.seq_length = 8;
  ASSERT_OK_AND_ASSIGN(ClassifierData d,
                       ReadClassifierTsv(Write("p.tsv", "qid\tlabel\ttext_a\ttext_b\n3\t1\tab\tx\n"), *tokenizer_, o));
  ASSERT_EQ(d.examples.size(), 1u);
  EXPECT_TRUE(d.pair);
  EXPECT_TRUE(d.has_qid);
  EXPECT_EQ(d.examples[0].qid, 3);
  // [CLS] a b [SEP] x [SEP]
  EXPECT_THAT(d.examples[0].src, ElementsAre(101, 104, 105, 102, 108, 102, 0, 0));
  EXPECT_THAT(d.examples[0].seg, ElementsAre(1, 1, 1, 1, 2, 2, 0, 0));
}

TEST_F(FinetuneLibTest, BadLinesNameTheFileAndLineOrAreSkipped) {
  TsvOptions o;
  const std::string p = Write("bad.tsv", "label\ttext_a\n1\tab\nx\tab\n0\tab\textra\n0\tcd\n");
  EXPECT_THAT(ReadClassifierTsv(p, *tokenizer_, o),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(p + ":3: the label \"x\" is not a non-negative integer")));
  o.skip_bad_lines = true;
  ASSERT_OK_AND_ASSIGN(ClassifierData d, ReadClassifierTsv(p, *tokenizer_, o));
  EXPECT_EQ(d.examples.size(), 2u);
  EXPECT_EQ(d.skipped, 2);
  o.skip_bad_lines = false;
  const std::string cols = Write("cols.tsv", "label\ttext_a\n1\tab\textra\n");
  EXPECT_THAT(ReadClassifierTsv(cols, *tokenizer_, o),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr(cols + ":2: expected 2 tab-separated columns (label, text_a), got 3")));
  const std::string empty = Write("empty.tsv", "");
  EXPECT_THAT(ReadClassifierTsv(empty, *tokenizer_, o),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(empty + ": empty file")));
  const std::string header = Write("header.tsv", "label\ttext\n1\tab\n");
  EXPECT_THAT(ReadClassifierTsv(header, *tokenizer_, o),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("has no column \"text_a\"")));
  EXPECT_THAT(ReadClassifierTsv(dir_ + "/missing.tsv", *tokenizer_, o), StatusIs(absl::StatusCode::kNotFound, HasSubstr("missing.tsv")));
}

TEST_F(FinetuneLibTest, ClassificationReportCountsLikeUerPy) {
  // predicted / gold: (0,0) (0,1) (1,1) (1,1)
  ClassificationReport r = Classification({0, 0, 1, 1}, {0, 1, 1, 1}, 2);
  EXPECT_EQ(r.correct, 3);
  EXPECT_DOUBLE_EQ(r.accuracy, 0.75);
  EXPECT_THAT(r.confusion[0], ElementsAre(1, 1));
  EXPECT_THAT(r.confusion[1], ElementsAre(0, 2));
  EXPECT_DOUBLE_EQ(r.precision[0], 0.5);
  EXPECT_DOUBLE_EQ(r.recall[0], 1.0);
  EXPECT_DOUBLE_EQ(r.precision[1], 1.0);
  EXPECT_NEAR(r.recall[1], 2.0 / 3, 1e-12);
  EXPECT_NEAR(r.f1[1], 0.8, 1e-12);
  EXPECT_THAT(r.ToString(true), HasSubstr("Acc. (Correct/Total): 0.7500 (3/4)"));
}

TEST_F(FinetuneLibTest, MeanReciprocalRank) {
  // q1: the correct answer is second (1/2); q2: first (1); q3 has no correct answer and is left out;
  // q4: two correct answers, the better one third (1/3).
  std::vector<int64_t> qids = {1, 1, 1, 2, 2, 3, 3, 4, 4, 4, 4};
  std::vector<int64_t> labels = {0, 1, 0, 1, 0, 0, 0, 0, 1, 0, 1};
  std::vector<double> scores = {0.9, 0.8, 0.1, 0.7, 0.3, 0.5, 0.4, 0.9, 0.2, 0.8, 0.5};
  EXPECT_NEAR(MeanReciprocalRank(qids, labels, scores), (0.5 + 1 + 1.0 / 3) / 3, 1e-12);
}

TEST_F(FinetuneLibTest, EntitiesCountedAsUerPyCountsThem) {
  NerLabels l = NerLabels::FromNames({"[PAD]", "O", "B-LOC", "I-LOC", "B-PER"});
  EntityCounts c;
  // gold: LOC(1..2), PER(4); pred: LOC(1..2) right, PER(4) extended over 5 (wrong), B at padding ignored.
  c.Add({1, 2, 3, 1, 4, 1, 0}, {1, 2, 3, 1, 4, 3, 2}, l);
  EXPECT_EQ(c.gold, 2);
  EXPECT_EQ(c.predicted, 2);
  EXPECT_EQ(c.correct, 1);
  EXPECT_DOUBLE_EQ(c.f1(), 0.5);
}

TEST_F(FinetuneLibTest, NerDataAndLabelMap) {
  TsvOptions o;
  o.seq_length = 4;
  const std::string train = Write("ner.tsv", "text_a\tlabel\na b x\tB-LOC I-LOC O\nc d q z y\tO O O S-PER O\n");
  ASSERT_OK_AND_ASSIGN(NerLabels l, CollectNerLabels(train, o));
  EXPECT_THAT(l.names, ElementsAre("[PAD]", "B-LOC", "I-LOC", "O", "S-PER"));
  EXPECT_EQ(l.o_id, 3);
  ASSERT_OK_AND_ASSIGN(NerData d, ReadNerTsv(train, *vocab_, l, o));
  ASSERT_EQ(d.examples.size(), 2u);
  EXPECT_THAT(d.examples[0].src, ElementsAre(104, 105, 108, 0));
  EXPECT_THAT(d.examples[0].label, ElementsAre(1, 2, 3, 0));
  EXPECT_EQ(d.examples[1].src[2], 100);  // "q" is not in the vocabulary: [UNK]
  EXPECT_EQ(d.examples[1].length, 4);
  ASSERT_OK(WriteNerLabels(dir_ + "/labels.json", l));
  ASSERT_OK_AND_ASSIGN(NerLabels back, ReadNerLabels(dir_ + "/labels.json"));
  EXPECT_EQ(back.names, l.names);

  const std::string mismatch = Write("mm.tsv", "text_a\tlabel\na b\tO\n");
  EXPECT_THAT(ReadNerTsv(mismatch, *vocab_, l, o),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(mismatch + ":2: 2 tokens but 1 labels")));
  const std::string unseen = Write("unseen.tsv", "text_a\tlabel\na b\tO B-ORG\n");
  EXPECT_THAT(ReadNerTsv(unseen, *vocab_, l, o),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr(unseen + ":2: the label \"B-ORG\" does not occur in the training file")));
}

TEST_F(FinetuneLibTest, TaskHeadsSitAtTheTopLevelWithUerPyNames) {
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
TEST_F(FinetuneLibTest, PaddingDoesNotChangeTheFirstPositionOfTransformers) {
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

TEST_F(FinetuneLibTest, ClassifierLearnsSavesTheBestAndPredicts) {
  FinetuneOptions o;
  o.vocab_path = vocab_path_;
  o.train_path = Write("train.tsv", ToyClassifierTsv(64, 0));
  o.dev_path = Write("dev.tsv", ToyClassifierTsv(16, 3));
  o.test_path = Write("test.tsv", ToyClassifierTsv(16, 5));
  o.output_model_path = dir_ + "/models/classifier.bin";
  o.config = TinyConfig("bert");
  o.batch_size = 8;
  o.seq_length = 6;
  o.learning_rate = 1e-3;
  o.epochs_num = 6;
  ASSERT_OK_AND_ASSIGN(FinetuneResult r, RunClassifier(o));
  EXPECT_EQ(r.labels_num, 2);
  EXPECT_EQ(r.dev_metric.size(), 6u);
  EXPECT_DOUBLE_EQ(r.best_dev, 1.0);
  EXPECT_DOUBLE_EQ(r.test_metric, 1.0);
  EXPECT_THAT(r.test_report, HasSubstr("Acc. (Correct/Total): 1.0000 (16/16)"));
  EXPECT_EQ(r.train_samples, 64 * 6);

  InferOptions io;
  io.load_model_path = o.output_model_path;
  io.vocab_path = vocab_path_;
  io.test_path = Write("infer.tsv", "text_a\nxabc\nabcd\n");
  io.prediction_path = dir_ + "/prediction.tsv";
  io.config = o.config;
  io.seq_length = 6;
  io.output_prob = true;
  ASSERT_OK(RunClassifierInfer(io));
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
  EXPECT_THAT(RunClassifier(o), StatusIs(absl::StatusCode::kInvalidArgument,
                                         HasSubstr(o.dev_path + ":3: label 2 does not occur in the training file")));
}

TEST_F(FinetuneLibTest, NerLearnsAndPredicts) {
  // "x y" is a location wherever it occurs.
  std::string tsv = "text_a\tlabel\n";
  const char* rows[][2] = {{"a x y b", "O B-LOC I-LOC O"}, {"x y c d", "B-LOC I-LOC O O"},
                           {"a b c d", "O O O O"}, {"d c x y", "O O B-LOC I-LOC"}};
  std::string dev = tsv;
  for (int i = 0; i < 32; ++i) tsv += absl::StrCat(rows[i % 4][0], "\t", rows[i % 4][1], "\n");
  for (int i = 0; i < 4; ++i) dev += absl::StrCat(rows[i][0], "\t", rows[i][1], "\n");
  FinetuneOptions o;
  o.vocab_path = vocab_path_;
  o.train_path = Write("ner_train.tsv", tsv);
  o.dev_path = Write("ner_dev.tsv", dev);
  o.test_path = o.dev_path;
  o.output_model_path = dir_ + "/ner.bin";
  o.config = TinyConfig("lstm");
  o.batch_size = 8;
  o.seq_length = 6;
  o.learning_rate = 5e-3;
  o.epochs_num = 8;
  ASSERT_OK_AND_ASSIGN(FinetuneResult r, RunNer(o));
  EXPECT_EQ(r.labels_num, 4);  // [PAD] O B-LOC I-LOC
  EXPECT_DOUBLE_EQ(r.test_metric, 1.0) << r.test_report;

  InferOptions io;
  io.load_model_path = o.output_model_path;  // its label map is ner.bin.labels.json
  io.vocab_path = vocab_path_;
  io.test_path = Write("ner_infer.tsv", "text_a\nc x y\n");
  io.prediction_path = dir_ + "/ner_prediction.tsv";
  io.config = o.config;
  io.seq_length = 6;
  ASSERT_OK(RunNerInfer(io));
  std::ifstream in(io.prediction_path);
  std::string header, line;
  std::getline(in, header);
  std::getline(in, line);
  EXPECT_EQ(header, "pred_label");
  EXPECT_EQ(line, "O B-LOC I-LOC");
}

}  // namespace
}  // namespace uer::tools
