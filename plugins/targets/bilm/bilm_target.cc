// UER-py's BilmTarget: one output layer shared by the forward half (next token) and the backward
// half (previous token) of the encoder output. Values: loss_forward, loss_backward,
// correct_forward, correct_backward, denominator (backward); the loss is their sum.
#include "plugins/layers/layers.h"

namespace uer::targets {
namespace {

class BilmTarget : public core::Target {
 public:
  BilmTarget(const core::v1::ModelConfig& c, int64_t vocab_size) : vocab_size_(vocab_size), half_(c.hidden_size() / 2) {
    output_layer_ = register_module("output_layer", torch::nn::Linear(half_, vocab_size));
  }
  std::vector<std::string> InputNames() const override { return {"tgt_forward", "tgt_backward"}; }
  // Reads the positions with tgt_forward or tgt_backward > 0 only.
  bool ReadsPadding() const override { return false; }
  core::TargetOutput Forward(const torch::Tensor& memory_bank, const core::TensorMap& tgt) override {
    using torch::indexing::Slice;
    auto side = [&](const torch::Tensor& hidden, const torch::Tensor& t) {
      // Only positions with a target > 0 count (see lm): compute just their logits.
      torch::Tensor flat_t = t.contiguous().view({-1});
      torch::Tensor selected = flat_t > 0;
      torch::Tensor rows = hidden.contiguous().view({-1, half_}).index({selected});
      auto [numerator, correct, count] = layers::MaskedNll(output_layer_->forward(rows), flat_t.index({selected}));
      torch::Tensor denominator = count + 1e-6;
      return std::make_tuple(numerator / denominator, correct, denominator, core::LossTerm{numerator, count, 1e-6});
    };
    auto [loss_f, correct_f, den_f, term_f] = side(memory_bank.index({Slice(), Slice(), Slice(0, half_)}), layers::Need(tgt, "tgt_forward"));
    auto [loss_b, correct_b, den_b, term_b] = side(memory_bank.index({Slice(), Slice(), Slice(half_, torch::indexing::None)}),
                                           layers::Need(tgt, "tgt_backward"));
    return {loss_f + loss_b,
            {{"loss_forward", loss_f}, {"loss_backward", loss_b}, {"correct_forward", correct_f},
             {"correct_backward", correct_b}, {"denominator", den_b}},
            {term_f, term_b}};
  }

 private:
  int64_t vocab_size_, half_;
  torch::nn::Linear output_layer_{nullptr};
};

class BilmTargetFactory : public core::TargetFactory {
 public:
  std::string name() const override { return "bilm"; }
  std::string help() const override { return "bidirectional LM (forward and backward halves)"; }
  std::vector<std::string> VocabularyRows() const override { return {"output_layer.weight", "output_layer.bias"}; }
  absl::Status Validate(const core::v1::ModelConfig& c) const override {
    if (c.hidden_size() % 2 != 0) return absl::InvalidArgumentError("field \"hidden_size\" must be even");
    return absl::OkStatus();
  }
  absl::StatusOr<std::shared_ptr<core::Target>> Create(const core::v1::ModelConfig& c,
                                                       const core::BuildContext& ctx) const override {
    return std::shared_ptr<core::Target>(std::make_shared<BilmTarget>(c, ctx.vocab_size));
  }
};

}  // namespace
}  // namespace uer::targets

UER_REGISTER_FACTORY(uer::targets::BilmTargetFactory);
