// The classifier task's data side: UER-py's TSV layout, bad lines named, its metrics.
#include "plugins/tasks/classifier/classifier_data.h"

#include <fstream>

#include "core/runtime/loader.h"
#include "testing/test_util.h"

namespace uer::tasks {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::uer::testing::StatusIs;

class ClassifierDataTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_OK(runtime::LoadPlugin(::uer::testing::RunfilePath("plugins/tokenizers/char/libuer_tokenizer_char.so")));
  }
  void SetUp() override {
    dir_ = ::uer::testing::TempDir("classifier_data");
    auto v = core::Vocab::Load(::uer::testing::WriteUerVocab(dir_, "abcdxyz"));
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
  std::string dir_;
  std::shared_ptr<const core::Vocab> vocab_;
  std::unique_ptr<core::Tokenizer> tokenizer_;
};

TEST_F(ClassifierDataTest, ReadsSingleSentencesInUerLayout) {
  core::TaskReadOptions o;
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

TEST_F(ClassifierDataTest, ReadsPairsAndDbqaByTheHeader) {
  core::TaskReadOptions o;
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

TEST_F(ClassifierDataTest, ServesATextOrAPairAsTheFileReaderLaysItOut) {
  core::TaskDataContext c;
  c.vocab = vocab_;
  c.tokenizer = tokenizer_.get();
  c.options["labels_num"] = "3";
  std::unique_ptr<core::TaskData> data = NewClassifierData(c);
  core::v1::ModelConfig config;
  ASSERT_OK(data->PrepareInference("m.bin", {}, &config));
  EXPECT_EQ(data->Serves(), core::ServedKind::kClassification);
  EXPECT_THAT(data->LabelNames(), ElementsAre("0", "1", "2"));
  core::TaskReadOptions o;
  o.seq_length = 8;
  ASSERT_OK_AND_ASSIGN(core::TaskDataset pair, data->ReadText({"ab", "x"}, o));
  EXPECT_TRUE(torch::equal(pair.src, torch::tensor({101, 104, 105, 102, 108, 102, 0, 0}, torch::kLong).view({1, 8})));
  EXPECT_TRUE(torch::equal(pair.seg, torch::tensor({1, 1, 1, 1, 2, 2, 0, 0}, torch::kLong).view({1, 8})));
  ASSERT_OK_AND_ASSIGN(core::TaskDataset single, data->ReadText({"ab", ""}, o));
  EXPECT_TRUE(torch::equal(single.seg, torch::tensor({1, 1, 1, 0, 0, 0, 0, 0}, torch::kLong).view({1, 8})));
  EXPECT_THAT(data->ReadText({"", ""}, o).status(), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("text_a")));

  core::TargetOutput out;
  out.values.emplace_back("logits", torch::tensor({0.5f, -1.0f, 2.0f}).view({1, 3}));
  ASSERT_OK_AND_ASSIGN(core::ServedAnswer a, data->Answer({"ab", ""}, single, out));
  EXPECT_THAT(a.scores, ElementsAre(0.5f, -1.0f, 2.0f));
}

TEST_F(ClassifierDataTest, BadLinesNameTheFileAndLineOrAreSkipped) {
  core::TaskReadOptions o;
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

TEST_F(ClassifierDataTest, ClassificationReportCountsLikeUerPy) {
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

TEST_F(ClassifierDataTest, MeanReciprocalRank) {
  // q1: the correct answer is second (1/2); q2: first (1); q3 has no correct answer and is left out;
  // q4: two correct answers, the better one third (1/3).
  std::vector<int64_t> qids = {1, 1, 1, 2, 2, 3, 3, 4, 4, 4, 4};
  std::vector<int64_t> labels = {0, 1, 0, 1, 0, 0, 0, 0, 1, 0, 1};
  std::vector<double> scores = {0.9, 0.8, 0.1, 0.7, 0.3, 0.5, 0.4, 0.9, 0.2, 0.8, 0.5};
  EXPECT_NEAR(MeanReciprocalRank(qids, labels, scores), (0.5 + 1 + 1.0 / 3) / 3, 1e-12);
}

// A BOM from Excel's export is not part of the first column's name; a directory is said to be one.
TEST_F(ClassifierDataTest, ByteOrderMarkAndDirectories) {
  core::TaskReadOptions o;
  o.seq_length = 4;
  ASSERT_OK_AND_ASSIGN(ClassifierData d, ReadClassifierTsv(Write("bom.tsv", "\xEF\xBB\xBFlabel\ttext_a\n1\tab\n"), *tokenizer_, o));
  EXPECT_EQ(d.examples.size(), 1u);
  EXPECT_THAT(ReadClassifierTsv(dir_, *tokenizer_, o), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("is a directory")));
}

}  // namespace
}  // namespace uer::tasks
