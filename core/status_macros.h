// Status propagation macros (Debian's Abseil 20220623 ships none).
//
//   UER_RETURN_IF_ERROR(WriteFile(path));
//   UER_ASSIGN_OR_RETURN(Vocab vocab, Vocab::Load(path));
#ifndef UER_CORE_STATUS_MACROS_H_
#define UER_CORE_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define UER_RETURN_IF_ERROR(expr)                  \
  do {                                             \
    ::absl::Status uer_status_ = (expr);           \
    if (!uer_status_.ok()) return uer_status_;     \
  } while (0)

#define UER_STATUS_CONCAT_INNER_(a, b) a##b
#define UER_STATUS_CONCAT_(a, b) UER_STATUS_CONCAT_INNER_(a, b)

#define UER_ASSIGN_OR_RETURN(lhs, rexpr) \
  UER_ASSIGN_OR_RETURN_IMPL_(UER_STATUS_CONCAT_(uer_statusor_, __LINE__), lhs, rexpr)

#define UER_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                               \
  if (!statusor.ok()) return statusor.status();          \
  lhs = std::move(statusor).value()

#endif  // UER_CORE_STATUS_MACROS_H_
