// Decoding of preprocessed instances for people and tests (inspect_dataset).
//
//   UER_ASSIGN_OR_RETURN(DecodedInstance d, DecodeInstance(*dataset, 0));
#ifndef UER_TOOLS_INSPECT_DATASET_LIB_H_
#define UER_TOOLS_INSPECT_DATASET_LIB_H_

#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/dataset.h"

namespace uer::tools {

// One instance as the trainer sees it, padded to seq_length (UER-py's data loader layout).
struct DecodedInstance {
  std::vector<int64_t> src, seg;
  std::vector<int64_t> tgt;          // mlm/bert: original id at masked positions, 0 elsewhere; lm: next token
  std::vector<int64_t> tgt_backward; // bilm: previous token (tgt holds the next)
  int64_t label = -1;                // bert: is_random_next; cls: the label
};

absl::StatusOr<DecodedInstance> DecodeInstance(const core::Dataset& dataset, uint64_t index);
absl::Status InspectDataset(const std::string& dataset_path, const std::string& vocab_path, int show,
                            std::ostream& out);

}  // namespace uer::tools

#endif  // UER_TOOLS_INSPECT_DATASET_LIB_H_
