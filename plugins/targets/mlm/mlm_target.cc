// UER-py's MlmTarget: masked LM on the positions with tgt > 0. Values: loss, correct, denominator.
#include "plugins/layers/layers.h"

namespace uer::targets {
namespace {

class MlmTarget : public core::Target {
 public:
  MlmTarget(const core::v1::ModelConfig& c, int64_t vocab_size) { mlm_.Register(this, c, vocab_size); }
  std::vector<std::string> InputNames() const override { return {"tgt_mlm"}; }
  // Reads the positions with tgt_mlm > 0 only.
  bool ReadsPadding() const override { return false; }
  TokenPrediction Predicts() const override { return TokenPrediction::kMaskedToken; }
  torch::Tensor TokenLogits(const torch::Tensor& memory_bank) override { return mlm_.Logits(memory_bank); }
  core::TargetOutput Forward(const torch::Tensor& memory_bank, const core::TensorMap& tgt) override {
    auto it = tgt.find("tgt_mlm");
    layers::MlmHead::Output m = mlm_.Forward(memory_bank, it != tgt.end() ? it->second : layers::Need(tgt, "tgt"));
    return {m.loss, {{"loss", m.loss}, {"correct", m.correct}, {"denominator", m.denominator}}, {m.term}};
  }

 private:
  layers::MlmHead mlm_;
};

class MlmTargetFactory : public core::TargetFactory {
 public:
  std::string name() const override { return "mlm"; }
  std::string help() const override { return "masked LM"; }
  std::vector<std::string> VocabularyRows() const override { return layers::MlmHeadVocabularyRows(); }
  std::vector<core::OldKeyName> OldKeyNames() const override { return layers::MlmHeadOldKeyNames(); }
  absl::StatusOr<std::shared_ptr<core::Target>> Create(const core::v1::ModelConfig& c,
                                                       const core::BuildContext& ctx) const override {
    return std::shared_ptr<core::Target>(std::make_shared<MlmTarget>(c, ctx.vocab_size));
  }
  std::optional<core::HuggingFaceHead> HuggingFaceBertHead() const override {
    core::HuggingFaceHead h;
    h.architecture = "BertForMaskedLM";
    layers::AddMlmHeadKeys(&h);
    return h;
  }
};

}  // namespace
}  // namespace uer::targets

UER_REGISTER_FACTORY(uer::targets::MlmTargetFactory);
