// uer-cc's pre-training dataset: one file, read through mmap, O(1) access to any instance, so that
// each training rank reads only its own slice.
//
//   [header: 256 bytes]  magic "UERDSET1", format version, target, seq_length, vocabulary size and
//                        checksum, special ids, instance count, data size, header checksum
//   [offsets: uint64 x (count + 1)]  start of each instance in the data, in int32 words
//   [data: int32 x words]            the instances, unpadded (layouts below)
//
// Instance layouts (int32 words; "src" is what the model reads, before padding):
//   bert: len, n_masked, is_random_next, seg_a_end, seg_b_end, src[len], pos[n], original_id[n]
//   mlm:  len, n_masked, src[len], pos[n], original_id[n]
//   lm:   len, tokens[len]      (src = tokens[:-1], tgt = tokens[1:], at most seq_length each)
//   bilm: len, tokens[len]      (at most seq_length + 1 tokens; src = tokens[:seq_length],
//                                fwd = (tokens[1:] + [SEP])[:seq_length], bwd = [CLS] + tokens[:-1])
//   cls:  label, len, seg_a_len, src[len]   (src starts with [CLS]; seg 1 for the first seg_a_len
//                                            tokens, 2 after; seg_a_len == len for one sentence)
//
// Writers write to PATH.tmp.<pid> and rename at the end: a crash leaves no half file under PATH.
//
//   UER_ASSIGN_OR_RETURN(auto ds, Dataset::Open("dataset.uer"));
//   InstanceView v = ds->Instance(42);
#ifndef UER_CORE_DATASET_H_
#define UER_CORE_DATASET_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/vocab.h"

namespace uer::core {

enum class DatasetTarget : uint32_t { kBert = 1, kMlm = 2, kLm = 3, kBilm = 4, kCls = 5 };

const char* DatasetTargetName(DatasetTarget t);
absl::StatusOr<DatasetTarget> ParseDatasetTarget(const std::string& name);

inline constexpr char kDatasetMagic[8] = {'U', 'E', 'R', 'D', 'S', 'E', 'T', '1'};
inline constexpr uint32_t kDatasetFormatVersion = 1;

#pragma pack(push, 1)
struct DatasetHeader {
  char magic[8];
  uint32_t format_version;
  uint32_t target;  // DatasetTarget
  uint32_t seq_length;
  uint32_t reserved0;
  uint64_t vocab_size;
  uint64_t vocab_checksum;  // FNV-1a 64 of the tokens, each followed by '\n'
  int32_t pad_id, unk_id, cls_id, sep_id, mask_id;
  uint32_t reserved1;
  uint64_t instance_count;
  uint64_t data_words;
  uint64_t seed;
  uint32_t dup_factor;
  uint32_t reserved2;
  uint8_t reserved[256 - 104];
  uint64_t header_checksum;  // FNV-1a 64 of the bytes before it
};
#pragma pack(pop)
static_assert(sizeof(DatasetHeader) == 256, "the header is 256 bytes");

uint64_t Fnv1a64(const void* data, size_t size, uint64_t h = 1469598103934665603ULL);
uint64_t VocabChecksum(const Vocab& vocab);

// Appends instances to one part of a dataset (a worker's): data and offsets in two files.
class DatasetPartWriter {
 public:
  static absl::StatusOr<std::unique_ptr<DatasetPartWriter>> Create(const std::string& prefix);
  ~DatasetPartWriter();
  absl::Status Add(const std::vector<int32_t>& record);
  absl::Status Close();
  uint64_t count() const { return count_; }
  uint64_t words() const { return words_; }
  const std::string& data_path() const { return data_path_; }
  const std::string& offsets_path() const { return offsets_path_; }

 private:
  std::string data_path_, offsets_path_;
  FILE* data_ = nullptr;
  FILE* offsets_ = nullptr;
  uint64_t count_ = 0, words_ = 0;
};

// Joins parts (in order) under `header` into `path`, atomically, and removes the part files.
absl::Status MergeDatasetParts(const std::string& path, DatasetHeader header,
                               const std::vector<DatasetPartWriter*>& parts);

struct InstanceView {
  const int32_t* data;
  uint64_t words;
};

// A read-only, memory-mapped dataset.
class Dataset {
 public:
  // Checks the magic, version, header checksum and sizes; errors name the file.
  static absl::StatusOr<std::unique_ptr<Dataset>> Open(const std::string& path);
  ~Dataset();
  const DatasetHeader& header() const { return *header_; }
  DatasetTarget target() const { return static_cast<DatasetTarget>(header_->target); }
  uint64_t size() const { return header_->instance_count; }
  InstanceView Instance(uint64_t i) const {
    return {data_ + offsets_[i], offsets_[i + 1] - offsets_[i]};
  }
  const std::string& path() const { return path_; }
  // Refuses a dataset built for another vocabulary, target or seq_length (say which).
  absl::Status CheckCompatible(const Vocab& vocab, DatasetTarget target, int seq_length) const;

 private:
  std::string path_;
  void* map_ = nullptr;
  size_t map_size_ = 0;
  const DatasetHeader* header_ = nullptr;
  const uint64_t* offsets_ = nullptr;
  const int32_t* data_ = nullptr;
};

}  // namespace uer::core

#endif  // UER_CORE_DATASET_H_
