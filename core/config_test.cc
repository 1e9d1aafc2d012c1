#include "core/config.h"

#include "testing/test_util.h"

namespace uer::core {
namespace {

using ::testing::HasSubstr;
using ::uer::testing::RunfilePath;
using ::uer::testing::StatusIs;

TEST(ConfigTest, DefaultsAreUerPySeedDefaults) {
  v1::ModelConfig c;
  EXPECT_EQ(c.emb_size(), 768);
  EXPECT_EQ(c.hidden_size(), 768);
  EXPECT_EQ(c.feedforward_size(), 3072);
  EXPECT_EQ(c.heads_num(), 12);
  EXPECT_EQ(c.layers_num(), 12);
  EXPECT_FLOAT_EQ(c.dropout(), 0.1f);
  EXPECT_EQ(c.encoder(), "bert");
  EXPECT_EQ(c.max_seq_length(), 512);
}

TEST(ConfigTest, TextFormatOverridesOnlyWhatItSets) {
  v1::ModelConfig c;
  c.set_kernel_size(5);
  ASSERT_OK(MergeModelConfigFromText("encoder: \"lstm\"\nhidden_size: 256\n", "inline", &c));
  EXPECT_EQ(c.encoder(), "lstm");
  EXPECT_EQ(c.hidden_size(), 256);
  EXPECT_EQ(c.kernel_size(), 5);
  EXPECT_EQ(c.emb_size(), 768);
}

TEST(ConfigTest, UerPyJsonConfigs) {
  ASSERT_OK_AND_ASSIGN(v1::ModelConfig base, LoadModelConfig(RunfilePath("models/bert_base_config.json")));
  ASSERT_OK_AND_ASSIGN(v1::ModelConfig base_pb, LoadModelConfig(RunfilePath("models/bert/base.pbtxt")));
  EXPECT_EQ(base.hidden_size(), base_pb.hidden_size());
  EXPECT_EQ(base.layers_num(), base_pb.layers_num());
  EXPECT_EQ(base.heads_num(), base_pb.heads_num());
  EXPECT_EQ(base.feedforward_size(), base_pb.feedforward_size());
  ASSERT_OK_AND_ASSIGN(v1::ModelConfig rnn, LoadModelConfig(RunfilePath("models/rnn_config.json")));
  EXPECT_EQ(rnn.emb_size(), 512);
  EXPECT_EQ(rnn.hidden_size(), 1024);
  EXPECT_EQ(rnn.layers_num(), 2);
}

TEST(ConfigTest, EveryShippedConfigParsesAndValidates) {
  for (const char* p : {"models/bert/tiny.pbtxt", "models/bert/small.pbtxt", "models/bert/base.pbtxt",
                        "models/bert/large.pbtxt", "models/gpt/base.pbtxt", "models/rnn/lstm.pbtxt",
                        "models/rnn/bilstm.pbtxt", "models/cnn/cnn.pbtxt", "models/google_config.json",
                        "models/bert_large_config.json", "models/birnn_config.json", "models/cnn_config.json"}) {
    absl::StatusOr<v1::ModelConfig> c = LoadModelConfig(RunfilePath(p));
    ASSERT_OK(c);
    EXPECT_OK(ValidateModelConfig(*c)) << p;
  }
}

TEST(ConfigTest, NewerUerPyJsonKeysMapToSeedNames) {
  ASSERT_OK_AND_ASSIGN(v1::ModelConfig c, LoadModelConfig(RunfilePath("core/testdata/head_style.json")));
  EXPECT_EQ(c.embedding(), "bert");
  EXPECT_EQ(c.encoder(), "gpt");
  EXPECT_EQ(c.target(), "lm");
  EXPECT_EQ(c.max_seq_length(), 256);
}

TEST(ConfigTest, MalformedConfigsNameFileLineAndField) {
  std::string p = RunfilePath("core/testdata/bad_field.pbtxt");
  EXPECT_THAT(LoadModelConfig(p), StatusIs(absl::StatusCode::kInvalidArgument,
                                           HasSubstr(p + ":3:12: Message type \"uer.core.v1.ModelConfig\" has no field named \"layers_nums\"")));
  p = RunfilePath("core/testdata/bad_type.json");
  EXPECT_THAT(LoadModelConfig(p), StatusIs(absl::StatusCode::kInvalidArgument,
                                           p + ":4: field \"layers_num\": expected a number, got \"two\""));
  p = RunfilePath("core/testdata/bad_syntax.json");
  EXPECT_THAT(LoadModelConfig(p), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(p + ":4: malformed JSON")));
  EXPECT_THAT(LoadModelConfig("/nonexistent.pbtxt"), StatusIs(absl::StatusCode::kNotFound, "cannot open config file /nonexistent.pbtxt"));
  v1::ModelConfig c;
  EXPECT_THAT(MergeModelConfigFromText("hidden_size: 1.5", "inline", &c),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("inline:1:14: Expected integer")));
  // Found by config_fuzz: a number too large for any type was an uncaught exception (an abort).
  EXPECT_THAT(MergeModelConfigFromJson("{\"hidden_size\": 5e44444444}", "big.json", &c),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("big.json: malformed JSON: ")));
  // Values out of their field's range are named, not wrapped.
  EXPECT_THAT(MergeModelConfigFromJson("{\"hidden_size\": 1e30}", "huge.json", &c),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("hidden_size")));
}

TEST(ConfigTest, ValidationNamesTheField) {
  v1::ModelConfig c;
  c.set_layers_num(0);
  EXPECT_THAT(ValidateModelConfig(c), StatusIs(absl::StatusCode::kInvalidArgument, "field \"layers_num\" must be > 0, got 0"));
  c.set_layers_num(2);
  c.set_dropout(1.5);
  EXPECT_THAT(ValidateModelConfig(c), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("field \"dropout\" must be in [0, 1)")));
}

TEST(ConfigTest, SetFieldFromFlagString) {
  v1::ModelConfig c;
  ASSERT_OK(SetModelConfigField("hidden_size", "64", &c));
  ASSERT_OK(SetModelConfigField("bidirectional", "true", &c));
  ASSERT_OK(SetModelConfigField("layernorm", "TORCH_VAR", &c));
  EXPECT_EQ(c.hidden_size(), 64);
  EXPECT_TRUE(c.bidirectional());
  EXPECT_EQ(c.layernorm(), v1::TORCH_VAR);
  EXPECT_THAT(SetModelConfigField("hidden_size", "big", &c),
              StatusIs(absl::StatusCode::kInvalidArgument, "field \"hidden_size\": expected an integer, got \"big\""));
  EXPECT_THAT(SetModelConfigField("nope", "1", &c), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unknown model config field")));
}

TEST(ConfigTest, ResolvedTextShowsEveryField) {
  v1::ModelConfig c;
  std::string text = ModelConfigToText(c);
  EXPECT_THAT(text, HasSubstr("hidden_size: 768"));
  EXPECT_THAT(text, HasSubstr("encoder: \"bert\""));
  EXPECT_THAT(text, HasSubstr("layernorm: UER_STD"));
}

}  // namespace
}  // namespace uer::core
