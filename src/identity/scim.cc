// §10.4 SCIM rules and §10.3 SSO settings (arbiter/identity_rules.h).

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "arbiter/identity_rules.h"
#include "src/identity/rules_internal.h"

namespace arbiter {

using internal::QuoteValue;
using internal::Refuse;

namespace {

absl::Status UnknownOrg(absl::string_view org_id) {
  return Refuse(
      IdentityRule::kUnknownOrganization, absl::StatusCode::kNotFound,
      absl::StrCat("organization ", QuoteValue(org_id), " not found"));
}

// What the SCIM functions need to know about one organization of a state.
struct OrgFacts {
  // Role name -> the role (profile and custom roles).
  absl::flat_hash_map<std::string, const v1::Role*> roles;
  // Principal or group id -> the groups of the organization containing it
  // directly.
  absl::flat_hash_map<std::string, std::vector<std::string>> parents;
  absl::flat_hash_map<std::string, std::string> project_cloud;
  absl::flat_hash_set<std::string> clouds;
  absl::flat_hash_set<std::string> groups;
};

OrgFacts Gather(const v1::PolicySet& state, absl::string_view org_id,
                const IdentityOptions& options) {
  OrgFacts f;
  for (const v1::Role& r : internal::ProfileOf(options).roles())
    f.roles.emplace(r.name(), &r);
  for (const v1::Role& r : state.custom_roles()) f.roles.emplace(r.name(), &r);
  for (const v1::Cloud& c : state.clouds()) {
    if (c.org_id() == org_id) f.clouds.insert(c.id());
  }
  for (const v1::Project& p : state.projects()) {
    if (f.clouds.contains(p.cloud_id())) f.project_cloud[p.id()] = p.cloud_id();
  }
  for (const v1::Group& g : state.groups()) {
    if (g.org_id() != org_id) continue;
    f.groups.insert(g.id());
    for (const std::string& m : g.member_ids()) f.parents[m].push_back(g.id());
  }
  return f;
}

// The subject itself and every group containing it, transitively.
std::vector<std::string> Subjects(const OrgFacts& f, const std::string& id) {
  std::vector<std::string> out = {id};
  absl::flat_hash_set<std::string> seen = {id};
  for (size_t i = 0; i < out.size(); ++i) {
    auto it = f.parents.find(out[i]);
    if (it == f.parents.end()) continue;
    for (const std::string& g : it->second) {
      if (seen.insert(g).second) out.push_back(g);
    }
  }
  return out;
}

absl::string_view SubjectOf(const v1::Grant& g) {
  return g.subject_case() == v1::Grant::kPrincipalId ? g.principal_id()
                                                     : g.group_id();
}

bool IsAllow(const OrgFacts& f, const std::string& role) {
  auto it = f.roles.find(role);
  return it != f.roles.end() && it->second->effect() != v1::ROLE_EFFECT_DENY;
}

bool IsOwnerGrant(const OrgFacts& f, const v1::Grant& g,
                  absl::string_view org_id, absl::Time now) {
  if (g.scope_case() != v1::Grant::kOrgId || g.org_id() != org_id ||
      !internal::GrantLive(g, now)) {
    return false;
  }
  auto it = f.roles.find(g.role());
  return it != f.roles.end() && it->second->all_permissions() &&
         it->second->effect() != v1::ROLE_EFFECT_DENY;
}

}  // namespace

absl::Status CheckMemberRevocation(const IdentityStateView& state,
                                   absl::string_view principal_id,
                                   absl::Time now) {
  const v1::Principal* p = state.FindPrincipal(principal_id);
  if (p == nullptr) {
    return Refuse(
        IdentityRule::kPrincipalUnknown, absl::StatusCode::kNotFound,
        absl::StrCat("principal ", QuoteValue(principal_id), " not found"));
  }
  if (p->kind() == v1::PRINCIPAL_KIND_SERVICE_ACCOUNT) return absl::OkStatus();
  const v1::IdentitySettings* s = state.FindIdentitySettings(p->org_id());
  if (s != nullptr && s->scim_enabled() &&
      state.HasGroupBinding(p->org_id(), now)) {
    return Refuse(IdentityRule::kScimHumanRevoke,
                  absl::StatusCode::kFailedPrecondition,
                  absl::StrCat("user ", QuoteValue(principal_id),
                               ": organization ", QuoteValue(p->org_id()),
                               " has SCIM on and a group policy binding; a "
                               "human member's access is managed through "
                               "directory groups (access-model §4.3)"));
  }
  return absl::OkStatus();
}

absl::Status CheckGroupMembershipWrite(absl::string_view group_id,
                                       bool from_directory_sync) {
  if (from_directory_sync) return absl::OkStatus();
  return Refuse(IdentityRule::kGroupMembershipNotSynced,
                absl::StatusCode::kPermissionDenied,
                absl::StrCat("group ", QuoteValue(group_id),
                             ": membership is written only by the directory "
                             "sync (access-model §10.4)"));
}

absl::StatusOr<std::vector<PermissionGap>> ScimCheckPermissions(
    const v1::PolicySet& state, absl::string_view org_id, absl::Time now,
    const IdentityOptions& options) {
  if (std::none_of(state.organizations().begin(), state.organizations().end(),
                   [&](const v1::Organization& o) { return o.id() == org_id; }))
    return UnknownOrg(org_id);
  const OrgFacts f = Gather(state, org_id, options);
  absl::flat_hash_map<std::string, std::vector<const v1::Grant*>> grants_of;
  for (const v1::Grant& g : state.grants()) {
    if (internal::GrantLive(g, now)) grants_of[SubjectOf(g)].push_back(&g);
  }
  std::vector<PermissionGap> out;
  for (const v1::Principal& p : state.principals()) {
    if (p.org_id() != org_id || p.kind() != v1::PRINCIPAL_KIND_USER ||
        !internal::IsActive(p)) {
      continue;
    }
    std::map<std::string, std::set<std::string>> cloud_roles;
    std::set<std::string> clouds_with_project_role;
    bool owner = false;
    for (const std::string& subject : Subjects(f, p.id())) {
      auto it = grants_of.find(subject);
      if (it == grants_of.end()) continue;
      for (const v1::Grant* g : it->second) {
        owner |= IsOwnerGrant(f, *g, org_id, now);
        if (!IsAllow(f, g->role())) continue;
        if (g->scope_case() == v1::Grant::kCloudId &&
            f.clouds.contains(g->cloud_id())) {
          cloud_roles[g->cloud_id()].insert(g->role());
        } else if (g->scope_case() == v1::Grant::kProjectId) {
          auto c = f.project_cloud.find(g->project_id());
          if (c != f.project_cloud.end())
            clouds_with_project_role.insert(c->second);
        }
      }
    }
    if (owner) continue;
    for (const auto& [cloud, roles] : cloud_roles) {
      if (clouds_with_project_role.count(cloud)) continue;
      out.push_back({p.id(), p.email(), cloud,
                     std::vector<std::string>(roles.begin(), roles.end())});
    }
  }
  std::sort(out.begin(), out.end(),
            [](const PermissionGap& a, const PermissionGap& b) {
              return std::tie(a.principal_id, a.cloud_id) <
                     std::tie(b.principal_id, b.cloud_id);
            });
  return out;
}

absl::StatusOr<v1::IdentityPlan> PlanScimEnforceGroups(
    const v1::PolicySet& state, absl::string_view org_id, absl::Time now,
    const IdentityOptions& options) {
  if (std::none_of(state.organizations().begin(), state.organizations().end(),
                   [&](const v1::Organization& o) { return o.id() == org_id; }))
    return UnknownOrg(org_id);
  const v1::IdentitySettings* settings = nullptr;
  for (const v1::IdentitySettings& s : state.identity_settings()) {
    if (s.org_id() == org_id) settings = &s;
  }
  if (settings == nullptr || !settings->scim_enabled()) {
    return Refuse(IdentityRule::kScimNotEnabled,
                  absl::StatusCode::kFailedPrecondition,
                  absl::StrCat("organization ", QuoteValue(org_id),
                               ": enforce-groups needs SCIM directory sync "
                               "(identity_settings.scim_enabled)"));
  }
  const OrgFacts f = Gather(state, org_id, options);

  // Users removed from the organization: ACTIVE users in no group.
  absl::flat_hash_set<std::string> users, removed;
  v1::IdentityPlan plan;
  for (const v1::Principal& p : state.principals()) {
    if (p.org_id() != org_id || p.kind() != v1::PRINCIPAL_KIND_USER) continue;
    users.insert(p.id());
    if (!internal::IsActive(p)) continue;
    auto in = f.parents.find(p.id());
    if (in != f.parents.end() && !in->second.empty()) continue;
    removed.insert(p.id());
    v1::PrincipalStateChange* change = plan.add_principal_states();
    change->set_principal_id(p.id());
    change->set_state(v1::PRINCIPAL_STATE_DELETED);
  }
  for (const v1::ApiKey& k : state.api_keys()) {
    if (removed.contains(k.principal_id()) && !internal::KeyRevoked(k)) {
      v1::KeyRevocation* r = plan.add_revoke_api_keys();
      r->set_key_id(k.id());
      internal::SetTimestamp(now, r->mutable_revoked_at());
    }
  }
  // Direct user bindings; every binding of a removed user.
  absl::flat_hash_set<std::string> removed_grants;
  for (const v1::Grant& g : state.grants()) {
    if (g.subject_case() != v1::Grant::kPrincipalId ||
        !users.contains(g.principal_id())) {
      continue;
    }
    const bool org_scope = g.scope_case() == v1::Grant::kOrgId;
    if (!org_scope || options.enforce_groups_removes_org_bindings ||
        removed.contains(g.principal_id())) {
      plan.add_remove_grant_ids(g.id());
      removed_grants.insert(g.id());
    }
  }

  // §4.3: the organization keeps an owner.
  auto has_owner = [&](bool after) {
    absl::flat_hash_map<std::string, std::vector<const v1::Grant*>> grants_of;
    for (const v1::Grant& g : state.grants()) {
      if (after && removed_grants.contains(g.id())) continue;
      if (IsOwnerGrant(f, g, org_id, now))
        grants_of[SubjectOf(g)].push_back(&g);
    }
    for (const v1::Principal& p : state.principals()) {
      if (p.org_id() != org_id || !internal::IsActive(p)) continue;
      if (after && removed.contains(p.id())) continue;
      for (const std::string& subject : Subjects(f, p.id())) {
        if (grants_of.contains(subject)) return true;
      }
    }
    return false;
  };
  if (has_owner(false) && !has_owner(true)) {
    return Refuse(IdentityRule::kLastOrgOwner,
                  absl::StatusCode::kFailedPrecondition,
                  absl::StrCat("organization ", QuoteValue(org_id),
                               ": enforce-groups would leave it without an "
                               "active owner (access-model §4.3); put an "
                               "owner in a directory group holding the owner "
                               "role first"));
  }
  return plan;
}

absl::StatusOr<v1::IdentityPlan> PlanSetIdentitySettings(
    const IdentityStateView& state, const v1::IdentitySettings& settings) {
  const std::string& org_id = settings.org_id();
  if (state.FindOrganization(org_id) == nullptr) return UnknownOrg(org_id);
  if (!v1::SsoMode_IsValid(settings.sso_mode())) {
    return Refuse(IdentityRule::kSsoModeInvalid,
                  absl::StatusCode::kInvalidArgument,
                  absl::StrCat("identity settings of ", QuoteValue(org_id),
                               ": unknown SSO mode ", settings.sso_mode()));
  }
  v1::IdentityPlan plan;
  v1::IdentitySettings* out = plan.add_set_identity_settings();
  *out = settings;
  absl::flat_hash_set<std::string> seen;
  for (int i = 0; i < out->domains_size(); ++i) {
    v1::SsoDomain* d = out->mutable_domains(i);
    const std::string domain = internal::Lower(d->domain());
    const std::string where = absl::StrCat(
        "identity settings of ", QuoteValue(org_id), ": domains[", i, "]: ");
    const std::string problem = internal::CheckDomain(domain);
    if (!problem.empty()) {
      return Refuse(IdentityRule::kSsoDomainInvalid,
                    absl::StatusCode::kInvalidArgument,
                    absl::StrCat(where, problem));
    }
    if (!seen.insert(domain).second) {
      return Refuse(
          IdentityRule::kSsoDomainDuplicate, absl::StatusCode::kInvalidArgument,
          absl::StrCat(where, "duplicate domain ", QuoteValue(domain)));
    }
    if (d->verified()) {
      const absl::string_view other = state.OrgVerifyingDomain(domain);
      if (!other.empty() && other != org_id) {
        return Refuse(
            IdentityRule::kSsoDomainTaken, absl::StatusCode::kAlreadyExists,
            absl::StrCat(where, "domain ", QuoteValue(domain),
                         " is verified by organization ", QuoteValue(other)));
      }
    }
    d->set_domain(domain);
  }
  return plan;
}

}  // namespace arbiter
