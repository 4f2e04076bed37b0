// The decision procedure of docs/semantics.md over a Snapshot. No
// locks, no allocation, no exceptions.

#ifndef ARBITER_SRC_EVAL_EVALUATOR_H_
#define ARBITER_SRC_EVAL_EVALUATOR_H_

#include <cstdint>
#include <utility>

#include "arbiter/decision.h"
#include "arbiter/request.h"
#include "src/eval/decide.h"
#include "src/snapshot/snapshot.h"

namespace arbiter {
namespace internal {

// Which gathering of steps 7-10 to use; all decide through the one core of
// src/eval/decide.h. kAuto: from the principal's scope summary where it has
// one and no grant of it on the path has expired, else by scanning its
// grants on uint64_t role masks (at most 64 roles) or on wide masks. kScan
// forces the scan, kWide the wide masks (at least four words, so that small
// profiles exercise the wide code too). Tests hold them to each other.
enum class EvaluationPath { kAuto, kScan, kWide };

// Decides for valid indices (callers check bounds). `revision` is copied into
// the decision.
Decision Evaluate(const Snapshot& s, uint32_t principal, uint32_t permission,
                  uint32_t resource, const RequestContext& context,
                  uint64_t revision,
                  EvaluationPath evaluation = EvaluationPath::kAuto) noexcept;

// The same decision by the scan, recording in *trace how the core reached
// it (Explain).
Decision EvaluateTraced(const Snapshot& s, uint32_t principal,
                        uint32_t permission, uint32_t resource,
                        const RequestContext& context, uint64_t revision,
                        DecisionTrace* trace) noexcept;

// A decision with no grant.
inline Decision MakeDecision(Reason reason, uint64_t revision) {
  Decision d;
  d.reason = reason;
  d.effect = EffectOf(reason);
  d.revision = revision;
  return d;
}

// The grants of `subject` at `scope`: a contiguous, id-ordered range.
std::pair<uint32_t, uint32_t> GrantRange(const Snapshot& s, uint32_t subject,
                                         uint32_t scope);

}  // namespace internal
}  // namespace arbiter

#endif  // ARBITER_SRC_EVAL_EVALUATOR_H_
