#include "core/runtime/data_loader.h"

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"

namespace uer::runtime {

absl::StatusOr<Batch> MakeBatch(const Dataset& ds, const std::vector<uint64_t>& idx, torch::Device device) {
  const int64_t n = static_cast<int64_t>(idx.size());
  const core::DataSpec spec = ds.spec();
  const int64_t seq = spec.seq_length;
  const std::vector<core::FieldSpec> fields = ds.data().Fields();
  torch::Tensor src = torch::full({n, seq}, static_cast<int64_t>(spec.pad_id), torch::kLong);
  torch::Tensor seg = torch::zeros({n, seq}, torch::kLong);
  std::vector<torch::Tensor> values;
  for (const core::FieldSpec& f : fields) {
    values.push_back(f.per_position ? torch::zeros({n, seq}, torch::kLong) : torch::zeros({n}, torch::kLong));
  }
  core::RowView row;
  row.fields.resize(fields.size());
  for (int64_t r = 0; r < n; ++r) {
    row.src = src.data_ptr<int64_t>() + r * seq;
    row.seg = seg.data_ptr<int64_t>() + r * seq;
    for (size_t k = 0; k < fields.size(); ++k) {
      row.fields[k] = values[k].data_ptr<int64_t>() + r * (fields[k].per_position ? seq : 1);
    }
    UER_RETURN_IF_ERROR(ds.Decode(idx[r], &row));
  }
  Batch b;
  b.src = src.to(device);
  b.seg = seg.to(device);
  for (size_t k = 0; k < fields.size(); ++k) b.tgt[fields[k].name] = values[k].to(device);
  b.tokens = n * seq;
  b.instances = n;
  return b;
}

DataLoader::DataLoader(const Dataset& ds, const DataLoaderOptions& o)
    : ds_(ds), batch_size_(o.batch_size * o.world_size), buffer_size_(o.buffer_size), rng_(o.seed),
      rank_(o.rank), world_size_(o.world_size) {}

absl::StatusOr<Batch> DataLoader::Next(torch::Device device) {
  std::vector<uint64_t> idx = NextIndices();
  if (idx.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        ds_.path(), ": a whole pass over its ", ds_.size(), " instances found no batch of ", batch_size_,
        " that trains the ", ds_.target(), " target (an mlm corpus of very short lines has no masked token): "
        "use more data or a larger --batch_size"));
  }
  return MakeBatch(ds_, idx, device);
}

std::vector<uint64_t> DataLoader::NextIndices() {
  const uint64_t pass = ds_.size() / static_cast<uint64_t>(batch_size_) + 2;
  uint64_t skipped = 0;
  while (true) {
    if (skipped++ > pass) return {};
    while (start_ >= buffer_.size()) Fill();
    size_t end = std::min(buffer_.size(), start_ + batch_size_);
    std::vector<uint64_t> idx(buffer_.begin() + start_, buffer_.begin() + end);
    start_ += batch_size_;
    ++batches_;
    if (!AnyTrains(idx)) continue;
    if (static_cast<int64_t>(idx.size()) < world_size_) continue;  // the same decision on every rank
    if (world_size_ == 1) return idx;
    const size_t n = idx.size(), from = n * rank_ / world_size_, to = n * (rank_ + 1) / world_size_;
    return std::vector<uint64_t>(idx.begin() + from, idx.begin() + to);
  }
}

void DataLoader::Skip(int64_t n) {
  while (batches_ < n) {
    while (start_ >= buffer_.size()) Fill();
    start_ += batch_size_;
    ++batches_;
  }
}

bool DataLoader::AnyTrains(const std::vector<uint64_t>& idx) const {
  for (uint64_t i : idx) {
    const InstanceView v = ds_.Instance(i);
    if (ds_.data().Trains(v.data, v.words)) return true;
  }
  return false;
}

void DataLoader::Fill() {
  buffer_.clear();
  while (true) {
    if (pos_ == ds_.size()) {  // end of file: back to the start, with what was read
      pos_ = 0;
      break;
    }
    buffer_.push_back(pos_++);
    if (static_cast<int64_t>(buffer_.size()) >= buffer_size_) break;
  }
  rng_.Shuffle(buffer_);
  start_ = 0;
}

}  // namespace uer::runtime
