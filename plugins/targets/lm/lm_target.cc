// UER-py's LmTarget: next-token prediction at every position with tgt > 0.
// Values: loss, correct, denominator.
#include "plugins/layers/layers.h"

namespace uer::targets {
namespace {

class LmTarget : public core::Target {
 public:
  LmTarget(const core::v1::ModelConfig& c, int64_t vocab_size) : vocab_size_(vocab_size) {
    output_layer_ = register_module("output_layer", torch::nn::Linear(c.hidden_size(), vocab_size));
  }
  std::vector<std::string> InputNames() const override { return {"tgt"}; }
  // Reads the positions with tgt > 0 only.
  bool ReadsPadding() const override { return false; }
  TokenPrediction Predicts() const override { return TokenPrediction::kNextToken; }
  torch::Tensor TokenLogits(const torch::Tensor& memory_bank) override { return output_layer_->forward(memory_bank); }
  core::TargetOutput Forward(const torch::Tensor& memory_bank, const core::TensorMap& tgt) override {
    // Only the positions with tgt > 0 count in UER-py's loss, accuracy and denominator, so only their
    // logits are computed (the same numbers, without the padding's share of the vocabulary GEMM).
    torch::Tensor t = layers::Need(tgt, "tgt").contiguous().view({-1});
    torch::Tensor selected = t > 0;
    torch::Tensor hidden = memory_bank.contiguous().view({-1, memory_bank.size(-1)}).index({selected});
    auto [numerator, correct, count] = layers::MaskedNll(output_layer_->forward(hidden), t.index({selected}));
    torch::Tensor denominator = count + 1e-6;
    torch::Tensor loss = numerator / denominator;
    return {loss, {{"loss", loss}, {"correct", correct}, {"denominator", denominator}}, {{numerator, count, 1e-6}}};
  }

 private:
  int64_t vocab_size_;
  torch::nn::Linear output_layer_{nullptr};
};

class LmTargetFactory : public core::TargetFactory {
 public:
  std::string name() const override { return "lm"; }
  std::string help() const override { return "language model (next token)"; }
  std::vector<std::string> VocabularyRows() const override { return {"output_layer.weight", "output_layer.bias"}; }
  absl::StatusOr<std::shared_ptr<core::Target>> Create(const core::v1::ModelConfig& c,
                                                       const core::BuildContext& ctx) const override {
    return std::shared_ptr<core::Target>(std::make_shared<LmTarget>(c, ctx.vocab_size));
  }
};

}  // namespace
}  // namespace uer::targets

UER_REGISTER_FACTORY(uer::targets::LmTargetFactory);
