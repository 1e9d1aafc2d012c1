// A third-party pre-training target, "acme.length": from the encoder's output at [CLS] it predicts
// the length bucket of the sentence (4 classes: 0-7, 8-15, 16-23 and 24 or more tokens). It is
// self-supervised: any corpus of one sentence a line trains it. Its data side (what preprocess
// builds, how pretrain decodes it) is the torch-free acme_length_data.cc, a library of its own.
//
//   bazel build //docs/examples/acme_target:acme.length //docs/examples/acme_target:data
//   preprocess --plugins=DATA.so --target acme.length --tokenizer space --corpus_path corpus.txt ...
//   pretrain --plugins=TARGET.so,DATA.so --config_path docs/examples/acme_target/tiny.pbtxt ...
//
// Layer: linear (hidden_size -> 4) on memory_bank[:, 0]; the loss is the NLL of its log-softmax.
// Key: target.linear. Values: loss, correct. It reads [CLS] only, so the encoder may skip padding.
#include <memory>
#include <string>
#include <vector>

#include <torch/nn/modules/linear.h>

#include "core/plugin_api.h"
#include "core/plugin_stamp.h"

namespace acme {
namespace {

constexpr int64_t kBuckets = 4;

class LengthTarget : public uer::core::Target {
 public:
  explicit LengthTarget(int64_t hidden_size) {
    linear_ = register_module("linear", torch::nn::Linear(hidden_size, kBuckets));
  }
  std::vector<std::string> InputNames() const override { return {"tgt"}; }
  // Reads [CLS] only.
  bool ReadsPadding() const override { return false; }
  uer::core::TargetOutput Forward(const torch::Tensor& memory_bank, const uer::core::TensorMap& tgt) override {
    auto it = tgt.find("tgt");
    TORCH_CHECK(it != tgt.end(), "target acme.length: the batch has no \"tgt\" input");
    const torch::Tensor label = it->second.view({-1});
    torch::Tensor log_probs = torch::log_softmax(linear_->forward(memory_bank.select(1, 0)), -1);
    torch::Tensor loss = torch::nll_loss(log_probs, label);
    torch::Tensor correct = log_probs.argmax(-1).eq(label).sum();
    return {loss, {{"loss", loss}, {"correct", correct}}};
  }

 private:
  torch::nn::Linear linear_{nullptr};
};

class LengthTargetFactory : public uer::core::TargetFactory {
 public:
  std::string name() const override { return "acme.length"; }
  std::string help() const override { return "example: the sentence's length bucket from [CLS] (4 classes)"; }
  std::string stability() const override { return "example"; }
  absl::StatusOr<std::shared_ptr<uer::core::Target>> Create(const uer::core::v1::ModelConfig& c,
                                                            const uer::core::BuildContext&) const override {
    return std::shared_ptr<uer::core::Target>(std::make_shared<LengthTarget>(c.hidden_size()));
  }
};

}  // namespace
}  // namespace acme

UER_REGISTER_FACTORY(acme::LengthTargetFactory);
// Built with stamp = False (as outside the tree): the library's stamp, written here.
UER_PLUGIN_DEFINE_INFO("acme.length")
