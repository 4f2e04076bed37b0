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

// ---- For the lookups of src/query (additive; Check does not use them) ----
// A lookup decides many (permission, resource) pairs for one principal, or
// one pair for many principals, through the same core (decide.h):
// GatherPathRoles is the scan of steps 7-10's gathering, run once and
// reused, and LeastGrantWithRole finds the deciding grant the core names.
// Both judge expiry at `now_nanos` (Unix nanoseconds) and need
// s.mask_path (at most 64 roles). No allocation, no lock.

// Sets at[level], for level <= top, to the roles of the live grants of
// principal p (its own and its groups') at path[level] of `node`, exactly as
// Check gathers them; at[level] for level > top is 0.
void GatherPathRoles(const Snapshot& s, uint32_t principal, const Node& node,
                     int top, int64_t now_nanos, uint64_t at[3]) noexcept;

// The least live grant (by subject rank, then grant id) of principal p or
// of its groups at `scope` whose role is in `roles`: the grant Check
// reports when the core decides at that scope with that mask. kNone if
// none.
uint32_t LeastGrantWithRole(const Snapshot& s, uint32_t principal,
                            uint32_t scope, uint64_t roles,
                            int64_t now_nanos) noexcept;

}  // namespace internal
}  // namespace arbiter

#endif  // ARBITER_SRC_EVAL_EVALUATOR_H_
