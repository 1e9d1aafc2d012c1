// The mrc task's data side: the SQuAD reader and its errors, the seed's windows and answer
// positions, the span choice (never outside the context), CMRC2018's EM and F1.
#include "plugins/tasks/mrc/mrc_data.h"

#include <fstream>

#include "core/runtime/loader.h"
#include "testing/test_util.h"

namespace uer::tasks {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::uer::testing::StatusIs;

class MrcDataTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_OK(runtime::LoadPlugin(::uer::testing::RunfilePath("plugins/tokenizers/char/libuer_tokenizer_char.so")));
    ASSERT_OK(runtime::LoadPlugin(::uer::testing::RunfilePath("plugins/tokenizers/bert/libuer_tokenizer_bert.so")));
  }
  void SetUp() override {
    dir_ = ::uer::testing::TempDir("mrc_data");
    // UER-py's reserved ids, then one token a character (WriteUerVocab writes one a byte).
    std::string text = "[PAD]\n";
    for (int i = 1; i < 100; ++i) text += "[unused" + std::to_string(i) + "]\n";
    text += "[UNK]\n[CLS]\n[SEP]\n[MASK]\n";
    for (const char* t : {"北", "京", "是", "中", "国", "的", "首", "都", "哪", "里", "？", "a", "b", "c", "d", "e", "f"}) {
      text += std::string(t) + "\n";
    }
    auto v = core::Vocab::Load(Write("vocab.txt", text));
    ASSERT_OK(v);
    vocab_ = std::make_shared<const core::Vocab>(*std::move(v));
  }
  std::unique_ptr<core::Tokenizer> Tokenizer(const std::string& name) {
    core::TokenizerOptions o;
    o.vocab = vocab_;
    auto t = core::CreateTokenizer(name, o);
    EXPECT_TRUE(t.ok()) << t.status();
    return *std::move(t);
  }
  std::string Write(const std::string& name, const std::string& text) {
    const std::string p = dir_ + "/" + name;
    std::ofstream(p) << text;
    return p;
  }
  std::string dir_;
  std::shared_ptr<const core::Vocab> vocab_;
};

constexpr char kSquad[] = R"({"version": "v1", "data": [{"paragraphs": [{"context": "北京是中国的首都",
  "qas": [{"question": "首都是哪里？", "id": "Q1", "answers": [{"text": "北京", "answer_start": 0}]},
          {"question": "哪里", "id": "Q2", "answers": [{"text": "中国", "answer_start": 1}]}]}]}]})";

TEST_F(MrcDataTest, ReadsSquadAndMovesAnAnswerToItsText) {
  ASSERT_OK_AND_ASSIGN(MrcFile f, ReadSquadJson(Write("a.json", kSquad), true));
  ASSERT_EQ(f.questions.size(), 2u);
  EXPECT_EQ(f.questions[0].id, "Q1");
  EXPECT_EQ(f.questions[0].answers[0].start, 0);
  EXPECT_EQ(f.questions[1].answers[0].start, 3);  // "中国" is at 3, not at its answer_start 1
  EXPECT_EQ(f.relocated, 1);
}

TEST_F(MrcDataTest, NamesTheFileAndTheQuestionOfBadInput) {
  EXPECT_THAT(ReadSquadJson(Write("b.json", "{\"data\": [}"), true),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("b.json: not JSON")));
  EXPECT_THAT(ReadSquadJson(Write("c.json", "{\"version\": 1}"), true),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("\"data\" list")));
  std::string missing = kSquad;
  missing.replace(missing.find("\"北京\", \"answer_start\""), 8, "\"上海\"");
  EXPECT_THAT(ReadSquadJson(Write("d.json", missing), true),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("question Q1: the answer \"上海\" is not in its context")));
  EXPECT_THAT(ReadSquadJson(dir_ + "/none.json", true), StatusIs(absl::StatusCode::kNotFound, HasSubstr("none.json")));
  // Without answers (inference), the answers may be absent.
  ASSERT_OK_AND_ASSIGN(MrcFile f, ReadSquadJson(Write("e.json", R"({"data": [{"paragraphs": [{"context": "北京",
      "qas": [{"question": "哪里", "id": "Q"}]}]}]})"), false));
  EXPECT_TRUE(f.questions[0].answers.empty());
}

TEST_F(MrcDataTest, WindowsAndPositionsAreTheSeeds) {
  // seq_length 12, question of 2 characters: windows of 12 - 2 - 3 = 7 characters, moved by 3.
  MrcQuestion q{"Q", "哪里", "北京是中国的首都北京是中国", {{"首都", 6}}};
  auto tok = Tokenizer("char");
  MrcWindowOptions o;
  o.seq_length = 12;
  o.doc_stride = 3;
  std::vector<MrcWindow> all = MakeWindows(q, 0, *tok, o);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].offset, 0);
  EXPECT_EQ(all[1].offset, 3);
  EXPECT_EQ(all[2].offset, 6);
  EXPECT_EQ(all[2].length, 7);
  // The seed: start = answer_start - offset + q_len + 2, end = start + answer length (exclusive).
  // The first window (characters 0-6) does not hold 首都 (6-7).
  EXPECT_FALSE(all[0].has_answer);
  EXPECT_TRUE(all[1].has_answer);
  EXPECT_EQ(all[1].start, 6 - 3 + 2 + 2);
  EXPECT_EQ(all[1].end, 6 - 3 + 2 + 2 + 2);
  EXPECT_EQ(all[2].start, 6 - 6 + 2 + 2);
  EXPECT_EQ(all[0].src.front(), vocab_->cls_id());
  EXPECT_EQ(all[0].src[3], vocab_->sep_id());
  EXPECT_EQ(all[0].src.size(), 12u);
  EXPECT_THAT(std::vector<int64_t>(all[0].seg.begin(), all[0].seg.begin() + 5), ElementsAre(1, 1, 1, 1, 2));
  // Training keeps the windows that hold the answer: all three here; a later answer drops some.
  q.answers = {{"中国", 11}};
  o.only_with_answer = true;
  std::vector<MrcWindow> training = MakeWindows(q, 0, *tok, o);
  ASSERT_EQ(training.size(), 1u);
  EXPECT_EQ(training[0].offset, 6);
  // A question that leaves no room for its context gives no window (the seed loops forever).
  q.question = "北京是中国的首都北京是中国";
  EXPECT_TRUE(MakeWindows(q, 0, *tok, o).empty());
}

TEST_F(MrcDataTest, BertTokensOfEnglishWordsAlignToTheirCharacters) {
  MrcQuestion q{"Q", "哪里", "北京 abc def中国", {{"def", 7}}};
  auto tok = Tokenizer("bert");
  MrcWindowOptions o;
  o.seq_length = 32;
  std::vector<MrcWindow> w = MakeWindows(q, 0, *tok, o);
  ASSERT_EQ(w.size(), 1u);
  ASSERT_TRUE(w[0].has_answer);
  // [CLS] 哪 里 [SEP] 北 京 abc def 中 国 [SEP]: def is token 7.
  EXPECT_EQ(w[0].start, 7);
  EXPECT_EQ(w[0].end, 8);
  EXPECT_EQ(w[0].char_begin[7], 7);
  EXPECT_EQ(w[0].char_end[7], 10);
}

TEST_F(MrcDataTest, BestSpanStaysInTheContextAndWithinTheLength) {
  MrcQuestion q{"Q", "哪里", "北京是中国的首都", {}};
  auto tok = Tokenizer("char");
  MrcWindowOptions o;
  o.seq_length = 16;
  std::vector<MrcWindow> w = MakeWindows(q, 0, *tok, o);
  ASSERT_EQ(w.size(), 1u);
  std::vector<float> start(16, 0.f), end(16, 0.f);
  start[1] = 50;  // in the question: never a start
  start[6] = 10;
  end[2] = 50;    // before any start
  end[9] = 9;
  SpanChoice c = BestSpan(start.data(), end.data(), 16, w[0], 30);
  EXPECT_EQ(c.start, 6);
  EXPECT_EQ(c.end, 9);
  c = BestSpan(start.data(), end.data(), 16, w[0], 2);  // at most two tokens
  EXPECT_EQ(c.start, 6);
  EXPECT_LE(c.end, 8);
}

// Served: a question and a context become the context's windows; the answer is the best span over
// them, with its code-point offsets in the context.
TEST_F(MrcDataTest, ServesAQuestionOverTheContextsWindows) {
  auto tok = Tokenizer("char");
  core::TaskDataContext c;
  c.vocab = vocab_;
  c.tokenizer = tok.get();
  c.options = {{"doc_stride", "3"}, {"max_answer_length", "4"}};
  std::unique_ptr<core::TaskData> data = NewMrcData(c);
  EXPECT_EQ(data->Serves(), core::ServedKind::kSpan);
  core::TaskReadOptions o;
  o.seq_length = 12;
  const core::TextInput input{"哪里", "北京是中国的首都北京是中国"};
  ASSERT_OK_AND_ASSIGN(core::TaskDataset rows, data->ReadText(input, o));
  ASSERT_EQ(rows.size(), 3);  // as WindowsAndPositionsAreTheSeeds: offsets 0, 3, 6
  EXPECT_EQ(rows.src.size(1), 12);
  EXPECT_THAT(data->ReadText({"哪里", ""}, o).status(), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("text_b")));
  // Logits that point at 首都 (context characters 6-7) in the second window: start token 7, the
  // (exclusive) end token 9.
  torch::Tensor logits = torch::zeros({3, 12, 2});
  logits[1][7][0] = 20;
  logits[1][9][1] = 20;
  core::TargetOutput out;
  out.values.emplace_back("logits", logits);
  ASSERT_OK_AND_ASSIGN(core::ServedAnswer a, data->Answer(input, rows, out));
  ASSERT_EQ(a.spans.size(), 1u);
  EXPECT_EQ(a.spans[0].text, "首都");
  EXPECT_EQ(a.spans[0].start, 6);
  EXPECT_EQ(a.spans[0].end, 8);
  EXPECT_GT(a.spans[0].score, 0.99);
}

TEST(CmrcMetricsTest, AsTheOfficialEvaluation) {
  EXPECT_THAT(MixedSegmentation("  HBO播放18小时，每天 ", false), ElementsAre("hbo", "播", "放", "18", "小", "时", "，", "每", "天"));
  EXPECT_THAT(MixedSegmentation("18小时，", true), ElementsAre("18", "小", "时"));
  EXPECT_DOUBLE_EQ(CmrcF1({"18小时"}, "18小时"), 1.0);
  EXPECT_DOUBLE_EQ(CmrcF1({"18小时"}, "18"), 0.5);  // p = 1, r = 1/3
  EXPECT_DOUBLE_EQ(CmrcF1({"北京", "18小时"}, "每天18"), 1.0 / 3);  // lcs 1: p = 1/3, r = 1/3; "北京": 0
  EXPECT_DOUBLE_EQ(CmrcF1({"北京"}, "上海"), 0.0);
  EXPECT_TRUE(CmrcExactMatch({"上海", "《北京》"}, "北京"));
  EXPECT_FALSE(CmrcExactMatch({"北京"}, "北京市"));
}

}  // namespace
}  // namespace uer::tasks
