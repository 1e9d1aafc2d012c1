// UER-py's run_mrc.py head: output_layer_1 (hidden -> hidden, tanh) then output_layer_2 (hidden ->
// 2), a start and an end logit at every position. With "label" [batch, 2] (start, exclusive end),
// the loss is the mean of the two NLLs under a softmax over all positions, as the seed computes
// it. Values: logits [batch, seq, 2], and with a label: loss.
#include "absl/strings/str_cat.h"
#include "plugins/layers/layers.h"
#include "plugins/tasks/mrc/mrc_data.h"

namespace uer::tasks {
namespace {

class MrcTask : public core::Task {
 public:
  explicit MrcTask(const core::v1::ModelConfig& c) {
    output_layer_1_ = register_module("output_layer_1", torch::nn::Linear(c.hidden_size(), c.hidden_size()));
    output_layer_2_ = register_module("output_layer_2", torch::nn::Linear(c.hidden_size(), 2));
  }
  core::TargetOutput Forward(const torch::Tensor& memory_bank, const core::TensorMap& inputs) override {
    torch::Tensor logits = output_layer_2_->forward(torch::tanh(output_layer_1_->forward(memory_bank)));
    core::TargetOutput out;
    out.values.emplace_back("logits", logits);
    auto it = inputs.find("label");
    if (it != inputs.end()) {
      const torch::Tensor& label = it->second;  // [batch, 2]
      torch::Tensor start = torch::log_softmax(logits.select(2, 0).to(torch::kFloat), -1);
      torch::Tensor end = torch::log_softmax(logits.select(2, 1).to(torch::kFloat), -1);
      out.loss = (torch::nll_loss(start, label.select(1, 0)) + torch::nll_loss(end, label.select(1, 1))) / 2;
      out.values.emplace_back("loss", out.loss);
    }
    return out;
  }

 private:
  torch::nn::Linear output_layer_1_{nullptr}, output_layer_2_{nullptr};
};

class MrcTaskFactory : public core::TaskFactory {
 public:
  std::string name() const override { return "mrc"; }
  std::string help() const override { return "span extraction (run_mrc): start and end logits per position"; }
  std::vector<core::PluginOption> Options() const override {
    using Type = core::PluginOption::Type;
    return {{"doc_stride", Type::kInt64, "128", "Characters a context window moves by."},
            {"max_answer_length", Type::kInt64, "64", "The longest answer span in tokens."}};
  }
  absl::StatusOr<std::shared_ptr<core::Task>> Create(const core::v1::ModelConfig& c,
                                                     const core::BuildContext&) const override {
    return std::shared_ptr<core::Task>(std::make_shared<MrcTask>(c));
  }
  absl::StatusOr<std::unique_ptr<core::TaskData>> CreateData(const core::TaskDataContext& context) const override {
    return NewMrcData(context);
  }
};

}  // namespace
}  // namespace uer::tasks

UER_REGISTER_FACTORY(uer::tasks::MrcTaskFactory);
