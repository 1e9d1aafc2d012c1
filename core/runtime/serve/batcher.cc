#include "core/runtime/serve/batcher.h"

namespace uer::runtime::serve {

absl::Status ValidateBatcherOptions(const BatcherOptions& o) {
  for (const auto& [name, value] : {std::pair<const char*, int64_t>{"max_batch_requests", o.max_batch_requests},
                                    {"max_batch_tokens", o.max_batch_tokens},
                                    {"max_queued", o.max_queued},
                                    {"workers", o.workers}}) {
    if (value < 1) return absl::InvalidArgumentError(absl::StrCat(name, " must be >= 1, got ", value));
  }
  if (o.max_queue_delay_us < 0) {
    return absl::InvalidArgumentError(absl::StrCat("max_queue_delay_us must be >= 0, got ", o.max_queue_delay_us));
  }
  return absl::OkStatus();
}

}  // namespace uer::runtime::serve
