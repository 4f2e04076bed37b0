// Private status-propagation macros (cel-cpp style). Never include from a
// public header. Switch to ABSL_RETURN_IF_ERROR once Abseil >= 20260526.

#ifndef ARBITER_SRC_INTERNAL_STATUS_MACROS_H_
#define ARBITER_SRC_INTERNAL_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define ARBITER_RETURN_IF_ERROR(expr)                  \
  do {                                                 \
    const absl::Status arbiter_status_ = (expr);       \
    if (!arbiter_status_.ok()) return arbiter_status_; \
  } while (false)

#define ARBITER_STATUS_CONCAT_INNER_(a, b) a##b
#define ARBITER_STATUS_CONCAT_(a, b) ARBITER_STATUS_CONCAT_INNER_(a, b)

#define ARBITER_ASSIGN_OR_RETURN(lhs, rexpr) \
  ARBITER_ASSIGN_OR_RETURN_IMPL_(            \
      ARBITER_STATUS_CONCAT_(arbiter_statusor_, __LINE__), lhs, rexpr)

#define ARBITER_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                   \
  if (!statusor.ok()) return std::move(statusor).status();   \
  lhs = *std::move(statusor)

#endif  // ARBITER_SRC_INTERNAL_STATUS_MACROS_H_
