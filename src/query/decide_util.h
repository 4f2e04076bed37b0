// Deciding for the lookups: every answer goes through the one decision core
// (src/eval/decide.h) or through internal::Evaluate, the path Check itself
// takes. What is here only shares the work between many decisions:
//
//  * PermissionBits gathers a principal's roles on a resource's path once
//    (GatherPathRoles, the scan of Check) and runs the core once per
//    permission: ListPermissions, the access report and the diff.
//  * DecideSignature runs the core on the roles a member table recorded for
//    principals without expiring grants (src/query/query_index.h): one
//    decision for every principal holding the same roles.
//  * MakeMemberDecision turns such a verdict into the Decision Check gives
//    one of those principals (its own deciding grant).

#ifndef ARBITER_SRC_QUERY_DECIDE_UTIL_H_
#define ARBITER_SRC_QUERY_DECIDE_UTIL_H_

#include <cstdint>

#include "absl/time/time.h"
#include "arbiter/decision.h"
#include "arbiter/request.h"
#include "src/query/query_index.h"
#include "src/snapshot/snapshot.h"

namespace arbiter {
namespace internal {

// The instant a lookup judges expiry at: context.now, else the snapshot's
// clock (EngineOptions::clock, else the system clock) read now.
absl::Time LookupInstant(const Snapshot& s, const RequestContext& context);

// `context` with `now` set to `at`.
RequestContext AtInstant(const RequestContext& context, absl::Time at);

// Whether Check denies principal p every request whatever the permission
// and resource of its organization (steps 3-4: deleted, invited, a service
// account on the console).
bool DeniedEverything(const PrincipalRec& rec, Channel channel);

// The deepest level with an ancestor in `node`'s path (0 org, 1 cloud, 2
// project).
inline int Depth(const Node& node) {
  return node.path[kProjectLevel] != kNone ? kProjectLevel
         : node.path[kCloudLevel] != kNone ? kCloudLevel
                                           : kOrgLevel;
}

// Sets bit k of bits[0, s.perm_words) for every permission k that Check
// allows principal p on resource r in `context` (whose `now` must be set),
// restricted to permissions of level `only_level` (-1: every level). With
// `reasons`, ORs in bit (1 << Reason) of each allowing reason.
void PermissionBits(const Snapshot& s, uint32_t p, uint32_t r,
                    const RequestContext& context, uint64_t revision,
                    int only_level, uint64_t* bits, uint32_t* reasons);

// What the core decides for a principal that holds roles `at0` at the
// organization and `at1` at the cloud of `anchor` (the node of the
// permission's level on the resource's path, never a workload), and
// nothing at the project; valid only when none of those grants expires.
struct SignatureVerdict {
  Reason reason = Reason::kInternalError;
  int level = -1;     // the deciding grant's level, -1 if none
  uint64_t mask = 0;  // the roles it may have
  bool allowed() const { return EffectOf(reason) == Effect::kAllow; }
};
SignatureVerdict DecideSignature(const Snapshot& s, uint32_t permission,
                                 uint32_t anchor, int top, const RoleSig& sig);

// The Decision Check gives principal `entry.principal` when its roles decide
// as `v` (an allow) on `anchor`'s path: its own least grant at v.level with
// a role of v.mask (none of its grants on the path may expire).
Decision MakeMemberDecision(const Snapshot& s, const MemberEntry& entry,
                            const SignatureVerdict& v, uint32_t anchor,
                            int64_t now_nanos, uint64_t revision);

}  // namespace internal
}  // namespace arbiter

#endif  // ARBITER_SRC_QUERY_DECIDE_UTIL_H_
