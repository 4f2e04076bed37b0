#include "src/eval/evaluator.h"

#include <algorithm>

#include "absl/time/time.h"
#include "arbiter/clock.h"
#include "src/internal/time_util.h"
#include "arbiter/v1/principal.pb.h"

namespace arbiter {
namespace internal {
namespace {

// Subjects with few grants are scanned linearly (one or two cache lines);
// larger ones are binary-searched per scope, so a principal holding a
// million grants costs ~60 comparisons, not a million.
constexpr uint32_t kLinearScanLimit = 16;

// The clock is read lazily: most grants never expire, and most checks never
// touch one that does.
class LazyNow {
 public:
  LazyNow(const RequestContext& context, const Clock* clock)
      : context_(context), clock_(clock) {}

  bool Live(const GrantRec& g) {
    if (g.expires == kNever) return true;
    if (!have_) {
      now_ = ToUnixNanosSaturated(context_.now.has_value() ? *context_.now
                                                           : clock_->Now());
      have_ = true;
    }
    return now_ < g.expires;
  }

 private:
  const RequestContext& context_;
  const Clock* clock_;
  int64_t now_ = 0;
  bool have_ = false;
};

// Visits the grants of `subject` on the path, level by level up to `top`,
// each (subject, scope) range in id order. `visit(grant_index, level)`.
template <typename Visit>
inline void ForEachPathGrant(const CompiledState& s, uint32_t subject,
                             const uint32_t* path, int top, Visit&& visit) {
  const uint32_t begin = s.subject_grants_begin[subject];
  const uint32_t end = s.subject_grants_begin[subject + 1];
  if (end - begin <= kLinearScanLimit) {
    for (uint32_t i = begin; i < end; ++i) {
      const uint32_t scope = s.grants[i].scope;
      for (int level = 0; level <= top; ++level) {
        if (scope == path[level]) {
          visit(i, level);
          break;
        }
      }
    }
    return;
  }
  for (int level = 0; level <= top; ++level) {
    auto [b, e] = GrantRange(s, subject, path[level]);
    for (uint32_t i = b; i < e; ++i) visit(i, level);
  }
}

// The least of per-level candidates: project, then cloud, then org.
inline uint32_t MostSpecific(const uint32_t (&by_level)[3]) {
  if (by_level[kProjectLevel] != kNone) return by_level[kProjectLevel];
  if (by_level[kCloudLevel] != kNone) return by_level[kCloudLevel];
  return by_level[kOrgLevel];
}

Decision WithGrant(const CompiledState& s, Reason reason, uint32_t grant,
                   uint64_t revision) {
  Decision d = MakeDecision(reason, revision);
  d.grant_index = grant;
  d.grant_id = s.grant_ids.Get(s.grants[grant].id);
  d.source = static_cast<GrantSource>(s.grants[grant].source);
  return d;
}

}  // namespace

std::pair<uint32_t, uint32_t> GrantRange(const CompiledState& s,
                                         uint32_t subject, uint32_t scope) {
  const GrantRec* first = s.grants.data() + s.subject_grants_begin[subject];
  const GrantRec* last = s.grants.data() + s.subject_grants_begin[subject + 1];
  const GrantRec* lo = std::lower_bound(
      first, last, scope,
      [](const GrantRec& g, uint32_t value) { return g.scope < value; });
  const GrantRec* hi = lo;
  while (hi != last && hi->scope == scope) ++hi;
  return {static_cast<uint32_t>(lo - s.grants.data()),
          static_cast<uint32_t>(hi - s.grants.data())};
}

Decision Evaluate(const CompiledState& s, uint32_t p, uint32_t k, uint32_t r,
                  const RequestContext& context, uint64_t revision) noexcept {
  const PrincipalRec& principal = s.principals[p];
  const Node& node = s.nodes[r];
  const PermissionRec& perm = s.permissions[k];

  // Steps 2-6: identity and request shape.
  if (principal.org != node.path[kOrgLevel]) {
    return MakeDecision(Reason::kCrossOrg, revision);
  }
  if (principal.state == v1::PRINCIPAL_STATE_DELETED) {
    return MakeDecision(Reason::kPrincipalDeleted, revision);
  }
  if (principal.state == v1::PRINCIPAL_STATE_INVITED) {
    return MakeDecision(Reason::kPrincipalInvited, revision);
  }
  if (principal.kind == v1::PRINCIPAL_KIND_SERVICE_ACCOUNT &&
      context.channel == Channel::kConsole) {
    return MakeDecision(Reason::kServiceAccountConsole, revision);
  }
  const int top = perm.level;
  const uint32_t* path = node.path;
  if (path[top] == kNone) {
    return MakeDecision(Reason::kPermissionNotApplicable, revision);
  }
  const bool project_anchor = top == kProjectLevel;
  const uint8_t project_flags =
      project_anchor ? s.nodes[path[kProjectLevel]].flags : 0;
  if (project_anchor && perm.forbidden_on_default_project &&
      (project_flags & kDefaultProject)) {
    return MakeDecision(Reason::kProtectedResource, revision);
  }
  const bool is_public = (project_flags & kPublic) != 0;

  // Gather: one pass over the relevant grants of P and of its groups, in
  // subject order. The first grant seen per level is the least by
  // (subject rank, grant id) at that level.
  const Clock* clock = s.options.clock ? s.options.clock.get() : &Clock::System();
  LazyNow now(context, clock);
  uint32_t owner = kNone;
  uint32_t allow[3] = {kNone, kNone, kNone};
  uint32_t own[3] = {kNone, kNone, kNone};
  uint32_t implied = kNone;      // implied role lists k in permissions
  uint32_t implied_own = kNone;  // implied role lists k as own-workload
  bool cloud_member = false, project_member = false, implied_any = false;
  bool own_any = false, saw_deny = false;
  uint64_t held = 0;  // exempt bits of held roles

  auto gather = [&](uint32_t i, int level) {
    const GrantRec& g = s.grants[i];
    const RoleRec& role = s.roles[g.role];
    if (role.deny) {
      saw_deny = true;
      return;
    }
    if (!now.Live(g)) return;
    held |= role.exempt_bit;
    if (level == kOrgLevel && role.all_permissions && owner == kNone) owner = i;
    if (level == kCloudLevel) cloud_member = true;
    if (level == kProjectLevel) project_member = true;
    if (allow[level] == kNone && s.RoleHas(g.role, k)) allow[level] = i;
    if (s.RoleHasOwn(g.role, k)) {
      own_any = true;
      if (own[level] == kNone) own[level] = i;
    }
    if (level == kCloudLevel && project_anchor) {
      const uint16_t ir =
          is_public ? role.public_project_role : role.private_project_role;
      if (ir != kNoRole) {
        implied_any = true;
        if (implied == kNone && s.RoleHas(ir, k)) implied = i;
        if (implied_own == kNone && s.RoleHasOwn(ir, k)) implied_own = i;
      }
    }
  };
  ForEachPathGrant(s, p, path, top, gather);
  for (uint32_t gi = principal.groups_begin; gi < principal.groups_end; ++gi) {
    ForEachPathGrant(s, s.principal_groups[gi], path, top, gather);
  }

  // Step 10's applicable deny grants, needed for caps and subtraction. Only
  // computed when a deny grant is on the path.
  uint32_t deny[3] = {kNone, kNone, kNone};
  uint32_t cap[3] = {kNone, kNone, kNone};
  if (saw_deny) {
    auto deny_pass = [&](uint32_t i, int level) {
      const GrantRec& g = s.grants[i];
      const RoleRec& role = s.roles[g.role];
      if (!role.deny || !now.Live(g) || (role.exempt_mask & held) != 0) return;
      if (deny[level] == kNone && s.RoleHas(g.role, k)) deny[level] = i;
      if (project_anchor && role.cap_role != kNoRole && cap[level] == kNone &&
          !s.RoleHas(role.cap_role, k)) {
        cap[level] = i;
      }
    };
    ForEachPathGrant(s, p, path, top, deny_pass);
    for (uint32_t gi = principal.groups_begin; gi < principal.groups_end; ++gi) {
      ForEachPathGrant(s, s.principal_groups[gi], path, top, deny_pass);
    }
  }
  const bool member_has = s.member_role != kNoRole && s.RoleHas(s.member_role, k);

  // Steps 7-9: the allow candidate, or a denial.
  Decision candidate;
  if (owner != kNone) {
    candidate = WithGrant(s, Reason::kOrgOwner, owner, revision);
  } else if (top == kOrgLevel) {
    if (allow[kOrgLevel] != kNone) {
      candidate = WithGrant(s, Reason::kGrant, allow[kOrgLevel], revision);
    } else if (member_has) {
      candidate = MakeDecision(Reason::kOrgMember, revision);
    } else {
      return MakeDecision(s.has_all_permissions_role ? Reason::kNeedsOrgOwner
                                                     : Reason::kInsufficientRole,
                          revision);
    }
  } else {
    if (!cloud_member) return MakeDecision(Reason::kNoCloudGrant, revision);
    const uint32_t explicit_grant = MostSpecific(allow);
    const uint32_t cap_grant = MostSpecific(cap);
    // Own-workload grants at the cloud level: the cloud role's own list, or
    // its implied project role's while uncapped. Grant indices follow the
    // (subject rank, grant id) order within a level, so the least index is
    // the least grant.
    if (cap_grant == kNone) own[kCloudLevel] = std::min(own[kCloudLevel], implied_own);
    const uint32_t own_grant = MostSpecific(own);
    const bool creator = node.kind == NodeKind::kWorkload && node.creator == p;
    if (explicit_grant != kNone) {
      candidate = WithGrant(s, Reason::kGrant, explicit_grant, revision);
    } else if (implied != kNone && cap_grant == kNone) {
      candidate = WithGrant(
          s, is_public ? Reason::kPublicProject : Reason::kCloudRoleInheritance,
          implied, revision);
    } else if (creator && own_grant != kNone) {
      candidate = WithGrant(s, Reason::kOwnWorkload, own_grant, revision);
    } else if (member_has) {
      candidate = MakeDecision(Reason::kOrgMember, revision);
    } else if (cap_grant != kNone && (implied != kNone || implied_own != kNone)) {
      return WithGrant(s, Reason::kDenyRole, cap_grant, revision);
    } else if (project_anchor && !project_member && !implied_any) {
      return MakeDecision(Reason::kNoProjectGrant, revision);
    } else if (own_any || implied_own != kNone) {
      return MakeDecision(Reason::kNotWorkloadCreator, revision);
    } else {
      return MakeDecision(Reason::kInsufficientRole, revision);
    }
  }

  // Step 10: deny roles subtract.
  const uint32_t deny_grant = MostSpecific(deny);
  if (deny_grant != kNone) {
    return WithGrant(s, Reason::kDenyRole, deny_grant, revision);
  }
  return candidate;
}

}  // namespace internal
}  // namespace arbiter
