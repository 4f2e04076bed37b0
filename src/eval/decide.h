// The one decision core: steps 7-10 of docs/semantics.md on role masks.
//
// Every evaluation path ends here: the scope-summary path and the grant scan
// (uint64_t masks, snapshots of at most 64 roles), the wide scan (RoleMask<W>,
// any profile up to EngineOptions::max_roles), Explain (the same call with a
// trace) and the lookups of src/query. They differ only in how they gather
// at[level], the roles of the principal's live grants at each level of the
// request's path (its own and its groups'), and in how they find the
// deciding grant once the core has said which level and roles decide.
//
// Internal to src/eval (and src/query, which decides through
// src/eval/evaluator.h).

#ifndef ARBITER_SRC_EVAL_DECIDE_H_
#define ARBITER_SRC_EVAL_DECIDE_H_

#include <cstdint>

#include "absl/base/attributes.h"
#include "arbiter/decision.h"
#include "src/snapshot/role_masks.h"
#include "src/snapshot/snapshot.h"

namespace arbiter {
namespace internal {

#if defined(__GNUC__)
#define ARBITER_ALWAYS_INLINE __attribute__((always_inline))
#else
#define ARBITER_ALWAYS_INLINE
#endif

// What the core decided, before it becomes a Decision: 16 bytes, returned in
// two registers, so that the Decision is written once, in place, instead of
// being assembled field by field in a temporary and copied whole (a
// store-forwarding stall on every Check). The deciding grant's id is
// id_length bytes at id_offset in grant_ids, or (kLongGrantId) read from the
// id table.
struct Verdict {
  Reason reason = Reason::kInternalError;
  GrantSource source = GrantSource::kNone;
  uint16_t id_length = 0;
  uint32_t grant = Decision::kNoGrant;
  uint32_t id_offset = 0;
  uint32_t unused = 0;
};
static_assert(sizeof(Verdict) == 16, "Verdict is returned in registers");

// A verdict with no grant.
inline Verdict MakeVerdict(Reason reason) {
  Verdict v;
  v.reason = reason;
  return v;
}

// How the core reached its verdict, for Explain. Check passes NoTrace, whose
// calls compile to nothing.
struct DecisionTrace {
  // The allow candidate of steps 7-9 (kInternalError: none, the core denied
  // before step 10), and the level of its deciding grant (-1: none).
  Reason candidate = Reason::kInternalError;
  int candidate_level = -1;
  // Step 10 replaced the candidate: a deny role subtracted the permission.
  bool subtracted = false;
  // The denial came from a deny role capping implied project access.
  bool capped = false;
  // Deny roles on the path that an exempt role held made inapplicable.
  bool exemption_applied = false;
};

struct NoTrace {
  void Candidate(Reason, int) {}
  void Subtracted() {}
  void Capped() {}
  void Exempted() {}
};

struct RecordTrace {
  DecisionTrace* t;
  void Candidate(Reason r, int level) {
    t->candidate = r;
    t->candidate_level = level;
  }
  void Subtracted() { t->subtracted = true; }
  void Capped() { t->capped = true; }
  void Exempted() { t->exemption_applied = true; }
};

// The masks of one decision, from the snapshot's uint64_t tables (at most 64
// roles).
class NarrowMasks {
 public:
  using Mask = uint64_t;
  NarrowMasks(const Snapshot& s, uint32_t k)
      : s_(s), m_(s.permission_masks[k]) {}
  Mask allow() const { return m_.allow; }
  Mask own() const { return m_.own; }
  Mask implied(int pub) const { return m_.implied[pub]; }
  Mask implied_own(int pub) const { return m_.implied_own[pub]; }
  Mask deny() const { return m_.deny; }
  Mask cap_blocks() const { return m_.cap_blocks; }
  bool member_has() const { return m_.member_has; }
  Mask deny_roles() const { return s_.deny_roles; }
  Mask bypass_roles() const { return s_.bypass_roles; }
  Mask implying_roles(int pub) const { return s_.implying_roles[pub]; }
  Mask exempt(uint32_t deny_role) const { return s_.exempt_roles[deny_role]; }

 private:
  const Snapshot& s_;
  const PermissionMasks& m_;
};

// The same from the wide tables, as RoleMask<W> (W at least the snapshot's
// width).
template <int W>
class WideMasks {
 public:
  using Mask = RoleMask<W>;
  WideMasks(const Snapshot& s, uint32_t k) : w_(*s.wide_masks), k_(k) {}
  Mask allow() const { return Field(WideRoleMasks::kAllow); }
  Mask own() const { return Field(WideRoleMasks::kOwn); }
  Mask implied(int pub) const {
    return Field(pub ? WideRoleMasks::kImplied1 : WideRoleMasks::kImplied0);
  }
  Mask implied_own(int pub) const {
    return Field(pub ? WideRoleMasks::kImpliedOwn1
                     : WideRoleMasks::kImpliedOwn0);
  }
  Mask deny() const { return Field(WideRoleMasks::kDeny); }
  Mask cap_blocks() const { return Field(WideRoleMasks::kCapBlocks); }
  bool member_has() const { return w_.member_has[k_] != 0; }
  Mask deny_roles() const { return Snap(0); }
  Mask bypass_roles() const { return Snap(1); }
  Mask implying_roles(int pub) const { return Snap(2 + pub); }
  Mask exempt(uint32_t deny_role) const {
    return LoadMask<W>(w_.exempt.data() + deny_role * w_.mask_words,
                       w_.mask_words);
  }

 private:
  Mask Field(WideRoleMasks::Field f) const {
    return LoadMask<W>(w_.Permission(k_, f), w_.mask_words);
  }
  Mask Snap(int i) const {
    return LoadMask<W>(w_.snapshot.data() + i * w_.mask_words, w_.mask_words);
  }
  const WideRoleMasks& w_;
  uint32_t k_;
};

// The most specific level (project, cloud, org) whose roles meet `mask`.
template <typename Mask>
ARBITER_ALWAYS_INLINE inline int MostSpecificLevel(const Mask (&at)[3],
                                                   const Mask& mask) {
  if (Any(at[kProjectLevel] & mask)) return kProjectLevel;
  if (Any(at[kCloudLevel] & mask)) return kCloudLevel;
  if (Any(at[kOrgLevel] & mask)) return kOrgLevel;
  return -1;
}

// The request the core decides, beyond the masks.
struct DecideRequest {
  int top;              // the permission's level
  bool public_project;  // the anchor is a public project
  // Whether the principal created the resource (a workload): asked only
  // when an own-workload permission could decide.
  const Snapshot* s;
  uint32_t principal;
  uint32_t resource;
  const Node* node;
};

inline bool IsCreator(const DecideRequest& q) {
  return q.node->kind == NodeKind::kWorkload &&
         q.s->node_creator[q.resource] == q.principal;
}

// Steps 7-10. at[level] holds the roles of the principal's live grants at
// path[level]; decide(reason, level, mask) returns the verdict for `reason`
// whose grant is the least (by subject rank, then grant id) at `level` with a
// role in `mask`, and is called only when at[level] & mask is not empty.
template <typename Masks, typename Decide, typename Trace>
ARBITER_ALWAYS_INLINE inline Verdict DecideOnMasks(
    const Masks& m, const DecideRequest& q, const typename Masks::Mask (&at)[3],
    Decide&& decide, Trace&& trace) {
  using Mask = typename Masks::Mask;
  const int top = q.top;
  const Mask deny_roles = m.deny_roles();
  const Mask all = at[0] | at[1] | at[2];
  const Mask held = all & ~deny_roles;
  Mask applicable = all & deny_roles;
  ForEachRole(applicable, [&](uint32_t role) {
    if (Any(m.exempt(role) & held)) {
      Clear(&applicable, role);
      trace.Exempted();
    }
  });

  // The candidate: a reason, and the level and role mask of its deciding
  // grant (level -1: no grant).
  Reason reason;
  int level = -1;
  Mask mask{};
  if (Any(at[kOrgLevel] & m.bypass_roles())) {
    reason = Reason::kOrgOwner, level = kOrgLevel, mask = m.bypass_roles();
  } else if (top == kOrgLevel) {
    if (Any(at[kOrgLevel] & m.allow())) {
      reason = Reason::kGrant, level = kOrgLevel, mask = m.allow();
    } else if (m.member_has()) {
      reason = Reason::kOrgMember;
    } else {
      return MakeVerdict(q.s->has_all_permissions_role
                             ? Reason::kNeedsOrgOwner
                             : Reason::kInsufficientRole);
    }
  } else if (!Any(at[kCloudLevel] & ~deny_roles)) {
    return MakeVerdict(Reason::kNoCloudGrant);
  } else if ((level = MostSpecificLevel(at, m.allow())) >= 0) {
    reason = Reason::kGrant, mask = m.allow();
  } else {
    const bool project_anchor = top == kProjectLevel;
    const int pub = q.public_project ? 1 : 0;
    const Mask implied = project_anchor ? m.implied(pub) : Mask{};
    const Mask implied_own = project_anchor ? m.implied_own(pub) : Mask{};
    const Mask caps = project_anchor ? applicable & m.cap_blocks() : Mask{};
    const Mask own_at_cloud = Any(caps) ? m.own() : m.own() | implied_own;
    if (Any(at[kCloudLevel] & implied) && !Any(caps)) {
      reason = pub ? Reason::kPublicProject : Reason::kCloudRoleInheritance;
      level = kCloudLevel, mask = implied;
    } else if (Any(at[kProjectLevel] & m.own()) && IsCreator(q)) {
      reason = Reason::kOwnWorkload, level = kProjectLevel, mask = m.own();
    } else if (Any(at[kCloudLevel] & own_at_cloud) && IsCreator(q)) {
      reason = Reason::kOwnWorkload, level = kCloudLevel, mask = own_at_cloud;
    } else if (Any(at[kOrgLevel] & m.own()) && IsCreator(q)) {
      reason = Reason::kOwnWorkload, level = kOrgLevel, mask = m.own();
    } else if (m.member_has()) {
      reason = Reason::kOrgMember;
    } else if (Any(caps) && Any(at[kCloudLevel] & (implied | implied_own))) {
      trace.Capped();
      return decide(Reason::kDenyRole, MostSpecificLevel(at, caps), caps);
    } else if (project_anchor && !Any(at[kProjectLevel] & ~deny_roles) &&
               !Any(at[kCloudLevel] & m.implying_roles(pub))) {
      return MakeVerdict(Reason::kNoProjectGrant);
    } else if (Any(held & m.own()) || Any(at[kCloudLevel] & implied_own)) {
      return MakeVerdict(Reason::kNotWorkloadCreator);
    } else {
      return MakeVerdict(Reason::kInsufficientRole);
    }
  }
  trace.Candidate(reason, level);

  // Step 10: deny roles subtract.
  if (const Mask deny = applicable & m.deny(); Any(deny)) {
    trace.Subtracted();
    level = MostSpecificLevel(at, deny);
    reason = Reason::kDenyRole, mask = deny;
  }
  if (level < 0) return MakeVerdict(reason);
  return decide(reason, level, mask);
}

}  // namespace internal
}  // namespace arbiter

#endif  // ARBITER_SRC_EVAL_DECIDE_H_
