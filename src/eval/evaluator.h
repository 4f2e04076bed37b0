// The decision procedure of docs/semantics.md over a Snapshot. No
// locks, no allocation, no exceptions.

#ifndef ARBITER_SRC_EVAL_EVALUATOR_H_
#define ARBITER_SRC_EVAL_EVALUATOR_H_

#include <cstdint>
#include <utility>

#include "arbiter/decision.h"
#include "arbiter/request.h"
#include "src/snapshot/snapshot.h"

namespace arbiter {
namespace internal {

// Which implementation of steps 7-10 to use. kAuto decides on role masks
// when the snapshot has at most 64 roles: from the principal's scope summary
// where it has one and it holds no expiring grant on the path, else by
// scanning its grants. kScan forces the scan (role masks still), kGeneric
// the per-grant path without masks. Tests hold the three to each other.
enum class EvaluationPath { kAuto, kScan, kGeneric };

// Decides for valid indices (callers check bounds). `revision` is copied into
// the decision.
Decision Evaluate(const Snapshot& s, uint32_t principal,
                  uint32_t permission, uint32_t resource,
                  const RequestContext& context, uint64_t revision,
                  EvaluationPath evaluation = EvaluationPath::kAuto) noexcept;

// A decision with no grant.
inline Decision MakeDecision(Reason reason, uint64_t revision) {
  Decision d;
  d.reason = reason;
  d.effect = EffectOf(reason);
  d.revision = revision;
  return d;
}

// The grants of `subject` at `scope`: a contiguous, id-ordered range.
std::pair<uint32_t, uint32_t> GrantRange(const Snapshot& s,
                                         uint32_t subject, uint32_t scope);

}  // namespace internal
}  // namespace arbiter

#endif  // ARBITER_SRC_EVAL_EVALUATOR_H_
