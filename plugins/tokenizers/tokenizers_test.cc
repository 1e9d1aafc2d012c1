// The tokenizer plugins, loaded through the real loader from their shared libraries.
#include <random>

#include "core/runtime/loader.h"
#include "core/tokenizer.h"
#include "testing/test_util.h"

namespace uer::tokenizers {
namespace {

using ::testing::ElementsAre;
using ::uer::testing::RunfilePath;

class TokenizersTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    for (const char* n : {"bert/libuer_tokenizer_bert.so", "char/libuer_tokenizer_char.so",
                          "space/libuer_tokenizer_space.so"}) {
      ASSERT_OK(runtime::LoadPlugin(RunfilePath(std::string("plugins/tokenizers/") + n)));
    }
  }
  std::unique_ptr<core::Tokenizer> Make(const std::string& name, bool lower = true, int max_chars = 100) {
    auto vocab = core::Vocab::FromTokens(
        {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", ",", "!", "world", "un", "##aff", "##able",
         "中", "国", "cafe", "the", ".", "aaa", "##a", "Hello", "-", "é"},
        "test_vocab");
    EXPECT_OK(vocab);
    core::TokenizerOptions o;
    o.vocab = std::make_shared<const core::Vocab>(*vocab);
    o.do_lower_case = lower;
    o.max_input_chars_per_word = max_chars;
    auto t = core::CreateTokenizer(name, o);
    EXPECT_OK(t);
    return std::move(t).value();
  }
};

TEST_F(TokenizersTest, BertBasicAndWordpiece) {
  auto t = Make("bert");
  EXPECT_THAT(t->Tokenize("Hello, World!"), ElementsAre("hello", ",", "world", "!"));
  EXPECT_THAT(t->Tokenize("unaffable"), ElementsAre("un", "##aff", "##able"));
  EXPECT_THAT(t->Tokenize("unaffablex"), ElementsAre("[UNK]"));
  EXPECT_THAT(t->Tokenize("中国hello"), ElementsAre("中", "国", "hello"));
  EXPECT_THAT(t->Tokenize("CAFÉ"), ElementsAre("cafe"));          // lower-cased, accent stripped
  EXPECT_THAT(t->Tokenize("[CLS] hello [SEP]"), ElementsAre("[CLS]", "hello", "[SEP]"));  // never split
  EXPECT_THAT(t->Tokenize("  \t\n "), ElementsAre());
  EXPECT_THAT(t->Tokenize("the\u3000world\u00a0."), ElementsAre("the", "world", "."));
  EXPECT_THAT(t->Tokenize("aaaa"), ElementsAre("aaa", "##a"));
}

TEST_F(TokenizersTest, BertWithoutLowerCasing) {
  auto t = Make("bert", /*lower=*/false);
  EXPECT_THAT(t->Tokenize("Hello hello"), ElementsAre("Hello", "hello"));
  EXPECT_THAT(t->Tokenize("é"), ElementsAre("é"));
}

TEST_F(TokenizersTest, BertLongWordsAreUnknown) {
  std::string long_word(101, 'a');
  EXPECT_THAT(Make("bert")->Tokenize(long_word), ElementsAre("[UNK]"));
  EXPECT_EQ(Make("bert", true, 200)->Tokenize(long_word).size(), 99u);  // aaa, then ##a 98 times
}

TEST_F(TokenizersTest, BertDropsControlNulAndInvalidBytes) {
  auto t = Make("bert");
  EXPECT_THAT(t->Tokenize(std::string("hel\0lo", 6)), ElementsAre("hello"));
  EXPECT_THAT(t->Tokenize("hel\x01lo"), ElementsAre("hello"));
  EXPECT_THAT(t->Tokenize("hel\xff\xfelo"), ElementsAre("hello"));      // invalid UTF-8 -> U+FFFD -> dropped
  EXPECT_THAT(t->Tokenize("\xe4\xb8"), ElementsAre());                  // truncated sequence
  EXPECT_THAT(t->Tokenize("hello\xe2\x80\x8b"), ElementsAre("hello"));  // zero-width space (Cf)
}

TEST_F(TokenizersTest, CharAndSpaceAreUerPys) {
  auto c = Make("char");
  EXPECT_THAT(c->Tokenize(" 中国 a\n"), ElementsAre("中", "国", " ", "a"));
  EXPECT_EQ(c->ConvertTokensToIds(c->Tokenize("中z")), (std::vector<int64_t>{12, 1}));
  auto s = Make("space");
  EXPECT_THAT(s->Tokenize(" hello  world \n"), ElementsAre("hello", "", "world"));
  EXPECT_THAT(s->Tokenize(""), ElementsAre(""));
  EXPECT_EQ(s->ConvertTokensToIds(s->Tokenize("hello  world")), (std::vector<int64_t>{5, 1, 8}));
}

TEST_F(TokenizersTest, OneMegabyteLine) {
  std::string line;
  while (line.size() < (1 << 20)) line += "hello, 中国! ";
  for (const char* name : {"bert", "char", "space"}) {
    auto t = Make(name);
    std::vector<std::string> tokens = t->Tokenize(line);
    EXPECT_GT(tokens.size(), 100000u) << name;
  }
}

// A bounded fuzz run (the libFuzzer entry point is in tokenizer_fuzz.cc): random bytes, random
// UTF-8 and mutations of real text through every tokenizer. Invariants: no crash, every token is in
// the vocabulary or [UNK] (bert), ids are in range, the result is deterministic.
TEST_F(TokenizersTest, FuzzBounded) {
  std::mt19937 rng(12345);
  const std::vector<std::string> seeds = {"Hello, World!", "中国 unaffable", "[CLS] a [SEP]", "CAFÉ\tx\r\ny"};
  const std::vector<char32_t> interesting = {0, 1, 0x7f, 0x85, 0xa0, 0x300, 0x130, 0x3a3, 0x2028, 0x3000,
                                             0x4e2d, 0xfffd, 0xfeff, 0x1f600, 0x20000, 0xd7ff, 0x10ffff};
  auto bert = Make("bert"), chr = Make("char"), spc = Make("space");
  const int64_t vocab_size = bert->vocab().size();
  for (int iter = 0; iter < 3000; ++iter) {
    std::string s;
    switch (iter % 3) {
      case 0: {  // random bytes
        int n = rng() % 64;
        for (int i = 0; i < n; ++i) s.push_back(static_cast<char>(rng() & 0xff));
        break;
      }
      case 1: {  // random code points, encoded
        int n = rng() % 32;
        for (int i = 0; i < n; ++i) {
          char32_t cp = (rng() % 4 == 0) ? interesting[rng() % interesting.size()] : (rng() % 0x3000);
          if (cp >= 0xd800 && cp <= 0xdfff) cp = 'x';
          if (cp < 0x80) s.push_back(static_cast<char>(cp));
          else if (cp < 0x800) { s.push_back(0xc0 | (cp >> 6)); s.push_back(0x80 | (cp & 0x3f)); }
          else if (cp < 0x10000) { s.push_back(0xe0 | (cp >> 12)); s.push_back(0x80 | ((cp >> 6) & 0x3f)); s.push_back(0x80 | (cp & 0x3f)); }
          else { s.push_back(0xf0 | (cp >> 18)); s.push_back(0x80 | ((cp >> 12) & 0x3f)); s.push_back(0x80 | ((cp >> 6) & 0x3f)); s.push_back(0x80 | (cp & 0x3f)); }
        }
        break;
      }
      default: {  // mutated seed
        s = seeds[rng() % seeds.size()];
        for (int m = 0; m < 3 && !s.empty(); ++m) s[rng() % s.size()] = static_cast<char>(rng() & 0xff);
      }
    }
    for (auto* t : {bert.get(), chr.get(), spc.get()}) {
      std::vector<std::string> tokens = t->Tokenize(s);
      EXPECT_EQ(tokens, t->Tokenize(s));
      for (int64_t id : t->ConvertTokensToIds(tokens)) {
        ASSERT_GE(id, 0);
        ASSERT_LT(id, vocab_size);
      }
    }
    for (const std::string& tok : bert->Tokenize(s)) {
      ASSERT_TRUE(bert->vocab().Contains(tok)) << "bert produced \"" << tok << "\" for input of " << s.size() << " bytes";
    }
  }
}

}  // namespace
}  // namespace uer::tokenizers
