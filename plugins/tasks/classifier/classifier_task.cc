// UER-py's run_classifier.py head: pool the encoder's output (mean, max, first or last position,
// over the whole padded sequence as UER-py does), tanh(output_layer_1) -> output_layer_2 -> logits;
// the loss is NLL of log-softmax. Values: logits, and with a label: loss, correct.
#include "absl/strings/str_cat.h"
#include "plugins/layers/layers.h"
#include "plugins/tasks/classifier/classifier_data.h"

namespace uer::tasks {
namespace {

class ClassifierTask : public core::Task {
 public:
  explicit ClassifierTask(const core::v1::ModelConfig& c) : pooling_(c.pooling()) {
    output_layer_1_ = register_module("output_layer_1", torch::nn::Linear(c.hidden_size(), c.hidden_size()));
    output_layer_2_ = register_module("output_layer_2", torch::nn::Linear(c.hidden_size(), c.labels_num()));
  }
  // UER-py pools mean, max and last over the padded sequence; first reads [CLS] alone.
  bool ReadsPadding() const override { return pooling_ != "first"; }
  core::TargetOutput Forward(const torch::Tensor& memory_bank, const core::TensorMap& inputs) override {
    torch::Tensor pooled;
    if (pooling_ == "mean") {
      pooled = memory_bank.mean(1);
    } else if (pooling_ == "max") {
      pooled = std::get<0>(memory_bank.max(1));
    } else if (pooling_ == "last") {
      pooled = memory_bank.select(1, -1);
    } else {
      pooled = memory_bank.select(1, 0);
    }
    torch::Tensor logits = output_layer_2_->forward(torch::tanh(output_layer_1_->forward(pooled)));
    core::TargetOutput out;
    out.values.emplace_back("logits", logits);
    auto it = inputs.find("label");
    if (it != inputs.end()) {
      torch::Tensor log_probs = torch::log_softmax(logits.to(torch::kFloat), -1);
      out.loss = torch::nll_loss(log_probs, it->second.view({-1}));
      out.values.emplace_back("loss", out.loss);
      const double rows = static_cast<double>(it->second.numel());
      out.terms.push_back({out.loss * rows, torch::tensor(rows, torch::kDouble)});
      out.values.emplace_back("correct", logits.argmax(-1).eq(it->second.view({-1})).sum());
    }
    return out;
  }

 private:
  std::string pooling_;
  torch::nn::Linear output_layer_1_{nullptr}, output_layer_2_{nullptr};
};

class ClassifierTaskFactory : public core::TaskFactory {
 public:
  std::string name() const override { return "classifier"; }
  std::string help() const override { return "sequence classification (run_classifier): pooling, tanh layer, softmax"; }
  absl::Status Validate(const core::v1::ModelConfig& c) const override {
    if (c.labels_num() < 2) {
      return absl::InvalidArgumentError(absl::StrCat("labels_num must be >= 2, got ", c.labels_num()));
    }
    return absl::OkStatus();
  }
  absl::StatusOr<std::shared_ptr<core::Task>> Create(const core::v1::ModelConfig& c,
                                                     const core::BuildContext&) const override {
    return std::shared_ptr<core::Task>(std::make_shared<ClassifierTask>(c));
  }
  absl::StatusOr<std::unique_ptr<core::TaskData>> CreateData(const core::TaskDataContext& context) const override {
    if (context.tokenizer == nullptr) return absl::InvalidArgumentError("the classifier task needs a tokenizer");
    return NewClassifierData(context);
  }
};

}  // namespace
}  // namespace uer::tasks

UER_REGISTER_FACTORY(uer::tasks::ClassifierTaskFactory);
