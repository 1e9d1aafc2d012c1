#include "core/runtime/hf_config.h"

#include <fstream>

#include "testing/test_util.h"

namespace uer::runtime {
namespace {

using ::uer::testing::StatusIs;

std::string Write(const std::string& name, const std::string& text) {
  const std::string path = uer::testing::TempDir("hf_config") + "/" + name;
  std::ofstream(path) << text;
  return path;
}

// UER-py names its own model configs *_config.json (models/bert/tiny_config.json): they are not
// HuggingFace's, whatever the name says (a regression: they were read as BertConfigs, heads 12).
TEST(HfConfigTest, TellsHuggingFaceFromUerPyByTheKeys) {
  const std::string uer = Write("tiny_config.json", R"({"emb_size": 128, "hidden_size": 128, "heads_num": 2,
      "layers_num": 2, "embedding": ["word", "pos", "seg"], "encoder": "transformer", "target": ["mlm", "sp"]})");
  EXPECT_FALSE(IsHuggingFaceConfig(uer));
  EXPECT_FALSE(IsHuggingFaceConfig(Write("lstm_config.json", R"({"emb_size": 256, "encoder": "lstm"})")));
  EXPECT_FALSE(IsHuggingFaceConfig(Write("broken_config.json", "{\"model_type\": ")));
  EXPECT_FALSE(IsHuggingFaceConfig(Write("model.pbtxt", "encoder: \"bert\"\n")));
  EXPECT_FALSE(IsHuggingFaceConfig("/nonexistent/config.json"));
  // transformers' config.json, and Google's bert_config.json (no model_type).
  EXPECT_TRUE(IsHuggingFaceConfig(Write("config.json", R"({"model_type": "bert", "hidden_size": 48})")));
  EXPECT_TRUE(IsHuggingFaceConfig(Write("bert_config.json",
      R"({"hidden_size": 48, "num_attention_heads": 4, "num_hidden_layers": 3, "intermediate_size": 96})")));
}

TEST(HfConfigTest, MapsABertConfig) {
  const std::string path = Write("bert_config.json", R"({"architectures": ["BertForMaskedLM"], "hidden_size": 48,
      "num_attention_heads": 4, "num_hidden_layers": 3, "intermediate_size": 96, "hidden_act": "gelu_new",
      "layer_norm_eps": 1e-12, "max_position_embeddings": 64})");
  absl::StatusOr<core::v1::ModelConfig> c = ConfigFromHuggingFace(path);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->hidden_size(), 48);
  EXPECT_EQ(c->heads_num(), 4);
  EXPECT_EQ(c->layers_num(), 3);
  EXPECT_EQ(c->feedforward_size(), 96);
  EXPECT_EQ(c->max_seq_length(), 64);
  EXPECT_EQ(c->hidden_act(), "gelu_new");
  EXPECT_EQ(c->target(), "mlm");
  EXPECT_EQ(c->layernorm(), core::v1::TORCH_VAR);
  EXPECT_THAT(ConfigFromHuggingFace(Write("roberta.json", R"({"model_type": "roberta"})")),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::HasSubstr("model_type \"roberta\"")));
}

}  // namespace
}  // namespace uer::runtime
