// The mutations of TransactionApplier, one function each: guard, checks
// on the state as the transaction has made it so far, changes, audit
// records, and checks deferred to the result (transaction.h).

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "arbiter/quota.h"
#include "src/admin/refusal.h"
#include "src/admin/transaction.h"
#include "src/internal/names.h"

namespace arbiter {
namespace internal {
namespace {

absl::Status Invalid(absl::string_view field, absl::string_view message) {
  return Refuse(absl::StatusCode::kInvalidArgument, Refusal::kInvalid,
                absl::StrCat(field, ": ", message));
}

absl::Status Violates(absl::StatusCode code, Refusal refusal,
                      absl::string_view field, absl::string_view message) {
  return Refuse(code, refusal, absl::StrCat(field, ": ", message));
}

bool Live(const v1::Principal& p) {
  return p.state() != v1::PRINCIPAL_STATE_DELETED;
}
bool Active(const v1::Principal& p) {
  return p.state() == v1::PRINCIPAL_STATE_ACTIVE ||
         p.state() == v1::PRINCIPAL_STATE_UNSPECIFIED;
}

const std::string& ScopeOf(const v1::Grant& g) {
  return g.has_org_id()     ? g.org_id()
         : g.has_cloud_id() ? g.cloud_id()
                            : g.project_id();
}

bool GrantableAt(const v1::Role& role, v1::ScopeType scope) {
  return std::find(role.grantable_at().begin(), role.grantable_at().end(),
                   scope) != role.grantable_at().end();
}

v1::Grant PrincipalGrant(absl::string_view principal, absl::string_view role) {
  v1::Grant g;
  g.set_principal_id(std::string(principal));
  g.set_role(std::string(role));
  return g;
}

constexpr char kCloudReadOnly[] = "cloud_read_only";

std::string RoleList(absl::string_view role, bool read_only) {
  return read_only ? absl::StrCat(role, "+cloud_read_only") : std::string(role);
}

}  // namespace

// ---- Users (invitations: identity_mutations.cc)
// ---------------------------------------------------------------------

absl::Status TransactionApplier::Evict(const v1::Principal& principal) {
  v1::Principal removed = principal;
  removed.set_state(v1::PRINCIPAL_STATE_DELETED);
  // Its keys and pending invitations go too (§10.2: removal revokes login
  // and token use).
  if (absl::Status s = RetireIdentity(principal); !s.ok()) return s;
  if (absl::Status s = PutPrincipal(removed); !s.ok()) return s;
  std::vector<v1::Grant> grants;
  for (const std::string& id : state_.GrantsOf(principal.id())) {
    if (const v1::Grant* g = state_.Grant(id)) grants.push_back(*g);
  }
  std::sort(
      grants.begin(), grants.end(),
      [](const v1::Grant& a, const v1::Grant& b) { return a.id() < b.id(); });
  for (const v1::Grant& g : grants) {
    if (absl::Status s = RemoveGrant(g); !s.ok()) return s;
  }
  owners_changed_ = true;
  return absl::OkStatus();
}

absl::Status TransactionApplier::RemoveUser(const v1::RemoveUser& m) {
  if (absl::Status s = Authorize("org.users.remove", org_); !s.ok()) return s;
  absl::StatusOr<const v1::Principal*> p =
      FindPrincipal(m.principal(), "principal");
  if (!p.ok()) return p.status();
  if (!Live(**p)) {
    return Violates(absl::StatusCode::kNotFound, Refusal::kNotFound, field_,
                    absl::StrCat(Quote((*p)->id()), " was already removed"));
  }
  const std::string id = (*p)->id();
  if (absl::Status s = Evict(**p); !s.ok()) return s;
  Audit(audit_action::kRemove, audit_entity::kUser, id, {{"removee_id", id}});
  return absl::OkStatus();
}

absl::Status TransactionApplier::SetOrgRole(const v1::SetOrgRole& m) {
  if (absl::Status s = Authorize("org.roles.manage", org_); !s.ok()) return s;
  absl::StatusOr<const v1::Principal*> p =
      FindPrincipal(m.principal(), "principal");
  if (!p.ok()) return p.status();
  if (!Active(**p)) {
    return Violates(
        absl::StatusCode::kFailedPrecondition, Refusal::kInvalid, field_,
        absl::StrCat(Quote((*p)->id()), " is not an active member"));
  }
  const std::string id = (*p)->id();
  const bool was_owner = IsOrgOwner(id);
  std::string owner_role;
  for (const v1::Role& r : engine_.profile().roles()) {
    if (r.all_permissions() && GrantableAt(r, v1::SCOPE_TYPE_ORG)) {
      owner_role = r.name();
      break;
    }
  }
  const std::string member_role = engine_.profile().member_role();
  if (m.role() == owner_role) {
    if ((*p)->kind() == v1::PRINCIPAL_KIND_SERVICE_ACCOUNT &&
        !engine_.options().allow_service_account_org_owner) {
      return Violates(absl::StatusCode::kFailedPrecondition,
                      Refusal::kServiceAccountOwner, field_,
                      absl::StrCat("service account ", Quote(id),
                                   " cannot be an organization owner"));
    }
    if (!was_owner) {
      v1::Grant g = PrincipalGrant(id, owner_role);
      g.set_org_id(org_);
      if (absl::Status s = AddGrant(std::move(g)); !s.ok()) return s;
    }
  } else if (m.role() == member_role || m.role() == "collaborator") {
    for (const v1::Grant* g : GrantsOfOn(id, org_)) {
      if (!IsOrgOwnerRole(g->role())) continue;
      if (absl::Status s = RemoveGrant(*g); !s.ok()) return s;
    }
    if (IsOrgOwner(id)) {
      return Violates(absl::StatusCode::kFailedPrecondition, Refusal::kInvalid,
                      field_,
                      absl::StrCat(Quote(id),
                                   " is an owner through a group: "
                                   "change the group's policy"));
    }
  } else {
    return Violates(
        absl::StatusCode::kInvalidArgument, Refusal::kRoleOutOfScope, field_,
        absl::StrCat("org role ", Quote(m.role()), " is not ",
                     Quote(owner_role), " or ", Quote(member_role)));
  }
  Audit(audit_action::kModify, audit_entity::kUser, id,
        {{"modifee_id", id},
         {"old_role", was_owner ? owner_role : member_role},
         {"new_role", m.role() == owner_role ? owner_role : member_role}});
  return absl::OkStatus();
}

// ---- Clouds and projects
// -----------------------------------------------------------

absl::Status TransactionApplier::CreateCloud(const v1::CreateCloud& m) {
  if (absl::Status s = Authorize("org.clouds.create", org_); !s.ok()) return s;
  if (m.name().empty()) return Invalid(field_, "missing name");
  for (const std::string& id : state_.CloudsOf(org_)) {
    const v1::Cloud* c = state_.Cloud(id);
    if (c != nullptr && c->name() == m.name()) {
      return Violates(absl::StatusCode::kAlreadyExists, Refusal::kAlreadyExists,
                      field_,
                      absl::StrCat("a cloud named ", Quote(m.name()),
                                   " exists (", Quote(id), ")"));
    }
  }
  v1::Cloud cloud;
  cloud.set_id(m.cloud_id().empty() ? NewId("cld_") : m.cloud_id());
  cloud.set_org_id(org_);
  cloud.set_name(m.name());
  cloud.set_auto_add_users(m.auto_add_users());
  v1::Project project;
  project.set_id(m.default_project_id().empty() ? NewId("prj_")
                                                : m.default_project_id());
  project.set_cloud_id(cloud.id());
  project.set_name("default");
  project.set_visibility(v1::VISIBILITY_PUBLIC);
  project.set_is_default(true);
  project.set_creator_id(actor_);
  StateDelta d;
  d.set_revisions(state_.revision(), state_.revision());
  *d.mutable_proto()->add_put_clouds() = cloud;
  *d.mutable_proto()->add_put_projects() = project;
  for (const std::string& id : {cloud.id(), project.id()}) {
    if (state_.Cloud(id) != nullptr || state_.Project(id) != nullptr) {
      return Violates(absl::StatusCode::kAlreadyExists, Refusal::kAlreadyExists,
                      field_, absl::StrCat("id ", Quote(id), " is taken"));
    }
  }
  if (absl::Status s = Apply(d); !s.ok()) return s;
  created_.insert(cloud.id());
  created_.insert(project.id());
  // The creator owns the cloud explicitly.
  v1::Grant owner = PrincipalGrant(actor_, "cloud_owner");
  owner.set_cloud_id(cloud.id());
  if (ProfileRole("cloud_owner") != nullptr) {
    if (absl::Status s = AddGrant(std::move(owner)); !s.ok()) return s;
  }
  Audit(audit_action::kCreate, audit_entity::kCloud, cloud.id(),
        {{"id", cloud.id()}, {"name", cloud.name()}});
  if (cloud.auto_add_users()) {
    std::vector<std::string> members(state_.PrincipalsOf(org_).begin(),
                                     state_.PrincipalsOf(org_).end());
    std::sort(members.begin(), members.end());
    for (const std::string& id : members) {
      const v1::Principal* p = state_.Principal(id);
      if (p != nullptr && Active(*p)) {
        if (absl::Status s = AutoAdd(cloud, *p); !s.ok()) return s;
      }
    }
  }
  return absl::OkStatus();
}

absl::Status TransactionApplier::DeleteCloud(const v1::DeleteCloud& m) {
  absl::StatusOr<const v1::Cloud*> c = FindCloud(m.cloud(), "cloud");
  if (!c.ok()) return c.status();
  const std::string id = (*c)->id();
  if (absl::Status s = Authorize("cloud.delete", id); !s.ok()) return s;
  StateDelta d;
  d.set_revisions(state_.revision(), state_.revision());
  v1::StateDelta& p = *d.mutable_proto();
  absl::flat_hash_set<std::string> scopes{id};
  std::vector<std::string> projects(state_.ProjectsOf(id).begin(),
                                    state_.ProjectsOf(id).end());
  std::sort(projects.begin(), projects.end());
  for (const std::string& project : projects) {
    scopes.insert(project);
    std::vector<std::string> workloads(state_.WorkloadsOf(project).begin(),
                                       state_.WorkloadsOf(project).end());
    std::sort(workloads.begin(), workloads.end());
    for (const std::string& w : workloads) p.add_delete_workloads(w);
    p.add_delete_projects(project);
  }
  for (const v1::ComputeConfig& cc : state_.state().compute_configs()) {
    if (cc.cloud_id() == id) p.add_delete_compute_configs(cc.id());
  }
  for (const v1::ResourceQuota& q : state_.state().quotas()) {
    if (q.cloud_id() == id) p.add_delete_quotas(q.id());
  }
  for (const v1::Budget& b : state_.state().budgets()) {
    if (b.cloud_id() == id) p.add_delete_budgets(b.id());
  }
  std::vector<std::string> grants;
  for (const std::string& scope : scopes) {
    for (const std::string& g : state_.GrantsOn(scope)) grants.push_back(g);
  }
  std::sort(grants.begin(), grants.end());
  for (const std::string& g : grants) {
    if (const v1::Grant* grant = state_.Grant(g)) {
      *p.add_remove_grants() = *grant;
      if (IsOrgOwnerRole(grant->role())) owners_changed_ = true;
    }
  }
  p.add_delete_clouds(id);
  if (absl::Status s = Apply(d); !s.ok()) return s;
  quotas_changed_ = true;
  Audit(audit_action::kDelete, audit_entity::kCloud, id, {{"id", id}});
  return absl::OkStatus();
}

absl::Status TransactionApplier::CreateProject(const v1::CreateProject& m) {
  absl::StatusOr<const v1::Cloud*> c = FindCloud(m.cloud(), "cloud");
  if (!c.ok()) return c.status();
  const std::string cloud = (*c)->id();
  if (absl::Status s = Authorize("cloud.projects.create", cloud); !s.ok()) {
    return s;
  }
  if (m.name().empty()) return Invalid(field_, "missing name");
  for (const std::string& id : state_.ProjectsOf(cloud)) {
    const v1::Project* p = state_.Project(id);
    if (p != nullptr && p->name() == m.name()) {
      return Violates(absl::StatusCode::kAlreadyExists, Refusal::kAlreadyExists,
                      field_,
                      absl::StrCat("cloud ", Quote(cloud),
                                   " has a project named ", Quote(m.name())));
    }
  }
  v1::Project project;
  project.set_id(m.project_id().empty() ? NewId("prj_") : m.project_id());
  if (state_.Project(project.id()) != nullptr) {
    return Violates(absl::StatusCode::kAlreadyExists, Refusal::kAlreadyExists,
                    field_,
                    absl::StrCat("id ", Quote(project.id()), " is taken"));
  }
  project.set_cloud_id(cloud);
  project.set_name(m.name());
  project.set_visibility(m.public_() ? v1::VISIBILITY_PUBLIC
                                     : v1::VISIBILITY_PRIVATE);
  project.set_creator_id(actor_);
  StateDelta d;
  d.set_revisions(state_.revision(), state_.revision());
  *d.mutable_proto()->add_put_projects() = project;
  if (absl::Status s = Apply(d); !s.ok()) return s;
  created_.insert(project.id());
  v1::Grant owner = PrincipalGrant(actor_, "project_owner");
  owner.set_project_id(project.id());
  if (ProfileRole("project_owner") != nullptr) {
    if (absl::Status s = AddGrant(std::move(owner)); !s.ok()) return s;
  }
  Audit(audit_action::kCreate, audit_entity::kProject, project.id(),
        {{"id", project.id()}, {"name", project.name()}, {"cloud_id", cloud}});
  return absl::OkStatus();
}

absl::Status TransactionApplier::DeleteProject(const v1::DeleteProject& m) {
  absl::StatusOr<const v1::Project*> pr = FindProject(m.project(), "project");
  if (!pr.ok()) return pr.status();
  const std::string id = (*pr)->id();
  if (absl::Status s = Authorize("project.delete", id); !s.ok()) return s;
  if ((*pr)->is_default()) {
    return Violates(absl::StatusCode::kFailedPrecondition,
                    Refusal::kProtectedResource, field_,
                    absl::StrCat(Quote(id), " is its cloud's default project"));
  }
  StateDelta d;
  d.set_revisions(state_.revision(), state_.revision());
  v1::StateDelta& p = *d.mutable_proto();
  std::vector<std::string> workloads(state_.WorkloadsOf(id).begin(),
                                     state_.WorkloadsOf(id).end());
  std::sort(workloads.begin(), workloads.end());
  for (const std::string& w : workloads) p.add_delete_workloads(w);
  for (const v1::ResourceQuota& q : state_.state().quotas()) {
    if (q.project_id() == id) p.add_delete_quotas(q.id());
  }
  for (const v1::Budget& b : state_.state().budgets()) {
    if (b.project_id() == id) p.add_delete_budgets(b.id());
  }
  std::vector<std::string> grants(state_.GrantsOn(id).begin(),
                                  state_.GrantsOn(id).end());
  std::sort(grants.begin(), grants.end());
  for (const std::string& g : grants) {
    if (const v1::Grant* grant = state_.Grant(g))
      *p.add_remove_grants() = *grant;
  }
  p.add_delete_projects(id);
  if (absl::Status s = Apply(d); !s.ok()) return s;
  quotas_changed_ = true;
  Audit(audit_action::kDelete, audit_entity::kProject, id, {{"id", id}});
  return absl::OkStatus();
}

absl::Status TransactionApplier::SetProjectVisibility(
    const v1::SetProjectVisibility& m) {
  absl::StatusOr<const v1::Project*> pr = FindProject(m.project(), "project");
  if (!pr.ok()) return pr.status();
  if (absl::Status s = Authorize("project.visibility.change", (*pr)->id());
      !s.ok()) {
    return s;
  }
  if (m.visibility() != v1::VISIBILITY_PUBLIC &&
      m.visibility() != v1::VISIBILITY_PRIVATE) {
    return Invalid(field_,
                   "visibility must be VISIBILITY_PUBLIC or "
                   "VISIBILITY_PRIVATE");
  }
  if ((*pr)->is_default() && m.visibility() != v1::VISIBILITY_PUBLIC) {
    return Violates(absl::StatusCode::kFailedPrecondition,
                    Refusal::kProtectedResource, field_,
                    absl::StrCat(Quote((*pr)->id()),
                                 " is its cloud's default project: it stays "
                                 "public"));
  }
  v1::Project next = **pr;
  next.set_visibility(m.visibility());
  StateDelta d;
  d.set_revisions(state_.revision(), state_.revision());
  *d.mutable_proto()->add_put_projects() = next;
  if (absl::Status s = Apply(d); !s.ok()) return s;
  Audit(audit_action::kModify, audit_entity::kProject, next.id(),
        {{"id", next.id()},
         {"visibility",
          m.visibility() == v1::VISIBILITY_PUBLIC ? "public" : "private"}});
  return absl::OkStatus();
}

// ---- Membership
// ------------------------------------------------------------------

absl::Status TransactionApplier::AutoAdd(const v1::Cloud& cloud,
                                         const v1::Principal& principal) {
  const std::string& role = engine_.profile().auto_add_role();
  if (role.empty()) return absl::OkStatus();
  for (const v1::Grant* g : GrantsOfOn(principal.id(), cloud.id())) {
    if (g->role() == role) return absl::OkStatus();
  }
  v1::Grant grant = PrincipalGrant(principal.id(), role);
  grant.set_cloud_id(cloud.id());
  grant.set_source(v1::GRANT_SOURCE_AUTO_ADD);
  if (absl::Status s = AddGrant(std::move(grant)); !s.ok()) return s;
  Audit(audit_action::kGrant, audit_entity::kCloud, cloud.id(),
        {{"principal_id", principal.id()},
         {"role", role},
         {"source", "auto_add"}});
  return absl::OkStatus();
}

absl::Status TransactionApplier::SetCloudMember(const v1::SetCloudMember& m) {
  absl::StatusOr<const v1::Cloud*> c = FindCloud(m.cloud(), "cloud");
  if (!c.ok()) return c.status();
  const std::string cloud = (*c)->id();
  if (absl::Status s = Authorize("cloud.members.manage", cloud); !s.ok()) {
    return s;
  }
  absl::StatusOr<const v1::Principal*> p =
      FindPrincipal(m.principal(), "principal");
  if (!p.ok()) return p.status();
  const std::string id = (*p)->id();
  if (!Active(**p)) {
    return Violates(absl::StatusCode::kFailedPrecondition, Refusal::kInvalid,
                    field_,
                    absl::StrCat(Quote(id),
                                 " is not an active member "
                                 "of the organization"));
  }
  if (id == actor_) {
    return Violates(absl::StatusCode::kPermissionDenied,
                    Refusal::kSelfModification, field_,
                    "cannot modify your own cloud grant");
  }
  if (IsOrgOwner(id)) {
    return Violates(absl::StatusCode::kFailedPrecondition,
                    Refusal::kOrgOwnerCloudRole, field_,
                    absl::StrCat("cannot modify an organization admin cloud "
                                 "role (",
                                 Quote(id), " is an org owner)"));
  }
  const v1::Role* role = ProfileRole(m.role());
  if (role == nullptr || role->effect() == v1::ROLE_EFFECT_DENY ||
      !GrantableAt(*role, v1::SCOPE_TYPE_CLOUD)) {
    return Violates(absl::StatusCode::kInvalidArgument,
                    Refusal::kRoleOutOfScope, field_,
                    absl::StrCat(Quote(m.role()),
                                 " is not a cloud role (cloud_owner, "
                                 "cloud_collaborator, ...)"));
  }
  if (m.read_only() && role->name() == "cloud_owner") {
    return Violates(absl::StatusCode::kInvalidArgument,
                    Refusal::kOwnerWithReadOnly, field_,
                    "cloud_owner cannot be held together with cloud_read_only");
  }
  const bool was_member = !GrantsOfOn(id, cloud).empty();
  // Replace the member's direct cloud grants with the new role.
  if (absl::Status s = RemoveGrantsOf(id, {cloud}, true, true); !s.ok()) {
    return s;
  }
  v1::Grant base = PrincipalGrant(id, role->name());
  base.set_cloud_id(cloud);
  if (absl::Status s = AddGrant(std::move(base)); !s.ok()) return s;
  if (m.read_only()) {
    if (ProfileRole(kCloudReadOnly) == nullptr) {
      return Invalid(field_, "the profile has no cloud_read_only role");
    }
    v1::Grant deny = PrincipalGrant(id, kCloudReadOnly);
    deny.set_cloud_id(cloud);
    if (absl::Status s = AddGrant(std::move(deny)); !s.ok()) return s;
  }
  // cloud_read_only caps the member's project roles in the cloud, and an
  // owner may not hold it even through a group: judged on the result.
  deferred_.push_back([this, id, cloud, field = field_](const Engine&) {
    if (Holds(id, "cloud_owner", cloud) && Holds(id, kCloudReadOnly, cloud)) {
      return Violates(absl::StatusCode::kFailedPrecondition,
                      Refusal::kOwnerWithReadOnly, field,
                      absl::StrCat(Quote(id),
                                   " would hold cloud_owner together "
                                   "with cloud_read_only on ",
                                   Quote(cloud)));
    }
    return absl::OkStatus();
  });
  const std::string roles = RoleList(role->name(), m.read_only());
  Audit(was_member ? audit_action::kModify : audit_action::kGrant,
        audit_entity::kCloud, cloud, {{"principal_id", id}, {"role", roles}});
  return absl::OkStatus();
}

absl::Status TransactionApplier::RemoveCloudMember(
    const v1::RemoveCloudMember& m) {
  absl::StatusOr<const v1::Cloud*> c = FindCloud(m.cloud(), "cloud");
  if (!c.ok()) return c.status();
  const std::string cloud = (*c)->id();
  if (absl::Status s = Authorize("cloud.members.manage", cloud); !s.ok()) {
    return s;
  }
  absl::StatusOr<const v1::Principal*> p =
      FindPrincipal(m.principal(), "principal");
  if (!p.ok()) return p.status();
  const std::string id = (*p)->id();
  if (id == actor_) {
    return Violates(absl::StatusCode::kPermissionDenied,
                    Refusal::kSelfModification, field_,
                    "cannot remove yourself from the cloud");
  }
  if (IsOrgOwner(id)) {
    return Violates(absl::StatusCode::kFailedPrecondition,
                    Refusal::kOrgOwnerCloudRole, field_,
                    absl::StrCat("cannot modify an organization admin cloud "
                                 "role (",
                                 Quote(id), " is an org owner)"));
  }
  const std::vector<const v1::Grant*> grants = GrantsOfOn(id, cloud);
  if (grants.empty()) {
    return Violates(
        absl::StatusCode::kNotFound, Refusal::kNotFound, field_,
        absl::StrCat(Quote(id), " is not a member of cloud ", Quote(cloud)));
  }
  const std::string& auto_add_role = engine_.profile().auto_add_role();
  if ((*c)->auto_add_users()) {
    for (const v1::Grant* g : grants) {
      if (g->role() == auto_add_role) {
        return Violates(absl::StatusCode::kFailedPrecondition,
                        Refusal::kAutoAddEnabled, field_,
                        absl::StrCat("cloud ", Quote(cloud),
                                     " adds every member automatically: turn "
                                     "auto-add off to remove ",
                                     Quote(id)));
      }
    }
  }
  if ((*p)->kind() != v1::PRINCIPAL_KIND_SERVICE_ACCOUNT && ScimWithBinding()) {
    return Violates(
        absl::StatusCode::kFailedPrecondition, Refusal::kScimRevoke, field_,
        absl::StrCat("organization ", Quote(org_),
                     " has directory sync (SCIM) and a group policy "
                     "binding: human members are revoked in the "
                     "directory"));
  }
  // The cloud grants, and (cascade) the project grants in the cloud.
  absl::flat_hash_set<std::string> scopes{cloud};
  for (const std::string& project : state_.ProjectsOf(cloud))
    scopes.insert(project);
  if (absl::Status s = RemoveGrantsOf(id, scopes, true, true); !s.ok())
    return s;
  Audit(audit_action::kRevoke, audit_entity::kCloud, cloud,
        {{"principal_id", id}});
  return absl::OkStatus();
}

absl::Status TransactionApplier::SetProjectMember(
    const v1::SetProjectMember& m) {
  absl::StatusOr<const v1::Project*> pr = FindProject(m.project(), "project");
  if (!pr.ok()) return pr.status();
  const std::string project = (*pr)->id();
  const std::string cloud = (*pr)->cloud_id();
  if (absl::Status s = Authorize("project.members.manage", project); !s.ok()) {
    return s;
  }
  const v1::Role* role = ProfileRole(m.role());
  if (role == nullptr || role->effect() == v1::ROLE_EFFECT_DENY ||
      !GrantableAt(*role, v1::SCOPE_TYPE_PROJECT)) {
    return Violates(absl::StatusCode::kInvalidArgument,
                    Refusal::kRoleOutOfScope, field_,
                    absl::StrCat(Quote(m.role()),
                                 " is not a project role (project_owner, "
                                 "project_write, project_readonly)"));
  }
  if (role->name() == "project_owner") {
    if (absl::Status s = Authorize("project.owner.grant", project); !s.ok()) {
      return s;
    }
  }
  absl::StatusOr<const v1::Principal*> p =
      FindPrincipal(m.principal(), "principal");
  if (!p.ok()) return p.status();
  const std::string id = (*p)->id();
  if (!Active(**p)) {
    return Violates(absl::StatusCode::kFailedPrecondition, Refusal::kInvalid,
                    field_,
                    absl::StrCat(Quote(id),
                                 " is not an active member "
                                 "of the organization"));
  }
  const bool was_member = !GrantsOfOn(id, project).empty();
  if (absl::Status s = RemoveGrantsOf(id, {project}, true, false); !s.ok()) {
    return s;
  }
  v1::Grant g = PrincipalGrant(id, role->name());
  g.set_project_id(project);
  if (absl::Status s = AddGrant(std::move(g)); !s.ok()) return s;
  // §4.3: a project grant needs cloud access (effective, as Check sees it),
  // and a member holding cloud_read_only may hold only project_readonly.
  const std::string role_name = role->name();
  deferred_.push_back([this, id, cloud, project, role_name,
                       field = field_](const Engine& result) {
    AccessRequest r;
    r.principal = id;
    r.permission = "cloud.view";
    r.resource = cloud;
    r.org = org_;
    r.context.now = now_;
    if (!result.Check(r).allowed()) {
      return Violates(absl::StatusCode::kPermissionDenied,
                      Refusal::kNoCloudGrant, field,
                      absl::StrCat(Quote(id), " has no access to cloud ",
                                   Quote(cloud), ", which a grant on project ",
                                   Quote(project), " requires"));
    }
    if (Holds(id, kCloudReadOnly, cloud) && role_name != "project_readonly") {
      return Violates(
          absl::StatusCode::kFailedPrecondition, Refusal::kReadOnlyCap, field,
          absl::StrCat(Quote(id), " holds cloud_read_only on ", Quote(cloud),
                       ": at most project_readonly "
                       "on its projects, not ",
                       Quote(role_name)));
    }
    return absl::OkStatus();
  });
  Audit(was_member ? audit_action::kModify : audit_action::kGrant,
        audit_entity::kProject, project,
        {{"principal_id", id}, {"role", role_name}});
  return absl::OkStatus();
}

absl::Status TransactionApplier::RemoveProjectMember(
    const v1::RemoveProjectMember& m) {
  absl::StatusOr<const v1::Project*> pr = FindProject(m.project(), "project");
  if (!pr.ok()) return pr.status();
  const std::string project = (*pr)->id();
  if (absl::Status s = Authorize("project.members.manage", project); !s.ok()) {
    return s;
  }
  absl::StatusOr<const v1::Principal*> p =
      FindPrincipal(m.principal(), "principal");
  if (!p.ok()) return p.status();
  const std::string id = (*p)->id();
  if (GrantsOfOn(id, project).empty()) {
    return Violates(absl::StatusCode::kNotFound, Refusal::kNotFound, field_,
                    absl::StrCat(Quote(id), " is not a member of project ",
                                 Quote(project)));
  }
  if ((*p)->kind() != v1::PRINCIPAL_KIND_SERVICE_ACCOUNT && ScimWithBinding()) {
    return Violates(
        absl::StatusCode::kFailedPrecondition, Refusal::kScimRevoke, field_,
        absl::StrCat("organization ", Quote(org_),
                     " has directory sync (SCIM) and a group policy "
                     "binding: human members are revoked in the "
                     "directory"));
  }
  if (absl::Status s = RemoveGrantsOf(id, {project}, true, true); !s.ok()) {
    return s;
  }
  Audit(audit_action::kRevoke, audit_entity::kProject, project,
        {{"principal_id", id}});
  return absl::OkStatus();
}

absl::Status TransactionApplier::SetAutoAdd(const v1::SetAutoAdd& m) {
  absl::StatusOr<const v1::Cloud*> c = FindCloud(m.cloud(), "cloud");
  if (!c.ok()) return c.status();
  const std::string cloud = (*c)->id();
  if (absl::Status s = Authorize("cloud.auto_add.manage", cloud); !s.ok()) {
    return s;
  }
  v1::Cloud next = **c;
  next.set_auto_add_users(m.enabled());
  StateDelta d;
  d.set_revisions(state_.revision(), state_.revision());
  *d.mutable_proto()->add_put_clouds() = next;
  if (absl::Status s = Apply(d); !s.ok()) return s;
  Audit(audit_action::kModify, audit_entity::kCloud, cloud,
        {{"id", cloud}, {"auto_add_users", m.enabled() ? "true" : "false"}});
  // On: retroactive for every current member. Off: revokes nothing.
  if (m.enabled()) {
    std::vector<std::string> members(state_.PrincipalsOf(org_).begin(),
                                     state_.PrincipalsOf(org_).end());
    std::sort(members.begin(), members.end());
    for (const std::string& id : members) {
      const v1::Principal* p = state_.Principal(id);
      if (p != nullptr && Active(*p)) {
        if (absl::Status s = AutoAdd(next, *p); !s.ok()) return s;
      }
    }
  }
  return absl::OkStatus();
}

// ---- Groups
// --------------------------------------------------------------------

absl::Status TransactionApplier::SetGroupPolicy(const v1::SetGroupPolicy& m) {
  if (absl::Status s = Authorize("org.policies.set", org_); !s.ok()) return s;
  // The resource: the org, a cloud or a project.
  std::string scope;
  v1::ScopeType type;
  if (m.resource().empty() || m.resource() == org_) {
    scope = org_, type = v1::SCOPE_TYPE_ORG;
  } else if (absl::StatusOr<const v1::Cloud*> c =
                 FindCloud(m.resource(), "resource");
             c.ok()) {
    scope = (*c)->id(), type = v1::SCOPE_TYPE_CLOUD;
  } else if (absl::StatusOr<const v1::Project*> p =
                 FindProject(m.resource(), "resource");
             p.ok()) {
    scope = (*p)->id(), type = v1::SCOPE_TYPE_PROJECT;
  } else {
    return p.status();
  }
  std::vector<v1::Grant> bindings;
  for (int i = 0; i < m.bindings_size(); ++i) {
    const v1::GroupBinding& b = m.bindings(i);
    const std::string where = absl::StrCat(field_, ".bindings[", i, "]");
    absl::StatusOr<const v1::Group*> g = FindGroup(b.group(), "group");
    if (!g.ok()) {
      return Violates(absl::StatusCode::kNotFound, Refusal::kUnknownGroup,
                      where, absl::StrCat("no group ", Quote(b.group())));
    }
    const v1::Role* role = ProfileRole(b.role());
    const bool group_ok =
        role != nullptr &&
        (role->subject_kinds().empty() ||
         std::find(role->subject_kinds().begin(), role->subject_kinds().end(),
                   v1::SUBJECT_KIND_GROUP) != role->subject_kinds().end());
    if (role == nullptr || !GrantableAt(*role, type) || !group_ok) {
      return Violates(
          absl::StatusCode::kInvalidArgument, Refusal::kRoleOutOfScope, where,
          absl::StrCat("role ", Quote(b.role()),
                       " cannot be bound to a group on ", Quote(scope)));
    }
    v1::Grant grant;
    grant.set_group_id((*g)->id());
    grant.set_role(role->name());
    if (type == v1::SCOPE_TYPE_ORG) grant.set_org_id(scope);
    if (type == v1::SCOPE_TYPE_CLOUD) grant.set_cloud_id(scope);
    if (type == v1::SCOPE_TYPE_PROJECT) grant.set_project_id(scope);
    bindings.push_back(std::move(grant));
  }
  // Replace the whole binding set of the resource.
  std::vector<v1::Grant> old;
  for (const std::string& id : state_.GrantsOn(scope)) {
    const v1::Grant* g = state_.Grant(id);
    if (g != nullptr && g->has_group_id()) old.push_back(*g);
  }
  std::sort(old.begin(), old.end(), [](const v1::Grant& a, const v1::Grant& b) {
    return a.id() < b.id();
  });
  for (const v1::Grant& g : old) {
    if (absl::Status s = RemoveGrant(g); !s.ok()) return s;
  }
  for (v1::Grant& g : bindings) {
    if (absl::Status s = AddGrant(std::move(g)); !s.ok()) return s;
  }
  owners_changed_ = true;
  Audit(
      audit_action::kSet, audit_entity::kPolicy, scope,
      {{"resource_id", scope}, {"bindings", absl::StrCat(m.bindings_size())}});
  return absl::OkStatus();
}

absl::Status TransactionApplier::DeleteGroup(const v1::DeleteGroup& m) {
  if (absl::Status s = Authorize("org.policies.set", org_); !s.ok()) return s;
  absl::StatusOr<const v1::Group*> g = FindGroup(m.group(), "group");
  if (!g.ok()) return g.status();
  const std::string id = (*g)->id();
  StateDelta d;
  d.set_revisions(state_.revision(), state_.revision());
  v1::StateDelta& p = *d.mutable_proto();
  std::vector<std::string> grants(state_.GrantsOf(id).begin(),
                                  state_.GrantsOf(id).end());
  std::sort(grants.begin(), grants.end());
  for (const std::string& grant : grants) {
    if (const v1::Grant* x = state_.Grant(grant)) *p.add_remove_grants() = *x;
  }
  // Out of the groups that contain it.
  std::vector<std::string> parents(state_.GroupsContaining(id).begin(),
                                   state_.GroupsContaining(id).end());
  std::sort(parents.begin(), parents.end());
  for (const std::string& parent : parents) {
    v1::Group next = *state_.Group(parent);
    auto* members = next.mutable_member_ids();
    members->erase(std::remove(members->begin(), members->end(), id),
                   members->end());
    *p.add_put_groups() = next;
  }
  p.add_delete_groups(id);
  if (absl::Status s = Apply(d); !s.ok()) return s;
  owners_changed_ = true;
  Audit(audit_action::kDelete, audit_entity::kGroup, id, {{"id", id}});
  return absl::OkStatus();
}

absl::Status TransactionApplier::SyncGroup(const v1::SyncGroup& m) {
  if (absl::Status s = Authorize("org.policies.set", org_); !s.ok()) return s;
  if (m.group_id().empty()) return Invalid(field_, "missing group_id");
  const v1::Group* existing = state_.Group(m.group_id());
  if (existing != nullptr && existing->org_id() != org_) {
    return Violates(absl::StatusCode::kAlreadyExists, Refusal::kAlreadyExists,
                    field_,
                    absl::StrCat("id ", Quote(m.group_id()), " is taken"));
  }
  v1::Group next;
  next.set_id(m.group_id());
  next.set_org_id(org_);
  next.set_name(m.name().empty() && existing != nullptr ? existing->name()
                                                        : m.name());
  for (int i = 0; i < m.member_ids_size(); ++i) {
    const std::string& member = m.member_ids(i);
    const v1::Principal* p = state_.Principal(member);
    const v1::Group* g = state_.Group(member);
    if ((p == nullptr || p->org_id() != org_) &&
        (g == nullptr || g->org_id() != org_)) {
      return Violates(absl::StatusCode::kNotFound, Refusal::kNotFound,
                      absl::StrCat(field_, ".member_ids[", i, "]"),
                      absl::StrCat("no principal or group ", Quote(member),
                                   " in organization ", Quote(org_)));
    }
    next.add_member_ids(member);
  }
  StateDelta d;
  d.set_revisions(state_.revision(), state_.revision());
  *d.mutable_proto()->add_put_groups() = next;
  {
    // New members reach the group's grants: CheckReadOnlyCaps judges them.
    const v1::Group* before = state_.Group(next.id());
    for (const std::string& member : next.member_ids()) {
      if (before == nullptr ||
          std::find(before->member_ids().begin(), before->member_ids().end(),
                    member) == before->member_ids().end()) {
        grown_groups_.insert(next.id());
        break;
      }
    }
  }
  if (absl::Status s = Apply(d); !s.ok()) return s;
  owners_changed_ = true;
  Audit(existing == nullptr ? audit_action::kCreate : audit_action::kModify,
        audit_entity::kGroup, next.id(),
        {{"id", next.id()}, {"members", absl::StrCat(next.member_ids_size())}});
  return absl::OkStatus();
}

absl::Status TransactionApplier::ScimEnforceGroups(
    const v1::ScimEnforceGroups& m) {
  if (absl::Status s = Authorize("org.policies.set", org_); !s.ok()) return s;
  std::vector<std::string> members(state_.PrincipalsOf(org_).begin(),
                                   state_.PrincipalsOf(org_).end());
  std::sort(members.begin(), members.end());
  for (const std::string& id : members) {
    const v1::Principal* p = state_.Principal(id);
    if (p == nullptr || !Live(*p) ||
        p->kind() == v1::PRINCIPAL_KIND_SERVICE_ACCOUNT || id == actor_) {
      continue;
    }
    if (state_.GroupsContaining(id).empty()) {
      // In no group: removed from the organization.
      const v1::Principal copy = *p;
      if (absl::Status s = Evict(copy); !s.ok()) return s;
      Audit(audit_action::kRemove, audit_entity::kUser, id,
            {{"removee_id", id}});
      continue;
    }
    // Every direct user binding goes.
    std::vector<v1::Grant> direct;
    for (const std::string& g : state_.GrantsOf(id)) {
      if (const v1::Grant* x = state_.Grant(g)) direct.push_back(*x);
    }
    std::sort(
        direct.begin(), direct.end(),
        [](const v1::Grant& a, const v1::Grant& b) { return a.id() < b.id(); });
    for (const v1::Grant& g : direct) {
      if (absl::Status s = RemoveGrant(g); !s.ok()) return s;
      Audit(audit_action::kRevoke, audit_entity::kPolicy, ScopeOf(g),
            {{"principal_id", id}, {"role", g.role()}, {"grant_id", g.id()}});
    }
  }
  (void)m;
  return absl::OkStatus();
}

// ---- Service accounts: identity_mutations.cc
// ------------------------------------------------------------

// ---- Roles and IAM mapping
// --------------------------------------------------------

absl::Status TransactionApplier::SetCustomRole(const v1::SetCustomRole& m) {
  if (absl::Status s = Authorize("org.roles.manage", org_); !s.ok()) return s;
  if (m.role().name().empty()) return Invalid(field_, "missing role name");
  for (const v1::Role& r : engine_.profile().roles()) {
    if (r.name() == m.role().name() &&
        state_.CustomRole(m.role().name()) == nullptr) {
      return Violates(
          absl::StatusCode::kAlreadyExists, Refusal::kAlreadyExists, field_,
          absl::StrCat("role ", Quote(r.name()), " is a built-in role"));
    }
  }
  StateDelta d;
  d.set_revisions(state_.revision(), state_.revision());
  *d.mutable_proto()->add_put_custom_roles() = m.role();
  if (absl::Status s = Apply(d); !s.ok()) return s;
  owners_changed_ = true;
  Audit(audit_action::kSet, audit_entity::kRole, m.role().name(),
        {{"name", m.role().name()}});
  return absl::OkStatus();
}

absl::Status TransactionApplier::DeleteCustomRole(
    const v1::DeleteCustomRole& m) {
  if (absl::Status s = Authorize("org.roles.manage", org_); !s.ok()) return s;
  if (state_.CustomRole(m.name()) == nullptr) {
    return Violates(absl::StatusCode::kNotFound, Refusal::kNotFound, field_,
                    absl::StrCat("no custom role ", Quote(m.name())));
  }
  StateDelta d;
  d.set_revisions(state_.revision(), state_.revision());
  d.mutable_proto()->add_delete_custom_roles(m.name());
  if (absl::Status s = Apply(d); !s.ok()) return s;
  owners_changed_ = true;
  Audit(audit_action::kDelete, audit_entity::kRole, m.name(),
        {{"name", m.name()}});
  return absl::OkStatus();
}

absl::Status TransactionApplier::SetIamMapping(const v1::SetIamMapping& m) {
  absl::StatusOr<const v1::Cloud*> c = FindCloud(m.cloud(), "cloud");
  if (!c.ok()) return c.status();
  if (absl::Status s = Authorize("cloud.iam_mapping.configure", (*c)->id());
      !s.ok()) {
    return s;
  }
  v1::Cloud next = **c;
  *next.mutable_iam_mapping() = m.mapping();
  StateDelta d;
  d.set_revisions(state_.revision(), state_.revision());
  *d.mutable_proto()->add_put_clouds() = next;
  if (absl::Status s = Apply(d); !s.ok()) return s;
  Audit(audit_action::kSet, audit_entity::kIamMapping, next.id(),
        {{"cloud_id", next.id()},
         {"rules", absl::StrCat(m.mapping().rules_size())}});
  return absl::OkStatus();
}

// ---- The result
// ----------------------------------------------------------------------

absl::Status TransactionApplier::CheckResult(const Engine& result) {
  for (const auto& check : deferred_) {
    if (absl::Status s = check(result); !s.ok()) return s;
  }
  if (absl::Status s = CheckReadOnlyCaps(); !s.ok()) return s;
  if (owners_changed_ && !owners_counted_) {
    return absl::InternalError(
        "mutations: the org owners changed in a transaction that did not "
        "count them first (MayChangeOrgOwners is wrong)");
  }
  if (owners_changed_ && owners_before_ > 0 && CountOrgOwners() == 0) {
    // The organization keeps at least one owner.
    return Violates(absl::StatusCode::kFailedPrecondition,
                    Refusal::kLastOrgOwner, "mutations",
                    absl::StrCat("organization ", Quote(org_),
                                 " would have no owner left"));
  }
  return absl::OkStatus();
}

}  // namespace internal
}  // namespace arbiter
