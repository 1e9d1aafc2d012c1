// UER-py's S2sTarget (seed caef999): an LSTM decoder (one layer, emb_size -> hidden_size) whose
// state starts from the encoder's output, its own embedding of the target tokens, and an output
// layer over the vocabulary; the loss is the NLL of the tokens with tgt > 0.
//
// Two ways to feed the decoder (options { key: "s2s.decoder_input" value: ... }):
//   shifted (the default): it reads tgt_in ([CLS] + the target) and predicts tgt (the target +
//     [SEP]), its state starting from the encoder's output at the last token of the source: a real
//     sequence-to-sequence objective, and what greedy decoding continues.
//   seed: UER-py's seed exactly: it reads tgt and predicts the same tgt (a copy task), its state
//     starting from the encoder's output at the last position, padding or not. For parity.
// Values: loss, correct, denominator (the lm report).
#include <ATen/ops/argmax.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/rnn.h>

#include "plugins/layers/layers.h"

namespace uer::targets {
namespace {

constexpr char kDecoderInput[] = "s2s.decoder_input";

bool Shifted(const core::v1::ModelConfig& c) {
  auto it = c.options().find(kDecoderInput);
  return it == c.options().end() || it->second == "shifted";
}

class S2sTarget : public core::Target {
 public:
  S2sTarget(const core::v1::ModelConfig& c, int64_t vocab_size) : shifted_(Shifted(c)) {
    embedding_layer_ = register_module("embedding_layer", torch::nn::Embedding(vocab_size, c.emb_size()));
    decoder_ = register_module("decoder", torch::nn::LSTM(torch::nn::LSTMOptions(c.emb_size(), c.hidden_size()).batch_first(true)));
    output_layer_ = register_module("output_layer", torch::nn::Linear(c.hidden_size(), vocab_size));
  }
  std::vector<std::string> InputNames() const override {
    return shifted_ ? std::vector<std::string>{"tgt_in", "tgt"} : std::vector<std::string>{"tgt"};
  }
  // Its [batch, seq] inputs are positions of the target, not of the source: they say nothing of
  // the source's padding, so the encoder never skips it.
  bool ReadsPadding() const override { return true; }
  bool Decodes() const override { return true; }

  core::TargetOutput Forward(const torch::Tensor& memory_bank, const core::TensorMap& tgt) override {
    const torch::Tensor& out_ids = layers::Need(tgt, "tgt");
    const torch::Tensor& in_ids = shifted_ ? layers::Need(tgt, "tgt_in") : out_ids;
    torch::Tensor state = InitialState(memory_bank, shifted_ ? layers::Need(tgt, "seg") : torch::Tensor());
    torch::Tensor output = std::get<0>(decoder_->forward(embedding_layer_->forward(in_ids), std::make_tuple(state, state)));
    // Only the positions with tgt > 0 count, so only their logits are computed (as the lm target).
    torch::Tensor t = out_ids.contiguous().view({-1});
    torch::Tensor selected = t > 0;
    torch::Tensor hidden = output.contiguous().view({-1, output.size(-1)}).index({selected});
    auto [numerator, correct, count] = layers::MaskedNll(output_layer_->forward(hidden), t.index({selected}));
    torch::Tensor denominator = count + 1e-6;
    torch::Tensor loss = numerator / denominator;
    return {loss, {{"loss", loss}, {"correct", correct}, {"denominator", denominator}}, {{numerator, count, 1e-6}}};
  }

  torch::Tensor GreedyDecode(const torch::Tensor& memory_bank, const torch::Tensor& seg, int64_t start_id, int64_t end_id,
                             int64_t max_length) override {
    const int64_t batch = memory_bank.size(0);
    torch::Tensor h = InitialState(memory_bank, shifted_ ? seg : torch::Tensor());
    std::tuple<torch::Tensor, torch::Tensor> state(h, h);
    torch::Tensor x = torch::full({batch, 1}, start_id, torch::TensorOptions().dtype(torch::kInt64).device(memory_bank.device()));
    torch::Tensor out = torch::zeros({batch, max_length}, x.options());
    torch::Tensor done = torch::zeros({batch}, x.options().dtype(torch::kBool));
    for (int64_t i = 0; i < max_length; ++i) {
      auto [o, next_state] = decoder_->forward(embedding_layer_->forward(x), state);
      state = next_state;
      torch::Tensor next = at::argmax(output_layer_->forward(o.squeeze(1)), -1);
      out.select(1, i).copy_(next.masked_fill(done, 0));
      done = done.logical_or(next == end_id);
      if (done.all().item<bool>()) break;
      x = next.unsqueeze(1);
    }
    return out;
  }

 private:
  // The decoder's first h and c, [1, batch, hidden]: the encoder's output at each row's last token
  // (shifted) or at the last position (seed).
  torch::Tensor InitialState(const torch::Tensor& memory_bank, const torch::Tensor& seg) const {
    if (!seg.defined()) return memory_bank.select(1, memory_bank.size(1) - 1).unsqueeze(0).contiguous();
    torch::Tensor last = ((seg > 0).sum(1) - 1).clamp_min(0);  // [batch]
    torch::Tensor index = last.view({-1, 1, 1}).expand({memory_bank.size(0), 1, memory_bank.size(2)});
    return memory_bank.gather(1, index).squeeze(1).unsqueeze(0).contiguous();
  }

  bool shifted_;
  torch::nn::Embedding embedding_layer_{nullptr};
  torch::nn::LSTM decoder_{nullptr};
  torch::nn::Linear output_layer_{nullptr};
};

class S2sTargetFactory : public core::TargetFactory {
 public:
  std::string name() const override { return "s2s"; }
  std::string help() const override { return "LSTM decoder (options s2s.decoder_input: shifted | seed)"; }
  std::vector<std::string> VocabularyRows() const override {
    return {"embedding_layer.weight", "output_layer.weight", "output_layer.bias"};
  }
  absl::Status Validate(const core::v1::ModelConfig& c) const override {
    auto it = c.options().find(kDecoderInput);
    if (it != c.options().end() && it->second != "shifted" && it->second != "seed") {
      return absl::InvalidArgumentError(std::string("option \"") + kDecoderInput + "\" must be shifted or seed, got \"" + it->second + "\"");
    }
    return absl::OkStatus();
  }
  absl::StatusOr<std::shared_ptr<core::Target>> Create(const core::v1::ModelConfig& c,
                                                       const core::BuildContext& ctx) const override {
    return std::shared_ptr<core::Target>(std::make_shared<S2sTarget>(c, ctx.vocab_size));
  }
};

}  // namespace
}  // namespace uer::targets

UER_REGISTER_FACTORY(uer::targets::S2sTargetFactory);
