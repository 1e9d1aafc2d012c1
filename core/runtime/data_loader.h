// Batches of a pre-training dataset, as UER-py's DataLoader makes them: fill a buffer of up to
// instances_buffer_size instances (wrapping to the start at the end of the file), shuffle it with
// Python's random (seeded with --seed), cut it into batches; a batch of which no instance trains
// anything (TargetDataFactory::Trains: mlm without a masked token) is skipped. Deterministic, so
// that a resumed run replays the positions without building the batches. The target's data side
// decodes each record into the batch's named inputs.
//
//   DataLoader loader(*dataset, {.batch_size = 32, .buffer_size = 25600, .seed = 7});
//   UER_ASSIGN_OR_RETURN(Batch b, loader.Next(torch::kCPU));   // b.src, b.seg, b.tgt["tgt_mlm"]
#ifndef UER_CORE_RUNTIME_DATA_LOADER_H_
#define UER_CORE_RUNTIME_DATA_LOADER_H_

#include <cstdint>
#include <vector>

#include <torch/types.h>

#include "absl/status/statusor.h"
#include "core/plugin_api.h"
#include "core/python_random.h"
#include "core/runtime/dataset.h"

namespace uer::runtime {

struct Batch {
  torch::Tensor src, seg;
  core::TensorMap tgt;
  int64_t tokens = 0;     // padded positions (batch x seq_length)
  int64_t instances = 0;
};

// The instances `idx` of `dataset` as a batch on `device`; errors name the file and instance.
absl::StatusOr<Batch> MakeBatch(const Dataset& dataset, const std::vector<uint64_t>& idx, torch::Device device);

struct DataLoaderOptions {
  int64_t batch_size = 32;  // per rank
  int64_t buffer_size = 25600;
  int seed = 7;
  // With world_size > 1 every rank runs the same loader over global batches of batch_size *
  // world_size instances and reads only its own slice of each: the ranks together see exactly the
  // batches one process with the global batch size sees.
  int rank = 0;
  int world_size = 1;
};

class DataLoader {
 public:
  DataLoader(const Dataset& dataset, const DataLoaderOptions& options);
  // Indices of this rank's part of the next batch; empty when a whole pass over the dataset found no
  // batch that trains anything.
  std::vector<uint64_t> NextIndices();
  absl::StatusOr<Batch> Next(torch::Device device);
  // Batches drawn so far (skipped ones included): the position a checkpoint stores.
  int64_t batches() const { return batches_; }
  // Moves to the position after `n` batches (resume), without building them.
  void Skip(int64_t n);

 private:
  bool AnyTrains(const std::vector<uint64_t>& idx) const;
  void Fill();

  const Dataset& ds_;
  int64_t batch_size_, buffer_size_;
  core::PythonRandom rng_;
  int rank_, world_size_;
  std::vector<uint64_t> buffer_;
  size_t start_ = 0;
  uint64_t pos_ = 0;
  int64_t batches_ = 0;
};

}  // namespace uer::runtime

#endif  // UER_CORE_RUNTIME_DATA_LOADER_H_
