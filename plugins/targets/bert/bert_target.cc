// UER-py's BertTarget: masked LM (positions with tgt_mlm > 0) + next sentence prediction on [CLS].
// Values: loss_mlm, loss_nsp, correct_mlm, correct_nsp, denominator; the loss is their sum.
#include "plugins/layers/layers.h"

namespace uer::targets {
namespace {

class BertTarget : public core::Target {
 public:
  BertTarget(const core::v1::ModelConfig& c, int64_t vocab_size) {
    mlm_.Register(this, c, vocab_size);
    nsp_linear_1_ = register_module("nsp_linear_1", torch::nn::Linear(c.hidden_size(), c.hidden_size()));
    nsp_linear_2_ = register_module("nsp_linear_2", torch::nn::Linear(c.hidden_size(), 2));
  }
  std::vector<std::string> InputNames() const override { return {"tgt_mlm", "tgt_nsp"}; }
  // Reads the positions with tgt_mlm > 0 and [CLS] only.
  bool ReadsPadding() const override { return false; }
  TokenPrediction Predicts() const override { return TokenPrediction::kMaskedToken; }
  torch::Tensor TokenLogits(const torch::Tensor& memory_bank) override { return mlm_.Logits(memory_bank); }
  core::TargetOutput Forward(const torch::Tensor& memory_bank, const core::TensorMap& tgt) override {
    layers::MlmHead::Output m = mlm_.Forward(memory_bank, layers::Need(tgt, "tgt_mlm"));
    const torch::Tensor& tgt_nsp = layers::Need(tgt, "tgt_nsp");
    torch::Tensor out = nsp_linear_2_->forward(torch::tanh(nsp_linear_1_->forward(memory_bank.select(1, 0))));
    torch::Tensor log_probs = torch::log_softmax(out.to(torch::kFloat), -1);
    torch::Tensor loss_nsp = torch::nll_loss(log_probs, tgt_nsp);
    torch::Tensor correct_nsp = log_probs.argmax(-1).eq(tgt_nsp).sum();
    const double rows = static_cast<double>(tgt_nsp.size(0));
    return {m.loss + loss_nsp,
            {{"loss_mlm", m.loss}, {"loss_nsp", loss_nsp}, {"correct_mlm", m.correct},
             {"correct_nsp", correct_nsp}, {"denominator", m.denominator}},
            {m.term, {loss_nsp * rows, torch::tensor(rows, torch::kDouble)}}};
  }

 private:
  layers::MlmHead mlm_;
  torch::nn::Linear nsp_linear_1_{nullptr}, nsp_linear_2_{nullptr};
};

class BertTargetFactory : public core::TargetFactory {
 public:
  std::string name() const override { return "bert"; }
  std::string help() const override { return "masked LM + next sentence prediction"; }
  std::vector<std::string> VocabularyRows() const override { return layers::MlmHeadVocabularyRows(); }
  // UER-py's later names: target.sp_linear_* (2022), target.sp.linear_* and the mlm head's (newest).
  std::vector<core::OldKeyName> OldKeyNames() const override {
    std::vector<core::OldKeyName> names = layers::MlmHeadOldKeyNames();
    names.push_back({"uer-head", "sp.linear_1.", "nsp_linear_1."});
    names.push_back({"uer-head", "sp.linear_2.", "nsp_linear_2."});
    names.push_back({"uer-2022", "sp_linear_1.", "nsp_linear_1."});
    names.push_back({"uer-2022", "sp_linear_2.", "nsp_linear_2."});
    return names;
  }
  absl::StatusOr<std::shared_ptr<core::Target>> Create(const core::v1::ModelConfig& c,
                                                       const core::BuildContext& ctx) const override {
    return std::shared_ptr<core::Target>(std::make_shared<BertTarget>(c, ctx.vocab_size));
  }
  // transformers' BertForPreTraining: the nsp head as the pooler and cls.seq_relationship.
  std::optional<core::HuggingFaceHead> HuggingFaceBertHead() const override {
    core::HuggingFaceHead h;
    h.architecture = "BertForPreTraining";
    h.AddLinear("target.nsp_linear_1", "pooler.dense");
    h.AddLinear("target.nsp_linear_2", "cls.seq_relationship");
    layers::AddMlmHeadKeys(&h);
    return h;
  }
};

}  // namespace
}  // namespace uer::targets

UER_REGISTER_FACTORY(uer::targets::BertTargetFactory);
