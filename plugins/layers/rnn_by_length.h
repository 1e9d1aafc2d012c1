// A left-to-right torch RNN (LSTM or GRU, batch first) run over the tokens of each row only, for
// encoders told to skip padding (core::Encoder::skip_padding): with trailing padding a token's
// output cannot depend on the padding after it, so the rows can run cut to their lengths with the
// same outputs at the tokens (the outputs at the padding are then zeros).
#ifndef UER_PLUGINS_LAYERS_RNN_BY_LENGTH_H_
#define UER_PLUGINS_LAYERS_RNN_BY_LENGTH_H_

#include <algorithm>
#include <optional>
#include <vector>

#include <torch/types.h>

namespace uer::layers {

// The row lengths of `seg` (tokens: seg > 0) when packing is worth it and exact: some padding, all
// of it trailing, and no empty row. nullopt otherwise.
inline std::optional<torch::Tensor> TrailingLengths(const torch::Tensor& seg) {
  torch::Tensor real = seg > 0;
  torch::Tensor lengths = real.sum(1);
  const int64_t seq = seg.size(1);
  const int64_t shortest = lengths.min().item<int64_t>();
  if (shortest == 0 || shortest == seq) return std::nullopt;  // an empty row, or no padding at all
  torch::Tensor prefix = torch::arange(seq, lengths.options()).unsqueeze(0) < lengths.unsqueeze(1);
  if (!prefix.equal(real)) return std::nullopt;
  return lengths;
}

// `rnn` over emb [batch, seq, features] up to each row's length: [batch, seq, hidden], zeros after.
// The rows, sorted by length, run in up to four groups of at least eight, each cut after its
// longest row. Each group is a dense RNN call (oneDNN's fused LSTM on CPU: torch's packed sequences
// fall back to one autograd graph per time step, slower in training than the padding they save).
template <typename Rnn>
torch::Tensor RunByLength(Rnn& rnn, const torch::Tensor& emb, const torch::Tensor& lengths) {
  const int64_t batch = emb.size(0), seq = emb.size(1);
  const int64_t groups = std::max<int64_t>(1, std::min<int64_t>(4, batch / 8));
  auto [sorted, order] = lengths.to(torch::kCPU).sort();
  std::vector<torch::Tensor> sorted_groups = sorted.chunk(groups), outputs, rows;
  std::vector<torch::Tensor> order_groups = order.chunk(groups);
  for (size_t g = 0; g < order_groups.size(); ++g) {
    const int64_t longest = sorted_groups[g][-1].item<int64_t>();  // the group's last row is its longest
    torch::Tensor index = order_groups[g].to(emb.device());
    torch::Tensor out = std::get<0>(rnn->forward(emb.index_select(0, index).narrow(1, 0, longest)));
    outputs.push_back(torch::constant_pad_nd(out, {0, 0, 0, seq - longest}));
    rows.push_back(index);
  }
  torch::Tensor stacked = torch::cat(outputs);
  torch::Tensor padding = torch::arange(seq, lengths.options()).unsqueeze(0) >= lengths.unsqueeze(1);
  return torch::empty_like(stacked)
      .index_copy_(0, torch::cat(rows), stacked)
      .masked_fill_(padding.unsqueeze(-1).to(emb.device()), 0.0);
}

}  // namespace uer::layers

#endif  // UER_PLUGINS_LAYERS_RNN_BY_LENGTH_H_
