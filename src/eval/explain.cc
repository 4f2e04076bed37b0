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

}  // namespace

Explanation Engine::Explain(const AccessRequest& request) const {
  const Snapshot& s = *state_;
  Explanation e;
  internal::Resolved r = internal::ResolveRequest(s, request);
  if (!r.ok) {
    e.decision = internal::MakeDecision(r.failure, revision_);
    switch (r.failure) {
      case Reason::kUnknownPrincipal:
        e.steps.push_back(absl::StrCat("no principal has id or email \"",
                                       request.principal, "\""));
        break;
      case Reason::kAmbiguousPrincipal:
        e.steps.push_back(absl::StrCat("\"", request.principal,
                                       "\" is the email of principals in "
                                       "several organizations; name one"));
        break;
      case Reason::kUnknownPermission:
        e.steps.push_back(absl::StrCat("no permission is named \"",
                                       request.permission, "\""));
        break;
      case Reason::kUnknownOrg:
        e.steps.push_back(absl::StrCat("no organization has id or name \"",
                                       request.org, "\" (or two share it)"));
        break;
      default:
        e.steps.push_back(absl::StrCat("no resource has id or path \"",
                                       request.resource, "\""));
        break;
    }
    return e;
  }
  // The decision comes from the decision core itself, with a trace of how
  // it got there: what follows describes, it does not decide again.
  internal::DecisionTrace trace;
  e.decision =
      internal::EvaluateTraced(s, r.principal, r.permission, r.resource,
                               request.context, revision_, &trace);

  const internal::PrincipalRec& p = s.Principal(r.principal);
  const internal::Node& node = s.nodes[r.resource];
  const internal::PermissionRec& perm = s.permissions[r.permission];
  const int top = perm.level;
  e.principal_id = std::string(s.principal_ids.Get(r.principal));
  e.permission = std::string(s.permission_names.Get(r.permission));
  e.resource_id = std::string(s.node_ids.Get(r.resource));
  const bool applicable = node.path[top] != kNone;
  if (applicable) e.anchor_id = std::string(s.node_ids.Get(node.path[top]));

  static constexpr const char* kStates[] = {"active", "active", "invited",
                                            "deleted"};
  e.steps.push_back(absl::StrCat(
      p.kind == v1::PRINCIPAL_KIND_SERVICE_ACCOUNT ? "service account "
                                                   : "user ",
      e.principal_id, " <", s.principal_emails.Get(r.principal), ">, ",
      kStates[p.state & 3], ", member of ", NodeLabel(s, p.org)));
  e.steps.push_back(absl::StrCat(
      "permission ", e.permission, " is a ", LevelName(top),
      " permission, evaluated on ",
      applicable ? NodeLabel(s, node.path[top]) : "(nothing: not applicable)",
      applicable && node.path[top] == r.resource
          ? std::string()
          : absl::StrCat(" for ", NodeLabel(s, r.resource))));
  if (top == internal::kProjectLevel && applicable) {
    const uint8_t flags = s.nodes[node.path[top]].flags;
    e.steps.push_back(absl::StrCat(
        "the project is ", (flags & internal::kPublic) ? "public" : "private",
        (flags & internal::kDefaultProject) ? " (its cloud's default project)"
                                            : ""));
  }

  std::vector<uint32_t> groups = AllGroups(s, r.principal);
  for (uint32_t g : groups) {
    e.groups.push_back(std::string(s.group_ids.Get(g - s.principals.size())));
  }
  if (!groups.empty()) {
    e.steps.push_back(
        absl::StrCat("groups (transitively): ", absl::StrJoin(e.groups, ", ")));
  }

  // The grants on the path, with what each contributes.
  const int64_t now = internal::ToUnixNanosSaturated(
      request.context.now.has_value()
          ? *request.context.now
          : (s.options.clock ? s.options.clock->Now() : Clock::System().Now()));
  std::vector<uint32_t> subjects{r.principal};
  subjects.insert(subjects.end(), groups.begin(), groups.end());
  uint64_t held = 0;
  std::vector<uint32_t> relevant;
  if (applicable) {
    for (uint32_t subject : subjects) {
      for (int level = 0; level <= top; ++level) {
        auto [b, en] = internal::GrantRange(s, subject, node.path[level]);
        for (uint32_t i = b; i < en; ++i) {
          relevant.push_back(i);
          const internal::GrantRec& g = s.grants[i];
          if (!s.roles[g.role].deny && s.GrantExpires(i) > now) {
            held |= s.roles[g.role].exempt_bit;
          }
        }
      }
    }
  }
  const bool is_public =
      applicable && top == internal::kProjectLevel &&
      (s.nodes[node.path[top]].flags & internal::kPublic) != 0;
  // "grant g1 (project_write on project prj_1, via group grp_1)".
  auto grant_label = [&](uint32_t i) {
    GrantInfo info = grant(i);
    return absl::StrCat("grant ", info.id, " (", info.role, " on ",
                        LevelName(info.scope_type - v1::SCOPE_TYPE_ORG), " ",
                        info.scope_id, ", ",
                        info.subject_is_group ? "via group " : "to ",
                        info.subject_id, ")");
  };
  // Expired grants that, live, would have changed the decision: allow
  // grants against an RBAC denial, deny grants against an allow.
  const Reason reason = e.decision.reason;
  const bool rbac_denial = reason == Reason::kNeedsOrgOwner ||
                           reason == Reason::kNoCloudGrant ||
                           reason == Reason::kNoProjectGrant ||
                           reason == Reason::kNotWorkloadCreator ||
                           reason == Reason::kInsufficientRole;
  const bool own_workload = node.kind == internal::NodeKind::kWorkload &&
                            r.resource < s.node_creator.size() &&
                            s.node_creator[r.resource] == r.principal;
  std::vector<std::string> expired_steps;
  for (uint32_t i : relevant) {
    const internal::GrantRec& g = s.grants[i];
    const internal::RoleRec& role = s.roles[g.role];
    GrantInfo info = grant(i);
    ConsideredGrant c;
    c.grant_id = std::string(info.id);
    c.subject_id = std::string(info.subject_id);
    c.via_group = info.subject_is_group;
    c.role = std::string(info.role);
    c.scope_id = std::string(info.scope_id);
    c.scope_type = LevelName(g.level);
    c.deny_role = role.deny;
    const int64_t expires = s.GrantExpires(i);
    c.live = expires > now;
    if (expires != internal::kNever)
      c.expires_at = absl::FromUnixNanos(expires);
    c.matches_permission = s.RoleHas(g.role, r.permission) ||
                           (!role.deny && s.RoleHasOwn(g.role, r.permission));
    std::vector<std::string> notes;
    if (i == e.decision.grant_index) notes.push_back("decided");
    if (!c.live) {
      notes.push_back(absl::StrCat(
          "expired at ",
          absl::FormatTime("%Y-%m-%dT%H:%M:%E*SZ", absl::FromUnixNanos(expires),
                           absl::UTCTimeZone())));
    }
    if (role.deny && (role.exempt_mask & held) != 0) {
      notes.push_back("exempt: an exempt role is held");
    }
    if (!role.deny && s.RoleHasOwn(g.role, r.permission)) {
      notes.push_back("only on workloads the principal created");
    }
    if (!role.deny && g.level == internal::kCloudLevel &&
        top == internal::kProjectLevel) {
      uint16_t ir =
          is_public ? role.public_project_role : role.private_project_role;
      if (ir != kNoRole) {
        notes.push_back(absl::StrCat("implies ", s.role_names.Get(ir), " on ",
                                     is_public ? "public" : "private",
                                     " projects"));
      }
    }
    if (role.deny && role.cap_role != kNoRole &&
        top == internal::kProjectLevel) {
      notes.push_back(absl::StrCat("caps implied project roles at ",
                                   s.role_names.Get(role.cap_role)));
    }
    if (!c.live) {
      std::vector<std::string> would;
      if (role.deny) {
        if (e.decision.allowed() && s.RoleHas(g.role, r.permission) &&
            (role.exempt_mask & held) == 0) {
          would.push_back("subtract the permission");
        }
      } else if (rbac_denial) {
        if (role.all_permissions && g.level == internal::kOrgLevel) {
          would.push_back("make the principal an org owner");
        } else if (s.RoleHas(g.role, r.permission)) {
          would.push_back("hold the permission");
        } else if (own_workload && s.RoleHasOwn(g.role, r.permission)) {
          would.push_back(
              "allow it on this workload, which the principal "
              "created");
        }
        if (g.level == internal::kCloudLevel) {
          if (reason == Reason::kNoCloudGrant) {
            would.push_back("meet the cloud prerequisite");
          }
          const uint16_t ir = top != internal::kProjectLevel ? kNoRole
                              : is_public ? role.public_project_role
                                          : role.private_project_role;
          if (ir != kNoRole && s.RoleHas(ir, r.permission)) {
            would.push_back(absl::StrCat("imply ", s.role_names.Get(ir),
                                         " on this project, which holds "
                                         "the permission"));
          }
        }
      }
      if (!would.empty()) {
        c.expired_would_apply = true;
        expired_steps.push_back(absl::StrCat(
            grant_label(i), " expired at ",
            absl::FormatTime("%Y-%m-%dT%H:%M:%E*SZ",
                             absl::FromUnixNanos(expires), absl::UTCTimeZone()),
            "; live, it would ", absl::StrJoin(would, " and ")));
      }
    }
    c.note = absl::StrJoin(notes, "; ");
    e.grants.push_back(std::move(c));
  }
  for (std::string& step : expired_steps) e.steps.push_back(std::move(step));
  if (applicable && relevant.empty()) {
    e.steps.push_back("no grant of the principal or its groups is on the path");
  }

  const Decision& d = e.decision;
  std::string deciding;
  if (d.grant_index != Decision::kNoGrant)
    deciding = grant_label(d.grant_index);
  std::string verdict;
  switch (d.reason) {
    case Reason::kOrgOwner:
      verdict = absl::StrCat(deciding,
                             " makes the principal an org owner: implicit "
                             "owner of every cloud and project");
      break;
    case Reason::kGrant:
      verdict = absl::StrCat(deciding, " holds the permission");
      break;
    case Reason::kPublicProject:
      verdict =
          absl::StrCat("the project is public and ", deciding,
                       " implies a project role that holds the permission");
      break;
    case Reason::kCloudRoleInheritance:
      verdict = absl::StrCat(deciding,
                             " implies a project role on the cloud's private "
                             "projects that holds the permission");
      break;
    case Reason::kOrgMember:
      verdict = "every active member of the organization holds this permission";
      break;
    case Reason::kOwnWorkload:
      verdict = absl::StrCat("the principal created this workload and ",
                             deciding, " allows it on own workloads");
      break;
    case Reason::kCrossOrg:
      verdict = "the resource belongs to another organization";
      break;
    case Reason::kPrincipalDeleted:
      verdict = "the principal was removed from the organization";
      break;
    case Reason::kPrincipalInvited:
      verdict = "the principal's invitation is still pending";
      break;
    case Reason::kServiceAccountConsole:
      verdict = "service accounts cannot use the console";
      break;
    case Reason::kPermissionNotApplicable:
      verdict =
          absl::StrCat("a ", LevelName(top), " permission does not apply to a ",
                       KindName(node.kind));
      break;
    case Reason::kProtectedResource:
      verdict = "this permission is never allowed on a cloud's default project";
      break;
    case Reason::kNeedsOrgOwner:
      verdict = "only organization owners hold this permission";
      break;
    case Reason::kNoCloudGrant:
      verdict = absl::StrCat("missing prerequisite: no live grant on ",
                             NodeLabel(s, node.path[internal::kCloudLevel]),
                             "; cloud and project permissions need one");
      break;
    case Reason::kNoProjectGrant:
      verdict =
          "the project is private and the principal has no grant on it (cloud "
          "grants reach public projects only)";
      break;
    case Reason::kNotWorkloadCreator:
      verdict =
          "the principal's role allows this only on workloads it created, and "
          "it did not create this one";
      break;
    case Reason::kInsufficientRole:
      verdict = "no role held on the path includes the permission";
      break;
    case Reason::kDenyRole: {
      // The core either subtracted the permission from an allow candidate
      // (step 10) or denied because a deny role caps the implied project
      // role that would have granted it.
      if (trace.capped) {
        const internal::GrantRec& g = s.grants[d.grant_index];
        verdict = absl::StrCat("deny role: ", deciding,
                               " caps implied project roles at ",
                               s.role_names.Get(s.roles[g.role].cap_role),
                               ", which lacks the permission");
      } else {
        verdict =
            absl::StrCat("deny role: ", deciding, " subtracts the permission",
                         trace.candidate != Reason::kInternalError
                             ? absl::StrCat(" (without it: ALLOW ",
                                            ReasonName(trace.candidate), ")")
                             : std::string());
      }
      break;
    }
    default:
      verdict = absl::StrCat("denied: ", ReasonName(d.reason));
      break;
  }
  e.steps.push_back(absl::StrCat(d.allowed() ? "ALLOW: " : "DENY: ", verdict));
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
