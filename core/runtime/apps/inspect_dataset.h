// Decoding of preprocessed instances for people and tests (inspect_dataset).
//
//   UER_ASSIGN_OR_RETURN(DecodedInstance d, DecodeInstance(*dataset, 0));
#ifndef UER_CORE_RUNTIME_APPS_INSPECT_DATASET_H_
#define UER_CORE_RUNTIME_APPS_INSPECT_DATASET_H_

#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/runtime/dataset.h"

namespace uer::apps {

using runtime::DecodedInstance;
using runtime::DecodeInstance;

absl::Status InspectDataset(const std::string& dataset_path, const std::string& vocab_path, int show,
                            std::ostream& out);

}  // namespace uer::apps

#endif  // UER_CORE_RUNTIME_APPS_INSPECT_DATASET_H_
