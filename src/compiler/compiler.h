// The policy compiler: validates a v1::PolicySet and builds the immutable
// Snapshot that Check reads. All validation lives here; every problem
// is reported with the field path of the object at fault.

#ifndef ARBITER_SRC_COMPILER_COMPILER_H_
#define ARBITER_SRC_COMPILER_COMPILER_H_

#include <memory>

#include "arbiter/engine_options.h"
#include "arbiter/v1/policy_set.pb.h"
#include "src/internal/diagnostics.h"
#include "src/snapshot/snapshot.h"

namespace arbiter {
namespace internal {

// Returns the compiled state, or nullptr when `diag` holds problems. A
// failed compile keeps nothing.
std::unique_ptr<Snapshot> Compile(const v1::PolicySet& state,
                                  const EngineOptions& options,
                                  Diagnostics& diag);

}  // namespace internal
}  // namespace arbiter

#endif  // ARBITER_SRC_COMPILER_COMPILER_H_
