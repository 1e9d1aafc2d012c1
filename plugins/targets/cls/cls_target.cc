// UER-py's ClsTarget: tanh(linear_1([CLS])) -> linear_2 -> labels_num classes. Values: loss, correct.
#include "plugins/layers/layers.h"

namespace uer::targets {
namespace {

class ClsTarget : public core::Target {
 public:
  explicit ClsTarget(const core::v1::ModelConfig& c) {
    linear_1_ = register_module("linear_1", torch::nn::Linear(c.hidden_size(), c.hidden_size()));
    linear_2_ = register_module("linear_2", torch::nn::Linear(c.hidden_size(), c.labels_num()));
  }
  std::vector<std::string> InputNames() const override { return {"tgt"}; }
  core::TargetOutput Forward(const torch::Tensor& memory_bank, const core::TensorMap& tgt) override {
    const torch::Tensor& labels = layers::Need(tgt, "tgt");
    torch::Tensor log_probs = torch::log_softmax(
        linear_2_->forward(torch::tanh(linear_1_->forward(memory_bank.select(1, 0)))).to(torch::kFloat), -1);
    torch::Tensor loss = torch::nll_loss(log_probs, labels);
    torch::Tensor correct = log_probs.argmax(-1).eq(labels).sum();
    const double rows = static_cast<double>(labels.size(0));
    return {loss, {{"loss", loss}, {"correct", correct}}, {{loss * rows, torch::tensor(rows, torch::kDouble)}}};
  }

 private:
  torch::nn::Linear linear_1_{nullptr}, linear_2_{nullptr};
};

class ClsTargetFactory : public core::TargetFactory {
 public:
  std::string name() const override { return "cls"; }
  std::string help() const override { return "sentence classification on [CLS]"; }
  absl::StatusOr<std::shared_ptr<core::Target>> Create(const core::v1::ModelConfig& c,
                                                       const core::BuildContext&) const override {
    return std::shared_ptr<core::Target>(std::make_shared<ClsTarget>(c));
  }
};

}  // namespace
}  // namespace uer::targets

UER_REGISTER_FACTORY(uer::targets::ClsTargetFactory);
