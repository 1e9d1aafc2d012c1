// The s2s target through the runtime: an lstm encoder and the shifted decoder learn to reverse a
// few sequences (the loss falls; greedy decoding of the training pairs goes from chance to right);
// the decoder input option is checked by name; targets that do not decode say so.
#include "core/runtime/loader.h"
#include "core/runtime/model/model.h"
#include "core/runtime/optimizer.h"
#include "testing/test_util.h"

namespace uer {
namespace {

using ::testing::HasSubstr;
using ::uer::testing::StatusIs;

constexpr int64_t kVocab = 24, kCls = 2, kSep = 3, kLen = 8;

class S2sTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ASSERT_OK(runtime::LoadPluginList(::uer::testing::RunfilePath("plugins"), ':')); }
  static core::v1::ModelConfig Config() {
    core::v1::ModelConfig c;
    c.set_embedding("word");
    c.set_encoder("lstm");
    c.set_target("s2s");
    c.set_emb_size(48);
    c.set_hidden_size(48);
    c.set_layers_num(1);
    c.set_dropout(0.0);
    return c;
  }
};

// Token accuracy of greedy decoding against the targets (with their [SEP]), over the target's length.
double DecodeAccuracy(runtime::Model& model, const torch::Tensor& src, const torch::Tensor& seg, const torch::Tensor& tgt) {
  torch::NoGradGuard no_grad;
  model.eval();
  torch::Tensor memory = model.encoder->Forward(model.Embed(src, seg), seg);
  torch::Tensor out = model.target->GreedyDecode(memory, seg, kCls, kSep, kLen);
  model.train();
  torch::Tensor mask = tgt > 0;
  return (out.eq(tgt).logical_and(mask)).sum().item<double>() / mask.sum().item<double>();
}

TEST_F(S2sTest, LearnsToReverseAndDecodesGreedily) {
  ASSERT_OK_AND_ASSIGN(auto model, runtime::BuildModel(Config(), {kVocab, 0}));
  runtime::InitWeights(model.get(), 0.1, 3);
  // Eight sources of 3-6 tokens (ids 4..23); the target is the source reversed.
  torch::manual_seed(5);
  const int64_t n = 8;
  torch::Tensor src = torch::zeros({n, kLen}, torch::kInt64), seg = torch::zeros_like(src);
  torch::Tensor tgt_in = torch::zeros_like(src), tgt = torch::zeros_like(src);
  for (int64_t r = 0; r < n; ++r) {
    const int64_t len = 3 + r % 4;
    torch::Tensor tokens = torch::randint(4, kVocab, {len}, torch::kInt64);
    src[r][0] = kCls;
    src[r].narrow(0, 1, len).copy_(tokens);
    src[r][len + 1] = kSep;
    seg[r].narrow(0, 0, len + 2).fill_(1);
    torch::Tensor reversed = tokens.flip(0);
    tgt_in[r][0] = kCls;
    tgt_in[r].narrow(0, 1, len).copy_(reversed);
    tgt[r].narrow(0, 0, len).copy_(reversed);
    tgt[r][len] = kSep;
  }
  const double before = DecodeAccuracy(*model, src, seg, tgt);
  runtime::OptimizerOptions o;
  o.learning_rate = 1e-2;
  o.warmup = 0.0;
  o.total_steps = 300;
  runtime::BertAdam optimizer(model->named_parameters(), o);
  double first = 0, last = 0;
  for (int step = 0; step < o.total_steps; ++step) {
    core::TargetOutput out = model->Forward(src, seg, {{"tgt_in", tgt_in}, {"tgt", tgt}});
    (step == 0 ? first : last) = out.loss.item<double>();
    out.loss.backward();
    optimizer.Step();
    model->zero_grad();
  }
  const double after = DecodeAccuracy(*model, src, seg, tgt);
  std::cout << "loss " << first << " -> " << last << "; greedy decoding accuracy " << before << " -> " << after << "\n";
  EXPECT_LT(last, first / 10);
  EXPECT_LT(before, 0.3);
  EXPECT_GT(after, 0.9);
}

TEST_F(S2sTest, DecoderInputOptionIsChecked) {
  core::v1::ModelConfig c = Config();
  (*c.mutable_options())["s2s.decoder_input"] = "sideways";
  EXPECT_THAT(runtime::BuildModel(c, {kVocab, 0}), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("s2s.decoder_input")));
  (*c.mutable_options())["s2s.decoder_input"] = "seed";
  ASSERT_OK_AND_ASSIGN(auto seed, runtime::BuildModel(c, {kVocab, 0}));
  EXPECT_EQ(seed->target->InputNames(), std::vector<std::string>{"tgt"});
  EXPECT_TRUE(seed->target->Decodes());
}

TEST_F(S2sTest, OtherTargetsDoNotDecode) {
  core::v1::ModelConfig c = Config();
  c.set_target("lm");
  ASSERT_OK_AND_ASSIGN(auto model, runtime::BuildModel(c, {kVocab, 0}));
  EXPECT_FALSE(model->target->Decodes());
  torch::Tensor memory = torch::zeros({1, 2, 48});
  EXPECT_THROW(model->target->GreedyDecode(memory, torch::ones({1, 2}, torch::kInt64), kCls, kSep, 4), c10::Error);
}

}  // namespace
}  // namespace uer
