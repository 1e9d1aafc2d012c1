// uer-cc's pre-training dataset: one file, read through mmap, O(1) access to any instance, so that
// each training rank reads only its own slice.
//
//   [header: 256 bytes]  magic "UERDSET1", format version (2), the target's name and its record
//                        version, seq_length, vocabulary size and checksum, special ids, instance
//                        count, data size, a CRC-32 of the offsets and the data, header checksum
//   [offsets: uint64 x (count + 1)]  start of each instance in the data, in int32 words
//   [data: int32 x words]            the instances, unpadded; only the target's data side
//                                    (core/target_data.h) knows their layout
//
// Format 1 (uer-cc 0.1) stored a target code instead of the name; it still reads: the data side
// whose legacy_format1_code() matches is the target.
//
// Writers write to PATH.tmp.<pid> and rename at the end: a crash leaves no half file under PATH.
//
//   UER_ASSIGN_OR_RETURN(auto ds, Dataset::Open("dataset.uer"));
//   InstanceView v = ds->Instance(42);
#ifndef UER_CORE_RUNTIME_DATASET_H_
#define UER_CORE_RUNTIME_DATASET_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/runtime/io/atomic_file.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/target_data.h"
#include "core/vocab.h"

namespace uer::runtime {

using core::Vocab;

inline constexpr char kDatasetMagic[8] = {'U', 'E', 'R', 'D', 'S', 'E', 'T', '1'};
inline constexpr uint32_t kDatasetFormatVersion = 2;
inline constexpr uint32_t kDatasetPayloadCrc = 1;  // DatasetHeader::flags: payload_crc32 is set

#pragma pack(push, 1)
struct DatasetHeader {
  char magic[8];
  uint32_t format_version;
  uint32_t target_code;  // format 1's target code; 0 in format 2
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
  char target_name[32];     // format 2: the target's registered name, NUL-padded
  uint32_t record_version;  // format 2: TargetDataFactory::record_version() of the writer
  uint32_t reserved3;
  uint32_t payload_crc32;  // CRC-32 (zlib's) of the offsets and the data, when flags has kPayloadCrc
  uint32_t flags;
  uint8_t reserved[256 - 152];
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
  uint32_t data_crc32() const { return data_crc_; }

 private:
  std::string data_path_, offsets_path_;
  FILE* data_ = nullptr;
  FILE* offsets_ = nullptr;
  uint64_t count_ = 0, words_ = 0;
  uint32_t data_crc_ = 0;
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
  // Checks the magic, version, header checksum, sizes, offsets and the payload's CRC-32 (a flipped
  // byte anywhere is found here, before training); errors name the file.
  static absl::StatusOr<std::unique_ptr<Dataset>> Open(const std::string& path);
  ~Dataset();
  const DatasetHeader& header() const { return *header_; }
  // The target the instances were built for, and its data side (which decodes them).
  const std::string& target() const { return target_; }
  uint32_t record_version() const { return record_version_; }
  const core::TargetDataFactory& data() const { return *data_side_; }
  core::DataSpec spec() const;
  uint64_t size() const { return header_->instance_count; }
  InstanceView Instance(uint64_t i) const {
    return {data_ + offsets_[i], offsets_[i + 1] - offsets_[i]};
  }
  const std::string& path() const { return path_; }
  // Refuses a dataset built for another vocabulary or target (say which).
  absl::Status CheckCompatible(const Vocab& vocab, const std::string& target) const;
  // Fills `row` from instance i; a malformed record, or an id outside the vocabulary or a field's
  // range (core::FieldSpec), is an error naming the file and instance.
  absl::Status Decode(uint64_t i, core::RowView* row) const;

 private:
  std::string path_;
  void* map_ = nullptr;
  size_t map_size_ = 0;
  const DatasetHeader* header_ = nullptr;
  const uint64_t* offsets_ = nullptr;
  const int32_t* data_ = nullptr;
  std::string target_;
  uint32_t record_version_ = 0;
  const core::TargetDataFactory* data_side_ = nullptr;
  std::vector<core::FieldSpec> fields_;
};

// One instance as the trainer sees it, padded to seq_length (UER-py's data loader layout): src, seg
// and the target's inputs by name (per position, or one value).
struct DecodedInstance {
  std::vector<int64_t> src, seg;
  std::map<std::string, std::vector<int64_t>> fields;
  // The field's values; an empty vector when the target has no such input.
  const std::vector<int64_t>& Field(const std::string& name) const;
};

absl::StatusOr<DecodedInstance> DecodeInstance(const Dataset& dataset, uint64_t index);
// A header for a new dataset of `target` (its name and record version) and `vocab`.
absl::StatusOr<DatasetHeader> NewDatasetHeader(const core::TargetDataFactory& target, const Vocab& vocab,
                                               int seq_length, int seed, int dup_factor);

}  // namespace uer::runtime

#endif  // UER_CORE_RUNTIME_DATASET_H_
