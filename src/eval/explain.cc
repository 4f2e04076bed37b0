// Engine::Explain: the decision of Check plus a description of everything
// that was considered. The decision comes from the same Evaluate call as
// Check; the rest only describes.

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "arbiter/clock.h"
#include "arbiter/engine.h"
#include "arbiter/v1/principal.pb.h"
#include "src/eval/evaluator.h"
#include "src/internal/time_util.h"
#include "src/snapshot/lookup.h"
#include "src/snapshot/snapshot.h"

namespace arbiter {
namespace {

using internal::kNone;
using internal::kNoRole;
using internal::Snapshot;

const char* LevelName(int level) {
  return level == internal::kOrgLevel     ? "org"
         : level == internal::kCloudLevel ? "cloud"
                                          : "project";
}

const char* KindName(internal::NodeKind kind) {
  switch (kind) {
    case internal::NodeKind::kOrg:
      return "organization";
    case internal::NodeKind::kCloud:
      return "cloud";
    case internal::NodeKind::kProject:
      return "project";
    case internal::NodeKind::kWorkload:
      return "workload";
    case internal::NodeKind::kComputeConfig:
      return "compute config";
    case internal::NodeKind::kImage:
      return "image";
  }
  return "resource";
}

std::string NodeLabel(const Snapshot& s, uint32_t node) {
  std::string label =
      absl::StrCat(KindName(s.nodes[node].kind), " ", s.node_ids.Get(node));
  absl::string_view name = s.node_names.Get(node);
  if (!name.empty()) absl::StrAppend(&label, " (", name, ")");
  return label;
}

// Every group containing `principal`, transitively, in id order.
std::vector<uint32_t> AllGroups(const Snapshot& s, uint32_t principal) {
  std::vector<uint32_t> out, stack{principal};
  std::vector<bool> seen(s.num_subjects(), false);
  while (!stack.empty()) {
    uint32_t x = stack.back();
    stack.pop_back();
    for (uint32_t i = s.parents_begin[x]; i < s.parents_begin[x + 1]; ++i) {
      uint32_t g = s.principals.size() + s.parents[i];
      if (seen[g]) continue;
      seen[g] = true;
      out.push_back(g);
      stack.push_back(g);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The one step of a request that names something unknown.
std::string UnresolvedStep(const AccessRequest& request, Reason failure) {
  switch (failure) {
    case Reason::kUnknownPrincipal:
      return absl::StrCat("no principal has id or email \"", request.principal,
                          "\"");
    case Reason::kAmbiguousPrincipal:
      return absl::StrCat("\"", request.principal,
                          "\" is the email of principals in "
                          "several organizations; name one");
    case Reason::kUnknownPermission:
      return absl::StrCat("no permission is named \"", request.permission,
                          "\"");
    case Reason::kUnknownOrg:
      return absl::StrCat("no organization has id or name \"", request.org,
                          "\" (or two share it)");
    default:
      return absl::StrCat("no resource has id or path \"", request.resource,
                          "\"");
  }
}

// Where a resolved request's permission is evaluated.
struct Target {
  const internal::Node& node;  // the resource
  int top;                     // the permission's level
  bool applicable;             // the resource has an ancestor at `top`
  bool is_public;              // ... and it is a public project
};

Target TargetOf(const Snapshot& s, const internal::Resolved& r) {
  const internal::Node& node = s.nodes[r.resource];
  const int top = s.permissions[r.permission].level;
  const bool applicable = node.path[top] != kNone;
  const bool is_public =
      applicable && top == internal::kProjectLevel &&
      (s.nodes[node.path[top]].flags & internal::kPublic) != 0;
  return Target{node, top, applicable, is_public};
}

// The resolved ids of `e` and the steps naming the principal, the
// permission and the resource it is evaluated on.
void DescribeRequest(const Snapshot& s, const internal::Resolved& r,
                     const Target& at, Explanation* e) {
  const internal::PrincipalRec& p = s.Principal(r.principal);
  const internal::Node& node = at.node;
  const int top = at.top;
  e->principal_id = std::string(s.principal_ids.Get(r.principal));
  e->permission = std::string(s.permission_names.Get(r.permission));
  e->resource_id = std::string(s.node_ids.Get(r.resource));
  if (at.applicable) {
    e->anchor_id = std::string(s.node_ids.Get(node.path[top]));
  }

  static constexpr const char* kStates[] = {"active", "active", "invited",
                                            "deleted"};
  e->steps.push_back(absl::StrCat(
      p.kind == v1::PRINCIPAL_KIND_SERVICE_ACCOUNT ? "service account "
                                                   : "user ",
      e->principal_id, " <", s.principal_emails.Get(r.principal), ">, ",
      kStates[p.state & 3], ", member of ", NodeLabel(s, p.org)));
  e->steps.push_back(
      absl::StrCat("permission ", e->permission, " is a ", LevelName(top),
                   " permission, evaluated on ",
                   at.applicable ? NodeLabel(s, node.path[top])
                                 : "(nothing: not applicable)",
                   at.applicable && node.path[top] == r.resource
                       ? std::string()
                       : absl::StrCat(" for ", NodeLabel(s, r.resource))));
  if (top == internal::kProjectLevel && at.applicable) {
    const uint8_t flags = s.nodes[node.path[top]].flags;
    e->steps.push_back(absl::StrCat(
        "the project is ", (flags & internal::kPublic) ? "public" : "private",
        (flags & internal::kDefaultProject) ? " (its cloud's default project)"
                                            : ""));
  }
}

// The principal's groups, transitively, as subjects in id order; their ids
// go to e->groups, with a step if there are any.
std::vector<uint32_t> DescribeGroups(const Snapshot& s, uint32_t principal,
                                     Explanation* e) {
  std::vector<uint32_t> groups = AllGroups(s, principal);
  for (uint32_t g : groups) {
    e->groups.push_back(std::string(s.group_ids.Get(g - s.principals.size())));
  }
  if (!groups.empty()) {
    e->steps.push_back(absl::StrCat("groups (transitively): ",
                                    absl::StrJoin(e->groups, ", ")));
  }
  return groups;
}

// The time grants are judged at: the request's, else the engine's clock.
int64_t RequestNow(const Snapshot& s, const AccessRequest& request) {
  return internal::ToUnixNanosSaturated(
      request.context.now.has_value()
          ? *request.context.now
          : (s.options.clock ? s.options.clock->Now() : Clock::System().Now()));
}

// The grant slots of the principal and its groups on the path to the
// permission's level, by subject then level; *held gets the exempt bits of
// the live allow grants among them.
std::vector<uint32_t> GrantsOnPath(const Snapshot& s, uint32_t principal,
                                   const std::vector<uint32_t>& groups,
                                   const Target& at, int64_t now,
                                   uint64_t* held) {
  std::vector<uint32_t> relevant;
  if (!at.applicable) return relevant;
  std::vector<uint32_t> subjects{principal};
  subjects.insert(subjects.end(), groups.begin(), groups.end());
  for (uint32_t subject : subjects) {
    for (int level = 0; level <= at.top; ++level) {
      auto [b, en] = internal::GrantRange(s, subject, at.node.path[level]);
      for (uint32_t i = b; i < en; ++i) {
        relevant.push_back(i);
        const internal::GrantRec& g = s.grants[i];
        if (!s.roles[g.role].deny && s.GrantExpires(i) > now) {
          *held |= s.roles[g.role].exempt_bit;
        }
      }
    }
  }
  return relevant;
}

// "grant g1 (project_write on project prj_1, via group grp_1)".
std::string GrantLabel(const Engine& engine, uint32_t i) {
  GrantInfo info = engine.grant(i);
  return absl::StrCat(
      "grant ", info.id, " (", info.role, " on ",
      LevelName(info.scope_type - v1::SCOPE_TYPE_ORG), " ", info.scope_id, ", ",
      info.subject_is_group ? "via group " : "to ", info.subject_id, ")");
}

std::string FormatExpiry(int64_t expires) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E*SZ", absl::FromUnixNanos(expires),
                          absl::UTCTimeZone());
}

// What the passes over the considered grants share.
struct GrantScan {
  const Engine& engine;
  const Snapshot& s;
  const internal::Resolved& r;
  const Target& at;
  const Decision& decision;
  int64_t now;
  uint64_t held;      // exempt bits of the live allow grants on the path
  bool rbac_denial;   // the decision is a denial for want of a role
  bool own_workload;  // the resource is a workload the principal created
};

// One grant on the path: what it is, and notes on what it contributes.
ConsideredGrant ConsiderGrant(const GrantScan& scan, uint32_t i) {
  const Snapshot& s = scan.s;
  const uint32_t permission = scan.r.permission;
  const int top = scan.at.top;
  const internal::GrantRec& g = s.grants[i];
  const internal::RoleRec& role = s.roles[g.role];
  GrantInfo info = scan.engine.grant(i);
  ConsideredGrant c;
  c.grant_id = std::string(info.id);
  c.subject_id = std::string(info.subject_id);
  c.via_group = info.subject_is_group;
  c.role = std::string(info.role);
  c.scope_id = std::string(info.scope_id);
  c.scope_type = LevelName(g.level);
  c.deny_role = role.deny;
  const int64_t expires = s.GrantExpires(i);
  c.live = expires > scan.now;
  if (expires != internal::kNever) c.expires_at = absl::FromUnixNanos(expires);
  c.matches_permission = s.RoleHas(g.role, permission) ||
                         (!role.deny && s.RoleHasOwn(g.role, permission));
  std::vector<std::string> notes;
  if (i == scan.decision.grant_index) notes.push_back("decided");
  if (!c.live)
    notes.push_back(absl::StrCat("expired at ", FormatExpiry(expires)));
  if (role.deny && (role.exempt_mask & scan.held) != 0) {
    notes.push_back("exempt: an exempt role is held");
  }
  if (!role.deny && s.RoleHasOwn(g.role, permission)) {
    notes.push_back("only on workloads the principal created");
  }
  if (!role.deny && g.level == internal::kCloudLevel &&
      top == internal::kProjectLevel) {
    uint16_t ir = scan.at.is_public ? role.public_project_role
                                    : role.private_project_role;
    if (ir != kNoRole) {
      notes.push_back(absl::StrCat("implies ", s.role_names.Get(ir), " on ",
                                   scan.at.is_public ? "public" : "private",
                                   " projects"));
    }
  }
  if (role.deny && role.cap_role != kNoRole && top == internal::kProjectLevel) {
    notes.push_back(absl::StrCat("caps implied project roles at ",
                                 s.role_names.Get(role.cap_role)));
  }
  c.note = absl::StrJoin(notes, "; ");
  return c;
}

// The step for an expired grant that, live, would have changed the decision:
// an allow grant against an RBAC denial, a deny grant against an allow.
// Empty if it would not have.
std::string ExpiredGrantStep(const GrantScan& scan, uint32_t i) {
  const Snapshot& s = scan.s;
  const uint32_t permission = scan.r.permission;
  const internal::GrantRec& g = s.grants[i];
  const internal::RoleRec& role = s.roles[g.role];
  std::vector<std::string> would;
  if (role.deny) {
    if (scan.decision.allowed() && s.RoleHas(g.role, permission) &&
        (role.exempt_mask & scan.held) == 0) {
      would.push_back("subtract the permission");
    }
  } else if (scan.rbac_denial) {
    if (role.all_permissions && g.level == internal::kOrgLevel) {
      would.push_back("make the principal an org owner");
    } else if (s.RoleHas(g.role, permission)) {
      would.push_back("hold the permission");
    } else if (scan.own_workload && s.RoleHasOwn(g.role, permission)) {
      would.push_back(
          "allow it on this workload, which the principal "
          "created");
    }
    if (g.level == internal::kCloudLevel) {
      if (scan.decision.reason == Reason::kNoCloudGrant) {
        would.push_back("meet the cloud prerequisite");
      }
      const uint16_t ir = scan.at.top != internal::kProjectLevel ? kNoRole
                          : scan.at.is_public ? role.public_project_role
                                              : role.private_project_role;
      if (ir != kNoRole && s.RoleHas(ir, permission)) {
        would.push_back(absl::StrCat("imply ", s.role_names.Get(ir),
                                     " on this project, which holds "
                                     "the permission"));
      }
    }
  }
  if (would.empty()) return std::string();
  return absl::StrCat(GrantLabel(scan.engine, i), " expired at ",
                      FormatExpiry(s.GrantExpires(i)), "; live, it would ",
                      absl::StrJoin(would, " and "));
}

// The grants on the path, with what each contributes (e->grants), then the
// steps of expired grants that would have changed the decision.
void DescribeGrants(const Engine& engine, const Snapshot& s,
                    const internal::Resolved& r, const Target& at,
                    const std::vector<uint32_t>& groups, int64_t now,
                    Explanation* e) {
  uint64_t held = 0;
  const std::vector<uint32_t> relevant =
      GrantsOnPath(s, r.principal, groups, at, now, &held);
  const Reason reason = e->decision.reason;
  const GrantScan scan{
      engine,
      s,
      r,
      at,
      e->decision,
      now,
      held,
      /*rbac_denial=*/reason == Reason::kNeedsOrgOwner ||
          reason == Reason::kNoCloudGrant ||
          reason == Reason::kNoProjectGrant ||
          reason == Reason::kNotWorkloadCreator ||
          reason == Reason::kInsufficientRole,
      /*own_workload=*/at.node.kind == internal::NodeKind::kWorkload &&
          r.resource < s.node_creator.size() &&
          s.node_creator[r.resource] == r.principal};
  std::vector<std::string> expired_steps;
  for (uint32_t i : relevant) {
    ConsideredGrant c = ConsiderGrant(scan, i);
    if (!c.live) {
      std::string step = ExpiredGrantStep(scan, i);
      if (!step.empty()) {
        c.expired_would_apply = true;
        expired_steps.push_back(std::move(step));
      }
    }
    e->grants.push_back(std::move(c));
  }
  for (std::string& step : expired_steps) e->steps.push_back(std::move(step));
  if (at.applicable && relevant.empty()) {
    e->steps.push_back(
        "no grant of the principal or its groups is on the path");
  }
}

// Why a deny role denied: it capped the implied project role, or it
// subtracted the permission from an allow candidate (step 10).
std::string DenyRoleVerdict(const Snapshot& s, const Decision& d,
                            const internal::DecisionTrace& trace,
                            const std::string& deciding) {
  if (trace.capped) {
    const internal::GrantRec& g = s.grants[d.grant_index];
    return absl::StrCat("deny role: ", deciding,
                        " caps implied project roles at ",
                        s.role_names.Get(s.roles[g.role].cap_role),
                        ", which lacks the permission");
  }
  return absl::StrCat("deny role: ", deciding, " subtracts the permission",
                      trace.candidate != Reason::kInternalError
                          ? absl::StrCat(" (without it: ALLOW ",
                                         ReasonName(trace.candidate), ")")
                          : std::string());
}

// The reason of the decision in words (after "ALLOW: " or "DENY: ").
std::string Verdict(const Engine& engine, const Snapshot& s, const Target& at,
                    const Decision& d, const internal::DecisionTrace& trace) {
  std::string deciding;
  if (d.grant_index != Decision::kNoGrant) {
    deciding = GrantLabel(engine, d.grant_index);
  }
  switch (d.reason) {
    case Reason::kOrgOwner:
      return absl::StrCat(deciding,
                          " makes the principal an org owner: implicit "
                          "owner of every cloud and project");
    case Reason::kGrant:
      return absl::StrCat(deciding, " holds the permission");
    case Reason::kPublicProject:
      return absl::StrCat("the project is public and ", deciding,
                          " implies a project role that holds the permission");
    case Reason::kCloudRoleInheritance:
      return absl::StrCat(deciding,
                          " implies a project role on the cloud's private "
                          "projects that holds the permission");
    case Reason::kOrgMember:
      return "every active member of the organization holds this permission";
    case Reason::kOwnWorkload:
      return absl::StrCat("the principal created this workload and ", deciding,
                          " allows it on own workloads");
    case Reason::kCrossOrg:
      return "the resource belongs to another organization";
    case Reason::kPrincipalDeleted:
      return "the principal was removed from the organization";
    case Reason::kPrincipalInvited:
      return "the principal's invitation is still pending";
    case Reason::kServiceAccountConsole:
      return "service accounts cannot use the console";
    case Reason::kPermissionNotApplicable:
      return absl::StrCat("a ", LevelName(at.top),
                          " permission does not apply to a ",
                          KindName(at.node.kind));
    case Reason::kProtectedResource:
      return "this permission is never allowed on a cloud's default project";
    case Reason::kNeedsOrgOwner:
      return "only organization owners hold this permission";
    case Reason::kNoCloudGrant:
      return absl::StrCat("missing prerequisite: no live grant on ",
                          NodeLabel(s, at.node.path[internal::kCloudLevel]),
                          "; cloud and project permissions need one");
    case Reason::kNoProjectGrant:
      return "the project is private and the principal has no grant on it "
             "(cloud grants reach public projects only)";
    case Reason::kNotWorkloadCreator:
      return "the principal's role allows this only on workloads it created, "
             "and it did not create this one";
    case Reason::kInsufficientRole:
      return "no role held on the path includes the permission";
    case Reason::kDenyRole:
      return DenyRoleVerdict(s, d, trace, deciding);
    default:
      return absl::StrCat("denied: ", ReasonName(d.reason));
  }
}

}  // namespace

Explanation Engine::Explain(const AccessRequest& request) const {
  const Snapshot& s = *state_;
  Explanation e;
  internal::Resolved r = internal::ResolveRequest(s, request);
  if (!r.ok) {
    e.decision = internal::MakeDecision(r.failure, revision_);
    e.steps.push_back(UnresolvedStep(request, r.failure));
    return e;
  }
  // The decision comes from the decision core itself, with a trace of how
  // it got there: what follows describes, it does not decide again.
  internal::DecisionTrace trace;
  e.decision =
      internal::EvaluateTraced(s, r.principal, r.permission, r.resource,
                               request.context, revision_, &trace);

  const Target at = TargetOf(s, r);
  DescribeRequest(s, r, at, &e);
  const std::vector<uint32_t> groups = DescribeGroups(s, r.principal, &e);
  DescribeGrants(*this, s, r, at, groups, RequestNow(s, request), &e);
  e.steps.push_back(absl::StrCat(e.decision.allowed() ? "ALLOW: " : "DENY: ",
                                 Verdict(*this, s, at, e.decision, trace)));
  return e;
}

std::string Explanation::ToString() const {
  std::string out = absl::StrCat(decision.allowed() ? "ALLOW" : "DENY", " ",
                                 ReasonName(decision.reason));
  if (!decision.grant_id.empty())
    absl::StrAppend(&out, " (grant ", decision.grant_id, ")");
  absl::StrAppend(&out, "  revision ", decision.revision, "\n");
  for (const std::string& step : steps)
    absl::StrAppend(&out, "  - ", step, "\n");
  if (!grants.empty()) {
    absl::StrAppend(&out, "  grants considered:\n");
    for (const ConsideredGrant& g : grants) {
      absl::StrAppend(
          &out, "    ", g.deny_role ? "[deny]  " : "[allow] ", g.grant_id, ": ",
          g.role, " on ", g.scope_type, " ", g.scope_id,
          g.via_group ? " via group " : " to ", g.subject_id,
          g.matches_permission ? " (holds the permission)" : "",
          g.note.empty() ? "" : absl::StrCat(" [", g.note, "]"), "\n");
    }
  }
  return out;
}

}  // namespace arbiter
