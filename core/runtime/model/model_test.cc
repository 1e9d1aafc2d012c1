// Model assembly from the built-in plugins: the state-dict keys of a pre-training and a fine-tuning
// model, loading weights under older key names, the errors a mismatched checkpoint gets, and what
// the plugins declare (vocabulary rows).
#include "core/runtime/model.h"

#include <map>

#include "core/runtime/loader.h"
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
                          "target.mlm_linear_2.weight", "target.mlm_linear_2.bias", "target.output_layer.weight"}) {
    EXPECT_TRUE(rows.count(key)) << key;
  }
  EXPECT_FALSE(rows.count("embedding.position_embedding.weight"));
}

}  // namespace
}  // namespace uer::runtime
