// UER-py's run_classifier.py head: pool the encoder's output (mean, max, first or last position,
// over the whole padded sequence as the seed does, or over the tokens alone with pool_tokens_only
// as UER-py's later versions do), tanh(output_layer_1) -> output_layer_2 -> logits; the loss is
// NLL of log-softmax. Values: logits, and with a label: loss, correct.
#include <limits>

#include "absl/strings/str_cat.h"
#include "plugins/layers/layers.h"
#include "plugins/tasks/classifier/classifier_data.h"

namespace uer::tasks {
namespace {

class ClassifierTask : public core::Task {
 public:
  explicit ClassifierTask(const core::v1::ModelConfig& c) : pooling_(c.pooling()), tokens_only_(c.pool_tokens_only()) {
    output_layer_1_ = register_module("output_layer_1", torch::nn::Linear(c.hidden_size(), c.hidden_size()));
    output_layer_2_ = register_module("output_layer_2", torch::nn::Linear(c.hidden_size(), c.labels_num()));
  }
  // The seed pools mean, max and last over the padded sequence; first reads [CLS] alone.
  bool ReadsPadding() const override { return pooling_ != "first" && !tokens_only_; }
  core::TargetOutput Forward(const torch::Tensor& memory_bank, const core::TensorMap& inputs) override {
    torch::Tensor pooled;
    if (tokens_only_ && pooling_ != "first") {
      auto seg = inputs.find("seg");
      TORCH_CHECK(seg != inputs.end(), "pool_tokens_only: the task's inputs hold no \"seg\"");
      pooled = PoolTokens(memory_bank, seg->second > 0);
    } else if (pooling_ == "mean") {
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
  // mean, max or last over the positions where `tokens` [batch, seq] is true (a row without a
  // token pools to zeros).
  torch::Tensor PoolTokens(const torch::Tensor& x, const torch::Tensor& tokens) const {
    torch::Tensor counts = tokens.sum(1);
    if (pooling_ == "last") {
      torch::Tensor last = (counts - 1).clamp_min(0).view({-1, 1, 1}).expand({x.size(0), 1, x.size(2)});
      return x.gather(1, last).squeeze(1);
    }
    torch::Tensor keep = tokens.unsqueeze(-1);
    if (pooling_ == "max") {
      return x.masked_fill(keep.logical_not(), -std::numeric_limits<float>::infinity()).amax(1)
          .masked_fill(counts.eq(0).unsqueeze(-1), 0);
    }
    // Summed and divided in float32 (a bf16 count is exact only up to 256).
    torch::Tensor sum = (x * keep.to(x.scalar_type())).sum(1, /*keepdim=*/false, torch::kFloat);
    return (sum / counts.clamp_min(1).unsqueeze(-1).to(torch::kFloat)).to(x.scalar_type());
  }

  std::string pooling_;
  bool tokens_only_;
  torch::nn::Linear output_layer_1_{nullptr}, output_layer_2_{nullptr};
};

class ClassifierTaskFactory : public core::TaskFactory {
 public:
  std::string name() const override { return "classifier"; }
  std::string help() const override { return "sequence classification (run_classifier): pooling, tanh layer, softmax"; }
  std::vector<core::PluginOption> Options() const override {
    using Type = core::PluginOption::Type;
    return {{"mean_reciprocal_rank", Type::kBool, "false", "Evaluation metrics for DBQA dataset (needs a qid column)."},
            {"output_logits", Type::kBool, "false", "Write the logits (inference)."},
            {"output_prob", Type::kBool, "false", "Write the probabilities (inference)."}};
  }
  // transformers' BertForSequenceClassification: its pooler (dense + tanh on [CLS]) is
  // output_layer_1, its classifier output_layer_2.
  std::optional<core::HuggingFaceHead> HuggingFaceBertHead() const override {
    core::HuggingFaceHead h;
    h.architecture = "BertForSequenceClassification";
    h.AddLinear("output_layer_1", "pooler.dense");
    h.AddLinear("output_layer_2", "classifier");
    return h;
  }
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
