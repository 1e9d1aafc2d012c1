// Decoding of preprocessed instances for people and tests (inspect_dataset).
//
//   UER_ASSIGN_OR_RETURN(DecodedInstance d, DecodeInstance(*dataset, 0));
#ifndef UER_TOOLS_INSPECT_DATASET_LIB_H_
#define UER_TOOLS_INSPECT_DATASET_LIB_H_

#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/runtime/dataset.h"

namespace uer::tools {

// One instance as the trainer sees it, padded to seq_length (UER-py's data loader layout): src, seg
// and the target's inputs by name (per position, or one value).
struct DecodedInstance {
  std::vector<int64_t> src, seg;
  std::map<std::string, std::vector<int64_t>> fields;
  // The field's values; an empty vector when the target has no such input.
  const std::vector<int64_t>& Field(const std::string& name) const;
};

absl::StatusOr<DecodedInstance> DecodeInstance(const runtime::Dataset& dataset, uint64_t index);
absl::Status InspectDataset(const std::string& dataset_path, const std::string& vocab_path, int show,
                            std::ostream& out);

}  // namespace uer::tools

#endif  // UER_TOOLS_INSPECT_DATASET_LIB_H_
