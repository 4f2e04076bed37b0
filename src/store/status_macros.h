// Private to arbiter_store: status propagation (the core's
// src/internal/status_macros.h, under names of the store's own, so that
// arbiter_store depends on nothing of the core).

#ifndef ARBITER_SRC_STORE_STATUS_MACROS_H_
#define ARBITER_SRC_STORE_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define STORE_RETURN_IF_ERROR(expr)                \
  do {                                             \
    const absl::Status store_status_ = (expr);     \
    if (!store_status_.ok()) return store_status_; \
  } while (false)

#define STORE_STATUS_CONCAT_INNER_(a, b) a##b
#define STORE_STATUS_CONCAT_(a, b) STORE_STATUS_CONCAT_INNER_(a, b)

#define STORE_ASSIGN_OR_RETURN(lhs, rexpr) \
  STORE_ASSIGN_OR_RETURN_IMPL_(            \
      STORE_STATUS_CONCAT_(store_statusor_, __LINE__), lhs, rexpr)

#define STORE_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                 \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = *std::move(statusor)

#endif  // ARBITER_SRC_STORE_STATUS_MACROS_H_
