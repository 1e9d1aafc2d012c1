// UER-py's run_ner.py head: one linear layer from each position of the encoder's output to the
// labels (label 0 is [PAD]). The loss is the mean NLL over positions whose label is > 0 (its
// denominator + 1e-6, as UER-py computes it). Values: logits [batch, seq, labels], predict
// [batch, seq], and with a label: loss, correct, denominator.
#include "absl/strings/str_cat.h"
#include "plugins/layers/layers.h"
#include "plugins/tasks/ner/ner_data.h"

namespace uer::tasks {
namespace {

class NerTask : public core::Task {
 public:
  explicit NerTask(const core::v1::ModelConfig& c) : labels_num_(c.labels_num()) {
    output_layer_ = register_module("output_layer", torch::nn::Linear(c.hidden_size(), c.labels_num()));
  }
  core::TargetOutput Forward(const torch::Tensor& memory_bank, const core::TensorMap& inputs) override {
    torch::Tensor logits = output_layer_->forward(memory_bank);
    core::TargetOutput out;
    out.values.emplace_back("logits", logits);
    torch::Tensor predict = logits.argmax(-1);
    out.values.emplace_back("predict", predict);
    auto it = inputs.find("label");
    if (it != inputs.end()) {
      torch::Tensor label = it->second.reshape({-1});
      torch::Tensor log_probs = torch::log_softmax(logits.reshape({-1, labels_num_}).to(torch::kFloat), -1);
      torch::Tensor mask = label.gt(0).to(log_probs.scalar_type());
      torch::Tensor nll = -log_probs.gather(1, label.unsqueeze(1)).squeeze(1);
      torch::Tensor denominator = mask.sum() + 1e-6;
      out.loss = (mask * nll).sum() / denominator;
      out.values.emplace_back("loss", out.loss);
      out.values.emplace_back("correct", (mask * predict.reshape({-1}).eq(label).to(mask.scalar_type())).sum());
      out.values.emplace_back("denominator", denominator);
      out.terms.push_back({(mask * nll).sum(), mask.sum(), 1e-6});
    }
    return out;
  }

 private:
  int64_t labels_num_;
  torch::nn::Linear output_layer_{nullptr};
};

class NerTaskFactory : public core::TaskFactory {
 public:
  std::string name() const override { return "ner"; }
  std::string help() const override { return "sequence labelling (run_ner): a linear layer per position"; }
  std::vector<core::PluginOption> Options() const override {
    return {{"label2id_path", core::PluginOption::Type::kString, "",
             "The label map (inference); default: LOAD_MODEL_PATH.labels.json, written by run_ner."}};
  }
  // transformers' BertForTokenClassification: its classifier is output_layer.
  std::optional<core::HuggingFaceHead> HuggingFaceBertHead() const override {
    core::HuggingFaceHead h;
    h.architecture = "BertForTokenClassification";
    h.AddLinear("output_layer", "classifier");
    return h;
  }
  absl::Status Validate(const core::v1::ModelConfig& c) const override {
    if (c.labels_num() < 2) {
      return absl::InvalidArgumentError(absl::StrCat("labels_num must be >= 2 ([PAD] and one label), got ",
                                                     c.labels_num()));
    }
    return absl::OkStatus();
  }
  absl::StatusOr<std::shared_ptr<core::Task>> Create(const core::v1::ModelConfig& c,
                                                     const core::BuildContext&) const override {
    return std::shared_ptr<core::Task>(std::make_shared<NerTask>(c));
  }
  absl::StatusOr<std::unique_ptr<core::TaskData>> CreateData(const core::TaskDataContext& context) const override {
    return NewNerData(context);
  }
};

}  // namespace
}  // namespace uer::tasks

UER_REGISTER_FACTORY(uer::tasks::NerTaskFactory);
