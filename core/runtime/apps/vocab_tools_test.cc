#include "core/runtime/apps/vocab_tools.h"

#include <fstream>
#include <sstream>

#include "core/runtime/loader.h"
#include "core/vocab.h"
#include "testing/test_util.h"

namespace uer::apps {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::uer::testing::RunfilePath;
using ::uer::testing::StatusIs;

class VocabToolsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    for (const char* n : {"bert/libuer_tokenizer_bert.so", "char/libuer_tokenizer_char.so",
                          "space/libuer_tokenizer_space.so"}) {
      ASSERT_OK(runtime::LoadPlugin(RunfilePath(std::string("plugins/tokenizers/") + n)));
    }
  }
  std::string Write(const std::string& name, const std::string& text) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
  std::string Read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  std::string dir_ = ::uer::testing::TempDir("vocab_tools");
};

TEST_F(VocabToolsTest, ForEachLineSplitsLikePythonTextMode) {
  std::string p = Write("lines.txt", std::string("a\nb\r\nc\rd\n\ne\0f", 13));
  std::vector<std::string> lines;
  ASSERT_OK(ForEachLine(p, [&](std::string_view l, int64_t n) {
    EXPECT_EQ(n, static_cast<int64_t>(lines.size()) + 1);
    lines.emplace_back(l);
    return absl::OkStatus();
  }));
  EXPECT_THAT(lines, ElementsAre("a", "b", "c", "d", "", std::string("e\0f", 3)));
}

TEST_F(VocabToolsTest, BuildVocabPutsReservedFirstThenByCountInFirstSeenOrder) {
  std::string corpus = Write("corpus.txt", "b a c\na b\nd\nb\n");
  BuildVocabOptions o;
  o.corpus_path = corpus;
  o.tokenizer = "space";
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> v, BuildVocab(o));
  ASSERT_EQ(v.size(), 104u + 4);
  EXPECT_EQ(v[0], "[PAD]");
  EXPECT_EQ(v[100], "[UNK]");
  EXPECT_EQ(v[103], "[MASK]");
  EXPECT_THAT(std::vector<std::string>(v.begin() + 104, v.end()), ElementsAre("b", "a", "c", "d"));
  // The same vocabulary with more workers; min_count drops the rare ones.
  o.workers_num = 3;
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> v3, BuildVocab(o));
  EXPECT_EQ(v, v3);
  o.min_count = 2;
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> v2, BuildVocab(o));
  EXPECT_THAT(std::vector<std::string>(v2.begin() + 104, v2.end()), ElementsAre("b", "a"));
}

TEST_F(VocabToolsTest, BuildVocabWithCharTokenizerWritesAReadableVocab) {
  BuildVocabOptions o;
  o.corpus_path = Write("zh.txt", "中国中\n国 人\u3000\n");  // the spaces are not tokens of a vocabulary
  o.vocab_path = dir_ + "/zh_vocab.txt";
  o.tokenizer = "char";
  ASSERT_OK(RunBuildVocab(o));
  ASSERT_OK_AND_ASSIGN(core::Vocab v, core::Vocab::Load(o.vocab_path));
  EXPECT_EQ(v.Id("中"), 104);
  EXPECT_EQ(v.Id("国"), 105);
  EXPECT_EQ(v.Id("人"), 106);
}

TEST_F(VocabToolsTest, BuildVocabErrors) {
  BuildVocabOptions o;
  o.corpus_path = Write("empty.txt", "");
  EXPECT_THAT(BuildVocab(o), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("is empty")));
  o.corpus_path = dir_ + "/missing.txt";
  EXPECT_THAT(BuildVocab(o), StatusIs(absl::StatusCode::kNotFound, HasSubstr("cannot open " + o.corpus_path)));
  o.corpus_path = Write("bad.txt", "ok\nbad \xff here\n");
  EXPECT_THAT(BuildVocab(o), StatusIs(absl::StatusCode::kInvalidArgument,
                                      o.corpus_path + ":2: invalid UTF-8 at byte 4 (use --replace_invalid_utf8 to read it as U+FFFD)"));
  o.replace_invalid_utf8 = true;
  auto replaced = BuildVocab(o);
  ASSERT_TRUE(replaced.ok()) << replaced.status();
  EXPECT_THAT(*replaced, Contains(HasSubstr("\xEF\xBF\xBD")));
  o.replace_invalid_utf8 = false;
  o.tokenizer = "bert";
  EXPECT_THAT(BuildVocab(o), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("needs a tokenizer that splits without a vocabulary (char, space)")));
}

TEST_F(VocabToolsTest, TokenizeWritesOneLinePerInputLine) {
  std::string vocab = Write("v.txt", "[PAD]\n[UNK]\n[CLS]\nhello\nworld\n,\n");
  TokenizeOptions o;
  o.vocab_path = vocab;
  o.input_path = Write("in.txt", "Hello, world\n\nunknown\n");
  o.output_path = dir_ + "/out.txt";
  ASSERT_OK(RunTokenize(o));
  EXPECT_EQ(Read(o.output_path), "3 5 4\n\n1\n");
  o.output_tokens = true;
  ASSERT_OK(RunTokenize(o));
  EXPECT_EQ(Read(o.output_path), "hello , world\n\n[UNK]\n");
}

TEST_F(VocabToolsTest, TokenizeBadInput) {
  std::string vocab = Write("v2.txt", "[PAD]\n[UNK]\nhello\n");
  TokenizeOptions o;
  o.vocab_path = vocab;
  o.output_path = dir_ + "/out2.txt";
  o.input_path = Write("bad_utf8.txt", "hello\nhel\xc3(lo\n");
  EXPECT_THAT(RunTokenize(o), StatusIs(absl::StatusCode::kInvalidArgument,
                                       HasSubstr(o.input_path + ":2: invalid UTF-8 at byte 3")));
  EXPECT_FALSE(std::ifstream(o.output_path).good());  // nothing half-written
  o.replace_invalid_utf8 = true;
  ASSERT_OK(RunTokenize(o));
  EXPECT_EQ(Read(o.output_path), "2\n1 1 1\n");  // "hel", U+FFFD (dropped), "(", "lo": all unknown
  o.input_path = Write("nul.txt", std::string("hel\0lo\n", 7));
  ASSERT_OK(RunTokenize(o));
  EXPECT_EQ(Read(o.output_path), "2\n");
  o.input_path = dir_ + "/none.txt";
  EXPECT_THAT(RunTokenize(o), StatusIs(absl::StatusCode::kNotFound, HasSubstr("cannot open " + o.input_path)));
  o.input_path = Write("ok.txt", "hello\n");
  o.vocab_path = Write("nounk.txt", "[PAD]\nhello\n");
  EXPECT_THAT(RunTokenize(o), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("has no [UNK] token")));
  o.vocab_path = Write("dup.txt", "[UNK]\nhello\nhello\n");
  EXPECT_THAT(RunTokenize(o), StatusIs(absl::StatusCode::kInvalidArgument, o.vocab_path + ":3: token \"hello\" repeats line 2"));
  o.vocab_path = Write("v3.txt", "[UNK]\n");
  o.tokenizer = "wordpeice";
  EXPECT_THAT(RunTokenize(o), StatusIs(absl::StatusCode::kNotFound, HasSubstr("unknown tokenizer \"wordpeice\"; known tokenizers: bert, char, space")));
}

TEST_F(VocabToolsTest, DiffVocab) {
  std::string a = Write("a.txt", "x\ny\nz\n"), b = Write("b.txt", "y 3\nz\nw\nv\n");
  std::ostringstream out;
  ASSERT_OK(RunDiffVocab(a, b, out));
  EXPECT_EQ(out.str(), "vocab_1: " + a + ", size: 3\nvocab_2: " + b +
                           ", size: 4\nvocab_1 - vocab_2 = 1\nvocab_2 - vocab_1 = 2\nvocab_1 & vocab_2 = 2\n");
}

}  // namespace
}  // namespace uer::apps
