// UER-py's seed NspTarget: linear(memory_bank[:, 0]) to labels_num logits (no tanh pooler, unlike
// the bert target's NSP half), NLL of log-softmax. Key: target.linear. Values: loss, correct.
#include "plugins/layers/layers.h"

namespace uer::targets {
namespace {

class NspTarget : public core::Target {
 public:
  explicit NspTarget(const core::v1::ModelConfig& c) {
    linear_ = register_module("linear", torch::nn::Linear(c.hidden_size(), c.labels_num()));
  }
  std::vector<std::string> InputNames() const override { return {"tgt"}; }
  // Reads [CLS] only.
  bool ReadsPadding() const override { return false; }
  core::TargetOutput Forward(const torch::Tensor& memory_bank, const core::TensorMap& tgt) override {
    const torch::Tensor& label = layers::Need(tgt, "tgt");
    torch::Tensor log_probs = torch::log_softmax(linear_->forward(memory_bank.select(1, 0)).to(torch::kFloat), -1);
    torch::Tensor loss = torch::nll_loss(log_probs, label.view({-1}));
    torch::Tensor correct = log_probs.argmax(-1).eq(label.view({-1})).sum();
    const double rows = static_cast<double>(label.numel());
    return {loss, {{"loss", loss}, {"correct", correct}}, {{loss * rows, torch::tensor(rows, torch::kDouble)}}};
  }

 private:
  torch::nn::Linear linear_{nullptr};
};

class NspTargetFactory : public core::TargetFactory {
 public:
  std::string name() const override { return "nsp"; }
  std::string help() const override { return "next sentence prediction on [CLS] (the seed's NspTarget)"; }
  absl::Status Validate(const core::v1::ModelConfig& c) const override {
    if (c.labels_num() < 2) return absl::InvalidArgumentError("field \"labels_num\" must be >= 2");
    return absl::OkStatus();
  }
  absl::StatusOr<std::shared_ptr<core::Target>> Create(const core::v1::ModelConfig& c,
                                                       const core::BuildContext&) const override {
    return std::shared_ptr<core::Target>(std::make_shared<NspTarget>(c));
  }
};

}  // namespace
}  // namespace uer::targets

UER_REGISTER_FACTORY(uer::targets::NspTargetFactory);
