// The reference evaluator: docs/semantics.md, step by step, over the proto.
//
// Every function below is a literal transcription of one term or step of
// docs/semantics.md; the step numbers in comments refer to that document.
// Lookups are linear scans over the PolicySet and the profile on purpose.

#include "tests/reference/reference_evaluator.h"

#include <algorithm>
#include <functional>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace arbiter {
namespace testing {
namespace {

// ---------------------------------------------------------------- lookups

template <typename Container>
bool Contains(const Container& c, absl::string_view value) {
  for (const auto& v : c) {
    if (v == value) return true;
  }
  return false;
}

const v1::Permission* FindPermission(const v1::Profile& profile,
                                     absl::string_view name) {
  for (const v1::Permission& p : profile.permissions()) {
    if (p.name() == name) return &p;
  }
  return nullptr;
}

const v1::Role* FindRole(const v1::Profile& profile, absl::string_view name) {
  for (const v1::Role& r : profile.roles()) {
    if (r.name() == name) return &r;
  }
  return nullptr;
}

bool IsDenyRole(const v1::Role& role) {
  return role.effect() == v1::ROLE_EFFECT_DENY;
}

// An allow role holds a permission when it lists it or holds everything.
bool RoleHolds(const v1::Role& role, absl::string_view permission) {
  return role.all_permissions() || Contains(role.permissions(), permission);
}

const v1::Principal* PrincipalById(const v1::PolicySet& s,
                                   absl::string_view id) {
  for (const v1::Principal& p : s.principals()) {
    if (p.id() == id) return &p;
  }
  return nullptr;
}

// `ref` names organization `org_id` by id or by name.
const v1::Project* ProjectById(const v1::PolicySet& s, absl::string_view id) {
  for (const v1::Project& p : s.projects()) {
    if (p.id() == id) return &p;
  }
  return nullptr;
}

const v1::Project* DefaultProjectOf(const v1::PolicySet& s,
                                    absl::string_view cloud_id) {
  for (const v1::Project& p : s.projects()) {
    if (p.cloud_id() == cloud_id && p.is_default()) return &p;
  }
  return nullptr;
}

const v1::Cloud* CloudById(const v1::PolicySet& s, absl::string_view id) {
  for (const v1::Cloud& c : s.clouds()) {
    if (c.id() == id) return &c;
  }
  return nullptr;
}

// A workload without project_id belongs to its cloud's default project.
std::string ProjectIdOfWorkload(const v1::PolicySet& s, const v1::Workload& w) {
  if (!w.project_id().empty()) return w.project_id();
  const v1::Project* p = DefaultProjectOf(s, w.cloud_id());
  return p == nullptr ? std::string() : p->id();
}

// A resolved resource with its ancestors; an ancestor is empty when the
// resource has none at that level.
struct Resource {
  std::string id;
  std::string org_id;
  std::string cloud_id;
  std::string project_id;
  bool is_workload = false;
  std::string workload_creator_id;
};

Resource CloudResource(const v1::Cloud& c) {
  Resource r;
  r.id = c.id();
  r.org_id = c.org_id();
  r.cloud_id = c.id();
  return r;
}

Resource ProjectResource(const v1::PolicySet& s, const v1::Project& p) {
  Resource r;
  r.id = p.id();
  r.cloud_id = p.cloud_id();
  r.project_id = p.id();
  const v1::Cloud* c = CloudById(s, p.cloud_id());
  if (c != nullptr) r.org_id = c->org_id();
  return r;
}

Resource WorkloadResource(const v1::PolicySet& s, const v1::Workload& w) {
  Resource r;
  const v1::Project* p = ProjectById(s, ProjectIdOfWorkload(s, w));
  if (p != nullptr) r = ProjectResource(s, *p);
  r.id = w.id();
  r.is_workload = true;
  r.workload_creator_id = w.creator_id();
  return r;
}

bool ResourceById(const v1::PolicySet& s, absl::string_view id, Resource* out) {
  for (const v1::Organization& o : s.organizations()) {
    if (o.id() == id) {
      out->id = o.id();
      out->org_id = o.id();
      return true;
    }
  }
  for (const v1::Image& i : s.images()) {
    if (i.id() == id) {
      out->id = i.id();
      out->org_id = i.org_id();
      return true;
    }
  }
  for (const v1::Cloud& c : s.clouds()) {
    if (c.id() == id) {
      *out = CloudResource(c);
      return true;
    }
  }
  for (const v1::ComputeConfig& cc : s.compute_configs()) {
    if (cc.id() == id) {
      const v1::Cloud* c = CloudById(s, cc.cloud_id());
      if (c == nullptr) return false;
      *out = CloudResource(*c);
      out->id = cc.id();
      return true;
    }
  }
  for (const v1::Project& p : s.projects()) {
    if (p.id() == id) {
      *out = ProjectResource(s, p);
      return true;
    }
  }
  for (const v1::Workload& w : s.workloads()) {
    if (w.id() == id) {
      *out = WorkloadResource(s, w);
      return true;
    }
  }
  return false;
}

// `cloud[/project[/workload]]`, names resolved inside organization `org_id`.
bool ResourceByPath(const v1::PolicySet& s, absl::string_view org_id,
                    absl::string_view path, Resource* out) {
  std::vector<absl::string_view> parts = absl::StrSplit(path, '/');
  if (parts.empty() || parts.size() > 3) return false;
  for (absl::string_view part : parts) {
    if (part.empty()) return false;
  }
  const v1::Cloud* cloud = nullptr;
  for (const v1::Cloud& c : s.clouds()) {
    if (c.org_id() == org_id && c.name() == parts[0]) cloud = &c;
  }
  if (cloud == nullptr) return false;
  if (parts.size() == 1) {
    *out = CloudResource(*cloud);
    return true;
  }
  const v1::Project* project = nullptr;
  for (const v1::Project& p : s.projects()) {
    if (p.cloud_id() == cloud->id() && p.name() == parts[1]) project = &p;
  }
  if (project == nullptr) return false;
  if (parts.size() == 2) {
    *out = ProjectResource(s, *project);
    return true;
  }
  for (const v1::Workload& w : s.workloads()) {
    if (!w.name().empty() && w.name() == parts[2] &&
        ProjectIdOfWorkload(s, w) == project->id()) {
      *out = WorkloadResource(s, w);
      return true;
    }
  }
  return false;
}

ReferenceDecision Deny(Reason reason, uint64_t revision) {
  ReferenceDecision d;
  d.effect = Effect::kDeny;
  d.reason = reason;
  d.revision = revision;
  return d;
}

// ---------------------------------------------------------------- one check

// A relevant grant and its position in the order of grants.
struct Relevant {
  const v1::Grant* grant;
  const v1::Role* role;  // nullptr if the role is unknown (never, once valid)
  int scope_rank;        // project 0, cloud 1, org 2
  int subject_rank;      // the principal 0, its groups 1, 2, ...
  bool live;
};

// The order of grants: (scope_rank, subject rank, grant id bytewise).
bool Less(const Relevant& a, const Relevant& b) {
  return std::make_tuple(a.scope_rank, a.subject_rank, a.grant->id()) <
         std::make_tuple(b.scope_rank, b.subject_rank, b.grant->id());
}

absl::Time ExpiryOf(const v1::Grant& g) {
  return absl::FromUnixSeconds(g.expires_at().seconds()) +
         absl::Nanoseconds(g.expires_at().nanos());
}

GrantSource SourceOf(const v1::Grant& g) {
  switch (g.source()) {
    case v1::GRANT_SOURCE_DIRECT:
      return GrantSource::kDirect;
    case v1::GRANT_SOURCE_GROUP:
      return GrantSource::kGroup;
    case v1::GRANT_SOURCE_AUTO_ADD:
      return GrantSource::kAutoAdd;
    default:
      return g.subject_case() == v1::Grant::kGroupId ? GrantSource::kGroup
                                                     : GrantSource::kDirect;
  }
}

class Evaluation {
 public:
  using Predicate = std::function<bool(const Relevant&)>;

  Evaluation(const v1::PolicySet& s, const v1::Profile& profile,
             const v1::Principal& principal, const v1::Permission& permission,
             const Resource& resource, const RequestContext& context,
             absl::Time clock_now)
      : s_(s),
        profile_(profile),
        principal_(principal),
        permission_(permission),
        resource_(resource),
        context_(context),
        now_(context.now.has_value() ? *context.now : clock_now) {}

  ReferenceDecision Run() {
    const uint64_t rev = s_.revision();
    // Step 2.
    if (principal_.org_id() != resource_.org_id) {
      return Deny(Reason::kCrossOrg, rev);
    }
    // Step 3.
    if (principal_.state() == v1::PRINCIPAL_STATE_DELETED) {
      return Deny(Reason::kPrincipalDeleted, rev);
    }
    if (principal_.state() == v1::PRINCIPAL_STATE_INVITED) {
      return Deny(Reason::kPrincipalInvited, rev);
    }
    // Step 4.
    if (principal_.kind() == v1::PRINCIPAL_KIND_SERVICE_ACCOUNT &&
        context_.channel == Channel::kConsole) {
      return Deny(Reason::kServiceAccountConsole, rev);
    }
    // Step 5: the anchor and the path.
    level_ = permission_.scope();
    path_org_ = resource_.org_id;
    if (level_ == v1::SCOPE_TYPE_CLOUD || level_ == v1::SCOPE_TYPE_PROJECT) {
      if (resource_.cloud_id.empty()) {
        return Deny(Reason::kPermissionNotApplicable, rev);
      }
      path_cloud_ = resource_.cloud_id;
    }
    if (level_ == v1::SCOPE_TYPE_PROJECT) {
      if (resource_.project_id.empty()) {
        return Deny(Reason::kPermissionNotApplicable, rev);
      }
      path_project_ = resource_.project_id;
    }
    if (level_ != v1::SCOPE_TYPE_ORG && level_ != v1::SCOPE_TYPE_CLOUD &&
        level_ != v1::SCOPE_TYPE_PROJECT) {
      return Deny(Reason::kPermissionNotApplicable, rev);
    }
    // Step 6.
    const v1::Project* anchor_project =
        path_project_.empty() ? nullptr : ProjectById(s_, path_project_);
    if (permission_.forbidden_on_default_project() &&
        anchor_project != nullptr && anchor_project->is_default()) {
      return Deny(Reason::kProtectedResource, rev);
    }

    ComputeSubjects();
    ComputeRelevantGrants();

    ReferenceDecision candidate = Candidate(anchor_project);
    candidate.revision = rev;
    if (candidate.effect != Effect::kAllow) return candidate;

    // Step 10: deny roles subtract.
    const Relevant* deny = Least([&](const Relevant& r) {
      return Applicable(r) &&
             Contains(r.role->permissions(), permission_.name());
    });
    if (deny != nullptr) return Decided(Reason::kDenyRole, *deny);
    return candidate;
  }

 private:
  // Steps 7-9: the candidate decision before deny roles subtract.
  ReferenceDecision Candidate(const v1::Project* anchor_project) {
    const absl::string_view perm = permission_.name();
    // Step 7: org owner.
    const Relevant* owner = Least([&](const Relevant& r) {
      return IsLiveAllow(r) && r.scope_rank == 2 && r.role->all_permissions();
    });
    if (owner != nullptr) return Decided(Reason::kOrgOwner, *owner);

    // Step 8: org-level anchor.
    if (level_ == v1::SCOPE_TYPE_ORG) {
      const Relevant* g = Least([&](const Relevant& r) {
        return IsLiveAllow(r) && RoleHolds(*r.role, perm);
      });
      if (g != nullptr) return Decided(Reason::kGrant, *g);
      if (MemberRoleHolds())
        return Undecided(Effect::kAllow, Reason::kOrgMember);
      for (const v1::Role& role : profile_.roles()) {
        if (role.all_permissions()) {
          return Undecided(Effect::kDeny, Reason::kNeedsOrgOwner);
        }
      }
      return Undecided(Effect::kDeny, Reason::kInsufficientRole);
    }

    // Step 9.1: the cloud prerequisite.
    const Relevant* cloud_grant = Least(
        [&](const Relevant& r) { return IsLiveAllow(r) && r.scope_rank == 1; });
    if (cloud_grant == nullptr) {
      return Undecided(Effect::kDeny, Reason::kNoCloudGrant);
    }
    // Step 9.2: an explicit grant.
    const Relevant* g = Least([&](const Relevant& r) {
      return IsLiveAllow(r) && RoleHolds(*r.role, perm);
    });
    if (g != nullptr) return Decided(Reason::kGrant, *g);

    // Step 9.3: implied project roles of cloud grants, and the cap.
    const bool project_anchor =
        level_ == v1::SCOPE_TYPE_PROJECT && anchor_project != nullptr;
    const bool is_public = project_anchor && IsPublic(*anchor_project);
    // The implied project role of r, if r is a live cloud grant and the anchor
    // is a project.
    auto implied_role = [&](const Relevant& r) -> const v1::Role* {
      if (!project_anchor || !IsLiveAllow(r) || r.scope_rank != 1) {
        return nullptr;
      }
      return ImpliedRole(*r.role, is_public);
    };
    const Relevant* cap = nullptr;
    if (project_anchor) {
      cap = Least([&](const Relevant& r) {
        if (!Applicable(r) || r.role->implied_project_role_cap().empty()) {
          return false;
        }
        const v1::Role* cap_role =
            FindRole(profile_, r.role->implied_project_role_cap());
        return cap_role == nullptr || !RoleHolds(*cap_role, perm);
      });
    }
    const Relevant* implied = Least([&](const Relevant& r) {
      const v1::Role* role = implied_role(r);
      return role != nullptr && RoleHolds(*role, perm);
    });
    const Relevant* implied_own = Least([&](const Relevant& r) {
      const v1::Role* role = implied_role(r);
      return role != nullptr &&
             Contains(role->own_workload_permissions(), perm);
    });
    if (implied != nullptr && cap == nullptr) {
      return Decided(
          is_public ? Reason::kPublicProject : Reason::kCloudRoleInheritance,
          *implied);
    }

    // Step 9.4: own workloads (explicit, or implied and uncapped).
    auto own_workload_grant = [&](const Relevant& r, bool uncapped_only) {
      if (!IsLiveAllow(r)) return false;
      if (Contains(r.role->own_workload_permissions(), perm)) return true;
      const v1::Role* role = implied_role(r);
      return role != nullptr && (!uncapped_only || cap == nullptr) &&
             Contains(role->own_workload_permissions(), perm);
    };
    if (resource_.is_workload && !resource_.workload_creator_id.empty() &&
        resource_.workload_creator_id == principal_.id()) {
      const Relevant* own = Least(
          [&](const Relevant& r) { return own_workload_grant(r, true); });
      if (own != nullptr) return Decided(Reason::kOwnWorkload, *own);
    }

    // Step 9.5: the member role.
    if (MemberRoleHolds()) return Undecided(Effect::kAllow, Reason::kOrgMember);

    // Step 9.6: the denial.
    if (cap != nullptr && (implied != nullptr || implied_own != nullptr)) {
      return Decided(Reason::kDenyRole, *cap);
    }
    if (project_anchor) {
      const Relevant* project_grant = Least([&](const Relevant& r) {
        return IsLiveAllow(r) && r.scope_rank == 0;
      });
      const Relevant* implying_cloud_grant = Least([&](const Relevant& r) {
        return IsLiveAllow(r) && r.scope_rank == 1 &&
               !ImpliedRoleName(*r.role, is_public).empty();
      });
      if (project_grant == nullptr && implying_cloud_grant == nullptr) {
        return Undecided(Effect::kDeny, Reason::kNoProjectGrant);
      }
    }
    const Relevant* own_only = Least(
        [&](const Relevant& r) { return own_workload_grant(r, false); });
    if (own_only != nullptr) {
      return Undecided(Effect::kDeny, Reason::kNotWorkloadCreator);
    }
    return Undecided(Effect::kDeny, Reason::kInsufficientRole);
  }

  // Subjects of P: P itself, then its groups (transitively) by id.
  void ComputeSubjects() {
    bool changed = true;
    while (changed) {
      changed = false;
      for (const v1::Group& g : s_.groups()) {
        if (Contains(groups_, g.id())) continue;
        for (const std::string& m : g.member_ids()) {
          if (m == principal_.id() || Contains(groups_, m)) {
            groups_.push_back(g.id());
            changed = true;
            break;
          }
        }
      }
    }
    std::sort(groups_.begin(), groups_.end());
  }

  int SubjectRank(const v1::Grant& g) const {
    if (g.subject_case() == v1::Grant::kPrincipalId) {
      return g.principal_id() == principal_.id() ? 0 : -1;
    }
    if (g.subject_case() == v1::Grant::kGroupId) {
      for (size_t i = 0; i < groups_.size(); ++i) {
        if (groups_[i] == g.group_id()) return static_cast<int>(i) + 1;
      }
    }
    return -1;
  }

  int ScopeRank(const v1::Grant& g) const {
    switch (g.scope_case()) {
      case v1::Grant::kOrgId:
        return g.org_id() == path_org_ ? 2 : -1;
      case v1::Grant::kCloudId:
        return !path_cloud_.empty() && g.cloud_id() == path_cloud_ ? 1 : -1;
      case v1::Grant::kProjectId:
        return !path_project_.empty() && g.project_id() == path_project_ ? 0
                                                                         : -1;
      default:
        return -1;
    }
  }

  void ComputeRelevantGrants() {
    for (const v1::Grant& g : s_.grants()) {
      const int subject_rank = SubjectRank(g);
      const int scope_rank = ScopeRank(g);
      if (subject_rank < 0 || scope_rank < 0) continue;
      Relevant r;
      r.grant = &g;
      r.role = FindRole(profile_, g.role());
      r.scope_rank = scope_rank;
      r.subject_rank = subject_rank;
      r.live = !g.has_expires_at() || now_ < ExpiryOf(g);
      relevant_.push_back(r);
    }
  }

  const Relevant* Least(const Predicate& pred) const {
    const Relevant* best = nullptr;
    for (const Relevant& r : relevant_) {
      if (r.role == nullptr || !pred(r)) continue;
      if (best == nullptr || Less(r, *best)) best = &r;
    }
    return best;
  }

  static bool IsLiveAllow(const Relevant& r) {
    return r.live && !IsDenyRole(*r.role);
  }

  // P holds role `name` on the path: a live relevant grant of it exists.
  bool HoldsRole(absl::string_view name) const {
    for (const Relevant& r : relevant_) {
      if (r.live && r.grant->role() == name) return true;
    }
    return false;
  }

  // Step 10: a live relevant deny grant whose exempt roles P does not hold.
  bool Applicable(const Relevant& r) const {
    if (!r.live || !IsDenyRole(*r.role)) return false;
    for (const std::string& exempt : r.role->exempt_roles()) {
      if (HoldsRole(exempt)) return false;
    }
    return true;
  }

  bool MemberRoleHolds() const {
    const v1::Role* member = FindRole(profile_, profile_.member_role());
    return member != nullptr && RoleHolds(*member, permission_.name());
  }

  static bool IsPublic(const v1::Project& p) {
    if (p.visibility() == v1::VISIBILITY_PUBLIC) return true;
    if (p.visibility() == v1::VISIBILITY_PRIVATE) return false;
    return p.is_default();  // unspecified: public only for the default
  }

  static const std::string& ImpliedRoleName(const v1::Role& cloud_role,
                                            bool is_public) {
    return is_public ? cloud_role.public_project_role()
                     : cloud_role.private_project_role();
  }

  const v1::Role* ImpliedRole(const v1::Role& cloud_role,
                              bool is_public) const {
    const std::string& name = ImpliedRoleName(cloud_role, is_public);
    return name.empty() ? nullptr : FindRole(profile_, name);
  }

  ReferenceDecision Decided(Reason reason, const Relevant& r) const {
    ReferenceDecision d;
    d.effect = EffectOf(reason);
    d.reason = reason;
    d.grant_id = r.grant->id();
    d.source = SourceOf(*r.grant);
    d.revision = s_.revision();
    return d;
  }

  ReferenceDecision Undecided(Effect effect, Reason reason) const {
    ReferenceDecision d;
    d.effect = effect;
    d.reason = reason;
    d.revision = s_.revision();
    return d;
  }

  const v1::PolicySet& s_;
  const v1::Profile& profile_;
  const v1::Principal& principal_;
  const v1::Permission& permission_;
  const Resource& resource_;
  const RequestContext& context_;
  const absl::Time now_;

  v1::ScopeType level_ = v1::SCOPE_TYPE_UNSPECIFIED;
  std::string path_org_;
  std::string path_cloud_;
  std::string path_project_;
  std::vector<std::string> groups_;
  std::vector<Relevant> relevant_;
};

}  // namespace

std::string DebugString(const ReferenceDecision& d) {
  std::string out = absl::StrCat(
      d.effect == Effect::kAllow ? "ALLOW " : "DENY ", ReasonName(d.reason));
  if (!d.grant_id.empty()) {
    absl::StrAppend(&out, " grant=", d.grant_id,
                    " source=", GrantSourceName(d.source));
  }
  absl::StrAppend(&out, " revision=", d.revision);
  return out;
}

bool SameDecision(const ReferenceDecision& expected, const Decision& actual) {
  return expected.effect == actual.effect && expected.reason == actual.reason &&
         expected.grant_id == actual.grant_id &&
         expected.source == actual.source &&
         expected.revision == actual.revision;
}

ReferenceEvaluator::ReferenceEvaluator(const v1::PolicySet& state,
                                       const v1::Profile& profile,
                                       absl::Time clock_now)
    : state_(state), profile_(profile), clock_now_(clock_now) {}

ReferenceDecision ReferenceEvaluator::Check(
    const AccessRequest& request) const {
  const uint64_t rev = state_.revision();
  // Step 1 (docs/semantics.md): the organization, if named (by id, else by
  // a name only it has), binds every name of the request to it. Then the
  // principal: an id, else an email (case-insensitive): within the org, its
  // live holder, else its least deleted one; without one, the only live
  // holder across orgs (several: the one of a resource id's org, else
  // ambiguous), else the least deleted one. Then the permission, then the
  // resource: an id, else a path in the org (or the principal's).
  std::string org;
  if (!request.org.empty()) {
    for (const v1::Organization& o : state_.organizations()) {
      if (o.id() == request.org) org = o.id();
    }
    if (org.empty()) {
      int named = 0;
      for (const v1::Organization& o : state_.organizations()) {
        if (!o.name().empty() && o.name() == request.org) {
          org = o.id();
          ++named;
        }
      }
      if (named != 1) return Deny(Reason::kUnknownOrg, rev);
    }
  }
  const v1::Principal* principal = PrincipalById(state_, request.principal);
  if (principal != nullptr && !org.empty() && principal->org_id() != org) {
    return Deny(Reason::kUnknownPrincipal, rev);
  }
  if (principal == nullptr) {
    std::vector<const v1::Principal*> live, deleted;
    for (const v1::Principal& p : state_.principals()) {
      if (!absl::EqualsIgnoreCase(p.email(), request.principal)) continue;
      if (!org.empty() && p.org_id() != org) continue;
      (p.state() == v1::PRINCIPAL_STATE_DELETED ? deleted : live).push_back(&p);
    }
    auto least = [](const std::vector<const v1::Principal*>& v) {
      const v1::Principal* out = v.front();
      for (const v1::Principal* p : v) {
        if (p->id() < out->id()) out = p;
      }
      return out;
    };
    if (live.size() == 1) {
      principal = live.front();
    } else if (live.size() > 1) {
      Resource hint;
      if (absl::StrContains(request.resource, '/') ||
          !ResourceById(state_, request.resource, &hint)) {
        return Deny(Reason::kAmbiguousPrincipal, rev);
      }
      for (const v1::Principal* p : live) {
        if (p->org_id() == hint.org_id) principal = p;
      }
      if (principal == nullptr) return Deny(Reason::kAmbiguousPrincipal, rev);
    } else if (!deleted.empty()) {
      principal = least(deleted);
    } else {
      return Deny(Reason::kUnknownPrincipal, rev);
    }
  }
  if (FindPermission(profile_, request.permission) == nullptr) {
    return Deny(Reason::kUnknownPermission, rev);
  }
  Resource resource;
  if (!ResourceById(state_, request.resource, &resource) &&
      !ResourceByPath(state_, org.empty() ? principal->org_id() : org,
                      request.resource, &resource)) {
    return Deny(Reason::kUnknownResource, rev);
  }
  if (!org.empty() && resource.org_id != org) {
    return Deny(Reason::kUnknownResource, rev);
  }
  return CheckResolved(principal->id(), request.permission, resource.id,
                       request.context);
}

ReferenceDecision ReferenceEvaluator::CheckResolved(
    absl::string_view principal_id, absl::string_view permission_name,
    absl::string_view resource_id, const RequestContext& context) const {
  const uint64_t rev = state_.revision();
  const v1::Principal* principal = PrincipalById(state_, principal_id);
  if (principal == nullptr) return Deny(Reason::kUnknownPrincipal, rev);
  const v1::Permission* permission = FindPermission(profile_, permission_name);
  if (permission == nullptr) return Deny(Reason::kUnknownPermission, rev);
  Resource resource;
  if (!ResourceById(state_, resource_id, &resource)) {
    return Deny(Reason::kUnknownResource, rev);
  }
  Evaluation evaluation(state_, profile_, *principal, *permission, resource,
                        context, clock_now_);
  return evaluation.Run();
}

}  // namespace testing
}  // namespace arbiter
