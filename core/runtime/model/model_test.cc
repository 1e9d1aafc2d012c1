// Model assembly from the built-in plugins: the state-dict keys of a pre-training and a fine-tuning
// model, loading weights under older key names, the errors a mismatched checkpoint gets, and what
// the plugins declare (vocabulary rows, old key names); the LoadedModel service.
#include "core/runtime/model/model.h"

#include <map>

#include "core/runtime/checkpoint.h"
#include "core/runtime/loader.h"
#include "core/runtime/model/loaded_model.h"
#include "testing/test_util.h"

namespace uer::runtime {
namespace {

using ::testing::HasSubstr;
using ::uer::testing::StatusIs;

class ModelTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ASSERT_OK(LoadPluginList(::uer::testing::RunfilePath("plugins"), ':')); }
  static core::v1::ModelConfig Tiny() {
    core::v1::ModelConfig c;
    c.set_emb_size(8);
    c.set_hidden_size(8);
    c.set_feedforward_size(16);
    c.set_heads_num(2);
    c.set_layers_num(2);
    c.set_max_seq_length(16);
    c.set_target("mlm");
    return c;
  }
  static std::map<std::string, torch::Tensor> Keys(const torch::nn::Module& m) {
    std::map<std::string, torch::Tensor> keys;
    for (const auto& [k, v] : ModelStateDict(m)) keys[k] = v;
    return keys;
  }
};

TEST_F(ModelTest, APretrainingModelHasUerPysKeys) {
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<Model> model, BuildModel(Tiny(), {30, 0}));
  const auto keys = Keys(*model);
  ASSERT_TRUE(keys.count("embedding.word_embedding.weight"));
  EXPECT_EQ(keys.at("embedding.word_embedding.weight").sizes(), torch::IntArrayRef({30, 8}));
  EXPECT_TRUE(keys.count("encoder.transformer.1.feed_forward.linear_2.weight"));
  EXPECT_FALSE(keys.count("encoder.transformer.2.feed_forward.linear_2.weight"));
  EXPECT_EQ(keys.at("target.mlm_linear_2.weight").size(0), 30);
}

TEST_F(ModelTest, AFineTuningModelHoldsTheTaskAtTheTopLevel) {
  core::v1::ModelConfig c = Tiny();
  c.set_labels_num(3);
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<FinetuneModel> model, BuildFinetuneModel(c, "classifier", {30, 0}));
  const auto keys = Keys(*model);
  EXPECT_EQ(keys.at("output_layer_2.weight").size(0), 3);
  for (const auto& [k, v] : keys) EXPECT_NE(k.rfind("target.", 0), 0u) << k;
  EXPECT_THAT(BuildFinetuneModel(c, "no_such_task", {30, 0}).status(),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("no_such_task")));
}

TEST_F(ModelTest, WeightsLoadUnderOlderKeyNamesAndMismatchesAreNamed) {
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<Model> source, BuildModel(Tiny(), {30, 0}));
  StateDict old;  // UER-py's later names and a DataParallel prefix
  for (auto [k, v] : ModelStateDict(*source)) {
    if (k == "embedding.word_embedding.weight") k = "embedding.word.embedding.weight";
    old.emplace_back("module." + k, v);
  }
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<Model> model, BuildModel(Tiny(), {30, 0}));
  ASSERT_OK(LoadModelWeights(model.get(), old, "old.bin", {}).status());
  EXPECT_TRUE(torch::equal(Keys(*model).at("embedding.word_embedding.weight"),
                           Keys(*source).at("embedding.word_embedding.weight")));

  ASSERT_OK_AND_ASSIGN(std::shared_ptr<Model> bigger, BuildModel(Tiny(), {31, 0}));
  EXPECT_THAT(LoadModelWeights(bigger.get(), old, "old.bin", {}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("embedding.word_embedding.weight: checkpoint [30, 8] vs model [31, 8]")));
}

TEST_F(ModelTest, ThePluginsDeclareTheirVocabularyRows) {
  const std::set<std::string> rows = VocabularyRowKeys();
  for (const char* key : {"embedding.word_embedding.weight", "embedding.word.embedding.weight",
                          "target.mlm_linear_2.weight", "target.mlm_linear_2.bias", "target.mlm.linear_2.weight",
                          "target.output_layer.weight"}) {
    EXPECT_TRUE(rows.count(key)) << key;
  }
  EXPECT_FALSE(rows.count("embedding.position_embedding.weight"));
  EXPECT_FALSE(rows.count("embedding.pos.embedding.weight"));
}

// The generation comes from the old names the plugins declare (bert target, bert embedding).
TEST_F(ModelTest, KeyGenerationsAreTheOnesThePluginsDeclare) {
  const torch::Tensor t = torch::zeros({1});
  auto generation = [&](std::vector<std::string> keys) {
    StateDict s;
    for (const std::string& k : keys) s.emplace_back(k, t);
    return KeyGeneration(s);
  };
  EXPECT_EQ(generation({"embedding.word_embedding.weight", "target.nsp_linear_1.weight"}), "uer-seed");
  EXPECT_EQ(generation({"embedding.word_embedding.weight", "target.sp_linear_1.weight"}), "uer-2022");
  EXPECT_EQ(generation({"module.embedding.word.embedding.weight", "target.sp.linear_1.weight"}), "uer-head");
  EXPECT_EQ(generation({"embedding.pos.embedding.weight", "target.sp_linear_2.bias"}), "uer-2022+uer-head");
  EXPECT_EQ(generation({"bert.embeddings.word_embeddings.weight"}), "huggingface");
  EXPECT_EQ(generation({"weight"}), "unknown");
}

// LoadModel reads what the tools read (vocabulary, tokenizer, weights) into an eval-mode model, and
// Encode's cut after the longest row changes nothing at the tokens.
TEST_F(ModelTest, LoadModelRunsTheSavedWeights) {
  const std::string dir = ::uer::testing::TempDir("loaded_model");
  core::v1::ModelConfig c = Tiny();
  c.set_tokenizer("char");
  ModelSource source{c, ::uer::testing::WriteUerVocab(dir, "abcd"), "", dir + "/model.bin"};
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<Model> saved, BuildModel(c, {108, 0}));
  ASSERT_OK(SaveStateDict(source.load_model_path, ModelStateDict(*saved)));

  ASSERT_OK_AND_ASSIGN(LoadedModel m, LoadModel(source, /*need_target=*/true));
  EXPECT_FALSE(m.model->is_training());
  EXPECT_EQ(m.text.tokenizer->ConvertTokensToIds(m.text.tokenizer->Tokenize("ab")), std::vector<int64_t>({104, 105}));
  EXPECT_TRUE(torch::equal(Keys(*m.model).at("embedding.word_embedding.weight"),
                           Keys(*saved).at("embedding.word_embedding.weight")));
  torch::Tensor src = torch::tensor({{101, 104, 105, 0, 0}, {101, 106, 0, 0, 0}}, torch::kLong);
  torch::Tensor seg = src.gt(0).to(torch::kLong);
  torch::Tensor full = m.Encode(src, seg, /*trim=*/false), cut = m.Encode(src, seg, /*trim=*/true);
  ASSERT_EQ(cut.sizes(), full.sizes());
  EXPECT_TRUE(torch::allclose(cut.narrow(1, 0, 3), full.narrow(1, 0, 3), 1e-5, 1e-6));
  EXPECT_EQ(cut.narrow(1, 3, 2).abs().sum().item<float>(), 0.0f);

  source.vocab_path = "";
  EXPECT_THAT(LoadModel(source, false).status(), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--vocab_path")));
  EXPECT_THAT(CheckSeqLength(*m.model->embedding, 17),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("more than the model's max_seq_length 16")));
}

// LoadTaskModel sizes the head from the checkpoint (the classifier's labels) and loads it strictly.
TEST_F(ModelTest, LoadTaskModelSizesTheHeadFromTheCheckpoint) {
  const std::string dir = ::uer::testing::TempDir("loaded_task_model");
  core::v1::ModelConfig c = Tiny();
  c.set_tokenizer("char");
  c.set_labels_num(3);
  ModelSource source{c, ::uer::testing::WriteUerVocab(dir, "abcd"), "", dir + "/classifier.bin"};
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<FinetuneModel> saved, BuildFinetuneModel(c, "classifier", {108, 0}));
  ASSERT_OK(SaveStateDict(source.load_model_path, ModelStateDict(*saved)));
  source.config.set_labels_num(0);
  ASSERT_OK_AND_ASSIGN(LoadedTaskModel m, LoadTaskModel(source, "classifier", {}));
  EXPECT_EQ(m.config.labels_num(), 3);
  EXPECT_FALSE(m.model->is_training());
  EXPECT_TRUE(torch::equal(Keys(*m.model).at("output_layer_2.weight"), Keys(*saved).at("output_layer_2.weight")));
  EXPECT_THAT(LoadTaskModel(source, "", {}).status(), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--task")));
}

}  // namespace
}  // namespace uer::runtime
