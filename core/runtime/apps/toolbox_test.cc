// The toolbox against the seed's own outputs (../shared/golden/scripts: extract_embedding.py's
// word2vec text, topn_words_indep.py's list) and against what each tool promises: averages,
// prefixes, vocabulary moves, features, cloze guesses, and generation with and without the
// key/value cache.
#include "core/runtime/apps/toolbox.h"

#include <cmath>
#include <fstream>
#include <iostream>
#include <sstream>

#include <torch/torch.h>

#include "absl/strings/str_split.h"
#include "core/runtime/checkpoint.h"
#include "core/runtime/loader.h"
#include "core/vocab.h"
#include "testing/test_util.h"

namespace uer::apps {
namespace {

using ::testing::HasSubstr;
using ::uer::testing::StatusIs;

void WriteFile(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

class ToolboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    runtime::EnableLazyBuiltinPlugins();
    golden_ = ::uer::testing::SharedDir() + "/golden";
    if (::uer::testing::SharedDir().empty()) GTEST_SKIP() << "no ../shared (set UER_SHARED_DIR)";
    tmp_ = ::uer::testing::TempDir("toolbox");
  }
  // A golden case's model (meta.json's sizes: 64 wide, 2 layers).
  ModelSource Golden(const std::string& name, const std::string& encoder, const std::string& target) {
    ModelSource s;
    s.load_model_path = golden_ + "/" + name + "/model.bin";
    s.vocab_path = golden_ + "/vocab_1000.txt";
    core::v1::ModelConfig& c = s.config;
    c.set_emb_size(64);
    c.set_hidden_size(64);
    c.set_feedforward_size(128);
    c.set_heads_num(4);
    c.set_layers_num(2);
    c.set_embedding("bert");
    c.set_encoder(encoder);
    c.set_target(target);
    return s;
  }
  std::string golden_, tmp_;
};

TEST(PythonFloatReprTest, LaysOutDigitsAsPython) {
  EXPECT_EQ(PythonFloatRepr(0.1), "0.1");
  EXPECT_EQ(PythonFloatRepr(1.0), "1.0");
  EXPECT_EQ(PythonFloatRepr(-0.5), "-0.5");
  EXPECT_EQ(PythonFloatRepr(100.0), "100.0");
  EXPECT_EQ(PythonFloatRepr(0.0001), "0.0001");
  EXPECT_EQ(PythonFloatRepr(0.00001), "1e-05");
  EXPECT_EQ(PythonFloatRepr(2.4302555175381713e-05), "2.4302555175381713e-05");
  EXPECT_EQ(PythonFloatRepr(1e15), "1000000000000000.0");
  EXPECT_EQ(PythonFloatRepr(1e16), "1e+16");
  EXPECT_EQ(PythonFloatRepr(123456789012345678.0), "1.2345678901234568e+17");
  EXPECT_EQ(PythonFloatRepr(static_cast<double>(0.1f)), "0.10000000149011612");
  EXPECT_EQ(PythonFloatRepr(0.0), "0.0");
  EXPECT_EQ(PythonFloatRepr(-0.0), "-0.0");
  EXPECT_EQ(PythonFloatRepr(1.5e300), "1.5e+300");
  EXPECT_EQ(PythonFloatRepr(5e-324), "5e-324");
}

TEST_F(ToolboxTest, ExtractEmbeddingsIsTheSeedsFileByteForByte) {
  ExtractEmbeddingsOptions o;
  o.vocab_path = golden_ + "/vocab_1000.txt";
  o.load_model_path = golden_ + "/bert_bert/model.bin";
  o.word_embedding_path = tmp_ + "/emb.txt";
  std::ostringstream log;
  ASSERT_OK(ExtractEmbeddings(o, log));
  EXPECT_TRUE(::uer::testing::ReadFile(o.word_embedding_path) == ::uer::testing::ReadFile(golden_ + "/scripts/bert_bert_word_embedding.txt"));
  // The same table from UER-py's newer key names and from HuggingFace's.
  for (const char* other : {"model_head_keys.bin", "model_hf.bin"}) {
    o.load_model_path = golden_ + "/bert_bert/" + other;
    o.word_embedding_path = tmp_ + "/emb_" + other + ".txt";
    ASSERT_OK(ExtractEmbeddings(o, log));
    EXPECT_TRUE(::uer::testing::ReadFile(o.word_embedding_path) == ::uer::testing::ReadFile(golden_ + "/scripts/bert_bert_word_embedding.txt")) << other;
  }
  o.load_model_path = tmp_ + "/missing.bin";
  EXPECT_THAT(ExtractEmbeddings(o, log), StatusIs(absl::StatusCode::kNotFound, HasSubstr("missing.bin")));
}

TEST_F(ToolboxTest, TopnWordsIndepPrintsWhatTheSeedPrinted) {
  TopnWordsIndepOptions o;
  o.vocab_path = golden_ + "/vocab_1000.txt";
  o.cand_vocab_path = golden_ + "/scripts/topn_cand_vocab.txt";
  o.load_model_path = golden_ + "/bert_bert/model.bin";
  o.target_words_path = golden_ + "/scripts/topn_target_words.txt";
  o.topn = 10;
  std::ostringstream out;
  ASSERT_OK(TopnWordsIndep(o, out));
  // The same words in the same order; a similarity may differ from PyTorch 1.13's (the golden's) in
  // its last float32 bit, where LibTorch's summation kernel rounds differently (how many do depends
  // on the machine: 1 of 36 lines on one, 3 on another; never more than one bit).
  std::vector<std::string> ours = absl::StrSplit(out.str(), '\n');
  std::vector<std::string> seed = absl::StrSplit(::uer::testing::ReadFile(golden_ + "/scripts/topn_words_indep.out.txt"), '\n');
  ASSERT_EQ(ours.size(), seed.size());
  int exact = 0;
  for (size_t i = 0; i < ours.size(); ++i) {
    if (ours[i] == seed[i]) {
      ++exact;
      continue;
    }
    std::vector<std::string> a = absl::StrSplit(ours[i], '\t'), b = absl::StrSplit(seed[i], '\t');
    ASSERT_EQ(a.size(), 2u) << ours[i];
    ASSERT_EQ(b.size(), 2u) << seed[i];
    EXPECT_EQ(a[0], b[0]);
    const float x = std::stof(a[1]), y = std::stof(b[1]);
    EXPECT_TRUE(x == y || std::nextafter(x, y) == y) << ours[i] << " vs " << seed[i];
  }
  std::cout << exact << " of " << ours.size() << " lines byte for byte the seed's\n";
  EXPECT_GE(exact, static_cast<int>(ours.size()) * 3 / 4);
}

TEST_F(ToolboxTest, AverageModelsIsTheRunningMeanAndNamesDifferences) {
  AverageModelsOptions o;
  o.model_paths = {golden_ + "/bert_bert/model.bin", golden_ + "/bert_bert/trained_5_steps.bin",
                   golden_ + "/bert_bert/model.bin"};
  o.output_model_path = tmp_ + "/avg.bin";
  std::ostringstream log;
  ASSERT_OK(AverageModels(o, log));
  ASSERT_OK_AND_ASSIGN(core::StateDict a, runtime::LoadStateDict(o.model_paths[0]));
  ASSERT_OK_AND_ASSIGN(core::StateDict b, runtime::LoadStateDict(o.model_paths[1]));
  ASSERT_OK_AND_ASSIGN(core::StateDict avg, runtime::LoadStateDict(o.output_model_path));
  ASSERT_EQ(avg.size(), a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(avg[i].first, a[i].first);
    torch::Tensor expected = a[i].second.clone().mul_(1).add_(b[i].second).div_(2).mul_(2).add_(a[i].second).div_(3);
    EXPECT_TRUE(torch::equal(avg[i].second, expected)) << a[i].first;
  }
  o.model_paths = {golden_ + "/bert_bert/model.bin", golden_ + "/bert_mlm/model.bin"};
  EXPECT_THAT(AverageModels(o, log), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("bert_mlm/model.bin lacks the key")));
  o.model_paths = {golden_ + "/bert_bert/model.bin"};
  EXPECT_THAT(AverageModels(o, log), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("at least two")));
}

TEST_F(ToolboxTest, ModulePrefixRoundTrips) {
  ModulePrefixOptions o;
  o.input_model_path = golden_ + "/bert_bert/model.bin";
  o.output_model_path = tmp_ + "/multi.bin";
  o.add_module_prefix = true;
  std::ostringstream out;
  ASSERT_OK(ConvertModulePrefix(o, out));
  EXPECT_THAT(out.str(), HasSubstr("A Multi-GPU version model is created"));
  ASSERT_OK_AND_ASSIGN(core::StateDict multi, runtime::LoadStateDict(o.output_model_path));
  EXPECT_EQ(multi[0].first, "module.embedding.word_embedding.weight");
  o.input_model_path = o.output_model_path;
  ASSERT_OK(ConvertModulePrefix(o, out));
  EXPECT_THAT(out.str(), HasSubstr("already of Multi-GPU version"));
  o.add_module_prefix = false;
  o.delete_module_prefix = true;
  o.output_model_path = tmp_ + "/single.bin";
  ASSERT_OK(ConvertModulePrefix(o, out));
  ASSERT_OK_AND_ASSIGN(core::StateDict single, runtime::LoadStateDict(o.output_model_path));
  ASSERT_OK_AND_ASSIGN(core::StateDict original, runtime::LoadStateDict(golden_ + "/bert_bert/model.bin"));
  ASSERT_EQ(single.size(), original.size());
  for (size_t i = 0; i < single.size(); ++i) {
    EXPECT_EQ(single[i].first, original[i].first);
    EXPECT_TRUE(torch::equal(single[i].second, original[i].second));
  }
}

TEST_F(ToolboxTest, AdaptVocabKeepsKnownRowsAndDrawsNewOnes) {
  // The new vocabulary: the old one's first 500 words reversed, then 20 new words.
  ASSERT_OK_AND_ASSIGN(core::Vocab old_vocab, core::Vocab::Load(golden_ + "/vocab_1000.txt"));
  std::string text;
  for (int64_t i = 499; i >= 0; --i) text += old_vocab.Token(i) + "\n";
  for (int i = 0; i < 20; ++i) text += "newword" + std::to_string(i) + "\n";
  WriteFile(tmp_ + "/new_vocab.txt", text);
  VocabAdapterOptions o;
  o.old_model_path = golden_ + "/bert_bert/model.bin";
  o.old_vocab_path = golden_ + "/vocab_1000.txt";
  o.new_vocab_path = tmp_ + "/new_vocab.txt";
  o.new_model_path = tmp_ + "/adapted.bin";
  std::ostringstream out;
  ASSERT_OK(AdaptVocab(o, out));
  EXPECT_THAT(out.str(), HasSubstr("embedding.word_embedding.weight, target.mlm_linear_2.weight, target.mlm_linear_2.bias"));
  ASSERT_OK_AND_ASSIGN(core::StateDict old_state, runtime::LoadStateDict(o.old_model_path));
  ASSERT_OK_AND_ASSIGN(core::StateDict state, runtime::LoadStateDict(o.new_model_path));
  auto get = [](const core::StateDict& s, const std::string& k) {
    for (const auto& [key, t] : s) {
      if (key == k) return t;
    }
    return torch::Tensor();
  };
  for (const char* k : {"embedding.word_embedding.weight", "target.mlm_linear_2.weight", "target.mlm_linear_2.bias"}) {
    torch::Tensor o_t = get(old_state, k), n_t = get(state, k);
    ASSERT_EQ(n_t.size(0), 520) << k;
    EXPECT_TRUE(torch::equal(n_t.slice(0, 0, 500), o_t.slice(0, 0, 500).flip({0}))) << k;
    const double std = n_t.slice(0, 500).std().item<double>();
    EXPECT_NEAR(std, 0.02, 0.01) << k;
  }
  EXPECT_TRUE(torch::equal(get(state, "embedding.position_embedding.weight"), get(old_state, "embedding.position_embedding.weight")));
  // The same seed draws the same rows; a vocabulary that does not match the model is named.
  o.new_model_path = tmp_ + "/adapted2.bin";
  ASSERT_OK(AdaptVocab(o, out));
  ASSERT_OK_AND_ASSIGN(core::StateDict again, runtime::LoadStateDict(o.new_model_path));
  EXPECT_TRUE(torch::equal(get(again, "embedding.word_embedding.weight"), get(state, "embedding.word_embedding.weight")));
  o.old_vocab_path = tmp_ + "/new_vocab.txt";
  EXPECT_THAT(AdaptVocab(o, out), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("to adapt")));
}

TEST_F(ToolboxTest, ExtractFeaturesWritesTheSeedsTensorAndPools) {
  WriteFile(tmp_ + "/sents.txt", "中国的首都\n\n一本好书\n");
  ExtractFeaturesOptions o;
  o.model = Golden("bert_bert", "bert", "bert");
  o.input_path = tmp_ + "/sents.txt";
  o.output_path = tmp_ + "/features.pt";
  o.seq_length = 16;
  std::ostringstream out;
  ASSERT_OK(ExtractFeatures(o, out));
  EXPECT_THAT(out.str(), HasSubstr("The number of sentences: 2"));
  ASSERT_OK_AND_ASSIGN(runtime::PyValue all, runtime::LoadTorchFile(o.output_path));
  ASSERT_EQ(all.kind, runtime::PyValue::Kind::kTensor);
  EXPECT_EQ(all.tensor.sizes(), (std::vector<int64_t>{2, 16, 64}));
  o.pooling = "first";
  o.output_path = tmp_ + "/first.pt";
  ASSERT_OK(ExtractFeatures(o, out));
  ASSERT_OK_AND_ASSIGN(runtime::PyValue first, runtime::LoadTorchFile(o.output_path));
  EXPECT_TRUE(torch::allclose(first.tensor, all.tensor.select(1, 0), 1e-5, 1e-5));
  o.pooling = "mean";
  o.output_path = tmp_ + "/mean.pt";
  ASSERT_OK(ExtractFeatures(o, out));
  ASSERT_OK_AND_ASSIGN(runtime::PyValue mean, runtime::LoadTorchFile(o.output_path));
  // "中国的首都": [CLS] and 5 characters.
  EXPECT_TRUE(torch::allclose(mean.tensor[0], all.tensor[0].slice(0, 0, 6).mean(0), 1e-5, 1e-5));
  o.pooling = "median";
  EXPECT_THAT(ExtractFeatures(o, out), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--pooling median")));
}

TEST_F(ToolboxTest, ClozeTestWritesFourLinesAnInputAndNeedsAMaskedLmHead) {
  WriteFile(tmp_ + "/sents.txt", "中国的首都是北京\n一本好书\n");
  ClozeTestOptions o;
  o.model = Golden("bert_bert", "bert", "bert");
  o.input_path = tmp_ + "/sents.txt";
  o.output_path = tmp_ + "/cloze.txt";
  o.topn = 3;
  std::ostringstream out;
  ASSERT_OK(ClozeTest(o, out));
  std::string text = ::uer::testing::ReadFile(o.output_path);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 8);
  EXPECT_THAT(text, HasSubstr("[CLS]"));
  EXPECT_THAT(text, HasSubstr("[MASK]"));
  EXPECT_THAT(text, HasSubstr("Predicted answer: "));
  // The same seed masks the same positions.
  o.output_path = tmp_ + "/cloze2.txt";
  ASSERT_OK(ClozeTest(o, out));
  EXPECT_EQ(::uer::testing::ReadFile(o.output_path), text);
  o.model = Golden("gpt_lm", "gpt", "lm");
  EXPECT_THAT(ClozeTest(o, out), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("predicts masked tokens")));
}

TEST_F(ToolboxTest, TopnWordsDepRanksCandidatesInContext) {
  WriteFile(tmp_ + "/sents.txt", "中 书 乐 不 伟\t书\nno tab here\n");
  WriteFile(tmp_ + "/cand.txt", "中\n书\n伟\n乐\nnot_in_vocab\n");
  TopnWordsDepOptions o;
  o.model = Golden("bert_bert", "bert", "bert");
  o.model.config.set_tokenizer("space");
  o.sent_path = tmp_ + "/sents.txt";
  o.cand_vocab_path = tmp_ + "/cand.txt";
  o.topn = 3;
  o.batch_size = 2;
  std::ostringstream out;
  ASSERT_OK(TopnWordsDep(o, out));
  const std::string text = out.str();
  EXPECT_THAT(text, HasSubstr("length of candidate vocab: 4\nOriginal sentence: \n中 书 乐 不 伟\nTarget word: 书\n"));
  // The word itself is the nearest and left out: the three other candidates follow.
  EXPECT_EQ(std::count(text.begin(), text.end(), '\t'), 3);
  EXPECT_EQ(text.find("书\t"), std::string::npos);
}

TEST_F(ToolboxTest, GenerateGivesTheSameGreedyTokensWithAndWithoutTheCache) {
  WriteFile(tmp_ + "/prompts.txt", "中国的首都\n一本好书\n");
  GenerateOptions o;
  o.model = Golden("gpt_lm", "gpt", "lm");
  o.input_path = tmp_ + "/prompts.txt";
  o.seq_length = 40;
  o.greedy = true;
  std::ostringstream out;
  o.output_path = tmp_ + "/cached.txt";
  ASSERT_OK_AND_ASSIGN(GenerateStats cached, Generate(o, out));
  o.no_cache = true;
  o.output_path = tmp_ + "/full.txt";
  ASSERT_OK_AND_ASSIGN(GenerateStats full, Generate(o, out));
  EXPECT_EQ(cached.lines, 2);
  EXPECT_GT(cached.new_tokens, 0);
  EXPECT_EQ(cached.new_tokens, full.new_tokens);
  EXPECT_EQ(::uer::testing::ReadFile(tmp_ + "/cached.txt"), ::uer::testing::ReadFile(tmp_ + "/full.txt"));
  // Sampling repeats with the same seed.
  o.greedy = false;
  o.no_cache = false;
  o.top_k = 5;
  o.output_path = tmp_ + "/s1.txt";
  ASSERT_OK(Generate(o, out).status());
  o.output_path = tmp_ + "/s2.txt";
  ASSERT_OK(Generate(o, out).status());
  EXPECT_EQ(::uer::testing::ReadFile(tmp_ + "/s1.txt"), ::uer::testing::ReadFile(tmp_ + "/s2.txt"));
  o.model = Golden("bert_bert", "bert", "bert");
  EXPECT_THAT(Generate(o, out), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("predicts the next token")));
}

}  // namespace
}  // namespace uer::apps
