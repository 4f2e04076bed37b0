// Random valid states and random queries. See random_policy.h.
//
// Validity rules the generator keeps (they mirror Engine::Create's checks and
// are enforced by construction, never by retrying Create):
//  * ids are unique across all objects; names are unique among siblings;
//    emails are unique per organization among principals that are not
//    deleted, case-insensitively (a deleted principal may share one: a
//    re-invited user);
//  * every cloud has exactly one default project, which is public;
//  * group members are principals or later groups of the same organization,
//    so nesting is a DAG;
//  * a role is granted only at a scope in its grantable_at, only to a subject
//    kind in its subject_kinds; auto-add grants carry the profile's
//    auto_add_role, to a principal, on a cloud;
//  * a project grant's subject has an allow grant on the project's cloud
//    (itself or through one of its groups) or holds an all_permissions role
//    (org owner) in the organization;
//  * a deny role's incompatible_roles are never held by the same subject at
//    the same scope, and while a subject holds a deny role with a
//    project_role_limit on a cloud, its project grants there stay within the
//    limit;
//  * service accounts never hold an all_permissions role, directly or
//    through a group, unless EngineOptions allows it.

#include "tests/testing/random_policy.h"

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "arbiter/profile.h"
#include "tests/testing/fake_clock.h"

namespace arbiter {
namespace testing {
namespace {

template <typename Container, typename T>
bool Contains(const Container& c, const T& value) {
  for (const auto& v : c) {
    if (v == value) return true;
  }
  return false;
}

std::string RandomCase(Rng& rng, absl::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (rng.Chance(0.5)) c = absl::ascii_toupper(static_cast<unsigned char>(c));
  }
  return out;
}

std::string RandomLetters(Rng& rng, int n) {
  std::string out;
  for (int i = 0; i < n; ++i)
    out.push_back(static_cast<char>('a' + rng.Below(26)));
  return out;
}

google::protobuf::Timestamp ToTimestamp(absl::Time t) {
  google::protobuf::Timestamp ts;
  const int64_t seconds = absl::ToUnixSeconds(t);
  ts.set_seconds(seconds);
  ts.set_nanos(static_cast<int32_t>((t - absl::FromUnixSeconds(seconds)) /
                                    absl::Nanoseconds(1)));
  return ts;
}

absl::Time FromTimestamp(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

// A grant subject.
struct Subject {
  std::string id;
  bool is_group = false;
  v1::SubjectKind kind = v1::SUBJECT_KIND_UNSPECIFIED;
};

// A grant scope.
struct Scope {
  v1::ScopeType type = v1::SCOPE_TYPE_UNSPECIFIED;
  std::string id;
  std::string org_id;
  std::string cloud_id;  // the cloud itself, or the project's cloud
};

// Builds and edits one state. Every question about the state is answered by
// scanning policy->state, so edits made by AddRandomGrant see everything.
class Builder {
 public:
  // `editing`: the state exists already (AddRandomGrant); new grant ids are
  // then random instead of counted.
  Builder(Rng& rng, RandomPolicy* policy, bool editing)
      : rng_(rng), p_(*policy), s_(policy->state), editing_(editing) {
    for (const v1::Role& r : BuiltinProfile().roles()) roles_.push_back(r);
    for (const v1::Role& r : s_.custom_roles()) roles_.push_back(r);
  }

  void Generate() {
    large_ = rng_.Chance(p_.config.large_state_probability);
    RandomizeOptions();
    BuildStructure();
    if (rng_.Chance(p_.config.custom_vocabulary_probability)) {
      BuildCustomVocabulary();
    }
    for (const v1::Organization& org : s_.organizations()) GrantInOrg(org.id());
    DuplicateSomeGrants();
    ShuffleGrants();
    CollectQueryTimes();
  }

  bool AddGrant(GrantKind kind) {
    for (int attempt = 0; attempt < 500; ++attempt) {
      const v1::Organization& org =
          s_.organizations(rng_.Below(s_.organizations_size()));
      std::vector<Subject> subjects = SubjectsOf(org.id());
      std::vector<Scope> scopes = ScopesOf(org.id());
      if (subjects.empty() || scopes.empty()) continue;
      const Subject subject = rng_.Pick(subjects);
      const Scope scope = rng_.Pick(scopes);
      std::vector<const v1::Role*> candidates;
      for (const v1::Role& r : roles_) {
        if ((r.effect() == v1::ROLE_EFFECT_DENY) != (kind == GrantKind::kDeny))
          continue;
        candidates.push_back(&r);
      }
      const v1::Role* role = candidates[rng_.Below(candidates.size())];
      v1::GrantSource source = v1::GRANT_SOURCE_UNSPECIFIED;
      if (scope.type == v1::SCOPE_TYPE_CLOUD && !subject.is_group &&
          role->name() == BuiltinProfile().auto_add_role() &&
          rng_.Chance(0.5)) {
        source = v1::GRANT_SOURCE_AUTO_ADD;
      }
      const v1::Grant* g = TryGrant(subject, *role, scope, source);
      if (g == nullptr) continue;
      if (g->has_expires_at())
        AddQueryTimesAround(FromTimestamp(g->expires_at()));
      return true;
    }
    return false;
  }

 private:
  // ------------------------------------------------------------ structure

  std::string NewId(absl::string_view prefix) {
    // A random token before the counter scrambles the bytewise order of ids
    // relative to creation order; the counter keeps them unique.
    return absl::StrCat(prefix, "_", RandomLetters(rng_, 2), ++counter_);
  }

  // Picks a name from `pool` not yet in `used` (appending a digit if the
  // pool is exhausted) and records it.
  std::string FreshName(const std::vector<std::string>& pool,
                        std::vector<std::string>* used) {
    std::string name = rng_.Pick(pool);
    for (int i = 2; Contains(*used, name); ++i) {
      name = absl::StrCat(rng_.Pick(pool), i);
    }
    used->push_back(name);
    return name;
  }

  void RandomizeOptions() {
    EngineOptions& o = p_.options;
    if (p_.config.randomize_options) {
      o.cloud_owner_private_project_access = rng_.Chance(0.3);
      o.cloud_owner_configures_iam_mapping = rng_.Chance(0.3);
      o.allow_service_account_org_owner = rng_.Chance(0.15);
      o.cloud_owner_deletes_cloud = rng_.Chance(0.7);
      switch (rng_.Below(3)) {
        case 0:
          o.project_write_workload_delete = WorkloadDeletePolicy::kNever;
          break;
        case 1:
          o.project_write_workload_delete = WorkloadDeletePolicy::kOwnWorkloads;
          break;
        default:
          o.project_write_workload_delete = WorkloadDeletePolicy::kAllWorkloads;
      }
    }
    o.clock = std::make_shared<FakeClock>(p_.now);
  }

  void BuildStructure() {
    static const std::vector<std::string> kOrgNames = {
        "acme", "globex", "initech", "umbrella", "hooli", "stark"};
    static const std::vector<std::string> kLocals = {
        "alice", "bob",    "carol", "dave",  "erin",    "frank", "grace",
        "heidi", "ivan",   "judy",  "kim",   "mallory", "niaj",  "olivia",
        "peggy", "rupert", "sybil", "trent", "victor",  "walter"};
    static const std::vector<std::string> kDomains = {"acme.com", "example.org",
                                                      "corp.io"};
    static const std::vector<std::string> kCloudNames = {
        "alpha", "beta", "gamma", "prod", "dev"};
    static const std::vector<std::string> kProjectNames = {
        "web", "ml", "data", "etl", "research", "default"};
    static const std::vector<std::string> kWorkloadNames = {
        "nightly", "notebook", "serve", "train", "ingest"};
    static const std::vector<std::string> kSmallNames = {"cpu", "gpu", "tiny"};
    static const std::vector<std::string> kGroupNames = {
        "admins", "ml-team", "interns", "sre", "data", "everyone"};

    s_.set_revision(1 + rng_.Below(1000000));
    std::vector<std::string> org_names;
    std::vector<std::string> all_user_emails;  // lower-case, across orgs
    const int n_orgs = rng_.Between(p_.config.min_orgs, p_.config.max_orgs);
    for (int o = 0; o < n_orgs; ++o) {
      v1::Organization* org = s_.add_organizations();
      org->set_id(NewId("org"));
      org->set_name(FreshName(kOrgNames, &org_names));

      std::vector<std::string> image_names;
      for (int i = rng_.Between(0, 2); i > 0; --i) {
        v1::Image* img = s_.add_images();
        img->set_id(NewId("img"));
        img->set_org_id(org->id());
        img->set_name(FreshName(kSmallNames, &image_names));
        img->set_kind(static_cast<v1::ImageKind>(rng_.Below(4)));
      }

      // Principals: users and service accounts in every state.
      std::vector<std::string> org_emails;       // lower-case, every state
      std::vector<std::string> org_live_emails;  // lower-case, not deleted
      std::vector<std::string> principal_ids;
      const int n_principals = rng_.Between(p_.config.min_principals_per_org,
                                            p_.config.max_principals_per_org);
      for (int i = 0; i < n_principals; ++i) {
        v1::Principal* pr = s_.add_principals();
        const bool sa = rng_.Chance(0.2);
        pr->set_id(NewId(sa ? "sa" : "usr"));
        pr->set_org_id(org->id());
        pr->set_kind(sa ? v1::PRINCIPAL_KIND_SERVICE_ACCOUNT
                        : v1::PRINCIPAL_KIND_USER);
        const size_t st = rng_.Below(20);
        pr->set_state(st < 7    ? v1::PRINCIPAL_STATE_UNSPECIFIED
                      : st < 14 ? v1::PRINCIPAL_STATE_ACTIVE
                      : st < 17 ? v1::PRINCIPAL_STATE_INVITED
                                : v1::PRINCIPAL_STATE_DELETED);
        const bool deleted = pr->state() == v1::PRINCIPAL_STATE_DELETED;
        std::string email;
        std::vector<std::string> reusable;  // emails only deleted ones hold
        for (const std::string& e : org_emails) {
          if (!Contains(org_live_emails, e)) reusable.push_back(e);
        }
        if (!sa && !all_user_emails.empty() && rng_.Chance(0.3)) {
          // The same person in another organization.
          email = rng_.Pick(all_user_emails);
        } else if (!sa && deleted && !org_emails.empty() && rng_.Chance(0.3)) {
          // An earlier, deleted account of someone in this organization.
          email = rng_.Pick(org_emails);
        } else if (!sa && !deleted && !reusable.empty() && rng_.Chance(0.3)) {
          // Re-invited after being deleted: a new principal, the old email.
          email = rng_.Pick(reusable);
        }
        auto taken = [&](const std::string& e) {
          return deleted ? false : Contains(org_live_emails, e);
        };
        for (int tries = 0; email.empty() || taken(email); ++tries) {
          const std::string local = rng_.Pick(kLocals);
          email =
              sa ? absl::StrCat(local, tries, "@", org->id(),
                                ".serviceaccount.com")
                 : absl::StrCat(local, tries == 0 ? "" : absl::StrCat(tries),
                                "@", rng_.Pick(kDomains));
        }
        if (!Contains(org_emails, email)) org_emails.push_back(email);
        if (!deleted) org_live_emails.push_back(email);
        if (!sa && !Contains(all_user_emails, email)) {
          all_user_emails.push_back(email);
        }
        pr->set_email(rng_.Chance(0.25) ? RandomCase(rng_, email) : email);
        pr->set_name(email.substr(0, email.find('@')));
        principal_ids.push_back(pr->id());
      }

      // Groups: group i may contain groups created after it (a DAG).
      std::vector<std::string> group_names;
      const int first_group = s_.groups_size();
      const int n_groups = rng_.Between(0, p_.config.max_groups_per_org);
      for (int i = 0; i < n_groups; ++i) {
        v1::Group* g = s_.add_groups();
        g->set_id(NewId("grp"));
        g->set_org_id(org->id());
        g->set_name(FreshName(kGroupNames, &group_names));
      }
      for (int i = 0; i < n_groups; ++i) {
        v1::Group* g = s_.mutable_groups(first_group + i);
        for (int j = i + 1; j < n_groups; ++j) {
          if (rng_.Chance(0.35)) {
            g->add_member_ids(s_.groups(first_group + j).id());
          }
        }
        for (const std::string& pid : principal_ids) {
          if (rng_.Chance(0.3)) g->add_member_ids(pid);
        }
        std::vector<std::string> members(g->member_ids().begin(),
                                         g->member_ids().end());
        rng_.Shuffle(&members);
        g->clear_member_ids();
        for (const std::string& m : members) g->add_member_ids(m);
      }

      // Clouds, compute configs, projects, workloads.
      std::vector<std::string> cloud_names;
      const int n_clouds = rng_.Between(1, p_.config.max_clouds_per_org);
      for (int c = 0; c < n_clouds; ++c) {
        v1::Cloud* cloud = s_.add_clouds();
        cloud->set_id(NewId("cld"));
        cloud->set_org_id(org->id());
        cloud->set_name(FreshName(kCloudNames, &cloud_names));
        cloud->set_auto_add_users(rng_.Chance(0.4));
        std::vector<std::string> cc_names;
        for (int i = rng_.Between(0, 2); i > 0; --i) {
          v1::ComputeConfig* cc = s_.add_compute_configs();
          cc->set_id(NewId("cc"));
          cc->set_cloud_id(cloud->id());
          cc->set_name(FreshName(kSmallNames, &cc_names));
        }
        std::vector<std::string> project_names;
        const int n_projects =
            1 + rng_.Between(
                    0, p_.config.max_projects_per_cloud * (large_ ? 3 : 1));
        for (int i = 0; i < n_projects; ++i) {
          v1::Project* prj = s_.add_projects();
          prj->set_id(NewId("prj"));
          prj->set_cloud_id(cloud->id());
          const bool is_default = i == 0;
          if (is_default) {
            prj->set_is_default(true);
            const std::string name = rng_.Chance(0.85) ? "default" : "main";
            project_names.push_back(name);
            prj->set_name(name);
            prj->set_visibility(rng_.Chance(0.5) ? v1::VISIBILITY_PUBLIC
                                                 : v1::VISIBILITY_UNSPECIFIED);
          } else {
            prj->set_name(FreshName(kProjectNames, &project_names));
            prj->set_visibility(static_cast<v1::Visibility>(rng_.Below(3)));
          }
          if (rng_.Chance(is_default ? 0.2 : 0.5)) {
            prj->set_creator_id(rng_.Pick(principal_ids));
          }
          std::vector<std::string> workload_names;
          for (int w = rng_.Between(0, p_.config.max_workloads_per_project);
               w > 0; --w) {
            v1::Workload* wl = s_.add_workloads();
            wl->set_id(NewId("wl"));
            const size_t form = rng_.Below(10);
            if (is_default && form < 4) {
              wl->set_cloud_id(cloud->id());  // lands in the default project
            } else {
              wl->set_project_id(prj->id());
              if (form >= 8) wl->set_cloud_id(cloud->id());
            }
            if (rng_.Chance(0.8)) {
              wl->set_name(FreshName(kWorkloadNames, &workload_names));
            }
            wl->set_type(static_cast<v1::WorkloadType>(1 + rng_.Below(4)));
            if (rng_.Chance(0.75)) wl->set_creator_id(rng_.Pick(principal_ids));
          }
        }
      }
    }
  }

  // ------------------------------------------------------------ vocabulary

  void BuildCustomVocabulary() {
    std::vector<std::string> org_perms, cloud_perms, project_perms;
    for (const v1::Permission& perm : BuiltinProfile().permissions()) {
      if (perm.scope() == v1::SCOPE_TYPE_ORG) org_perms.push_back(perm.name());
      if (perm.scope() == v1::SCOPE_TYPE_CLOUD)
        cloud_perms.push_back(perm.name());
      if (perm.scope() == v1::SCOPE_TYPE_PROJECT) {
        project_perms.push_back(perm.name());
      }
    }
    auto add_perm = [&](const char* name, v1::ScopeType scope,
                        bool forbidden_on_default,
                        std::vector<std::string>* to) {
      v1::Permission* perm = s_.add_custom_permissions();
      perm->set_name(name);
      perm->set_scope(scope);
      perm->set_description("random custom permission");
      perm->set_forbidden_on_default_project(forbidden_on_default);
      to->push_back(name);
    };
    if (rng_.Chance(0.6)) {
      add_perm("custom.org.reports", v1::SCOPE_TYPE_ORG, false, &org_perms);
    }
    if (rng_.Chance(0.6)) {
      add_perm("custom.cloud.gpu_quota", v1::SCOPE_TYPE_CLOUD, false,
               &cloud_perms);
    }
    if (rng_.Chance(0.6)) {
      add_perm("custom.project.notebook", v1::SCOPE_TYPE_PROJECT, false,
               &project_perms);
    }
    if (rng_.Chance(0.5)) {
      add_perm("custom.project.purge", v1::SCOPE_TYPE_PROJECT, true,
               &project_perms);
    }

    std::vector<std::string> project_roles = {"project_owner", "project_write",
                                              "project_readonly",
                                              "project_workload_operator"};
    std::vector<std::string> allow_roles;
    for (const v1::Role& r : roles_) {
      if (r.effect() != v1::ROLE_EFFECT_DENY) allow_roles.push_back(r.name());
    }
    auto subset =
        [&](const std::vector<std::string>& from, double p,
            google::protobuf::RepeatedPtrField<std::string>* to,
            const google::protobuf::RepeatedPtrField<std::string>* exclude =
                nullptr) {
          for (const std::string& x : from) {
            if (exclude != nullptr && Contains(*exclude, x)) continue;
            if (rng_.Chance(p)) to->Add()->assign(x);
          }
        };
    auto random_kinds = [&](v1::Role* r) {
      if (rng_.Chance(0.4)) return;  // empty: every kind
      for (v1::SubjectKind k :
           {v1::SUBJECT_KIND_USER, v1::SUBJECT_KIND_SERVICE_ACCOUNT,
            v1::SUBJECT_KIND_GROUP}) {
        if (rng_.Chance(0.6)) r->add_subject_kinds(k);
      }
      if (r->subject_kinds_size() == 0)
        r->add_subject_kinds(v1::SUBJECT_KIND_USER);
    };
    auto new_role = [&](const std::string& name, v1::RoleEffect effect) {
      v1::Role* r = s_.add_custom_roles();
      r->set_name(name);
      r->set_description("random custom role");
      r->set_effect(effect);
      return r;
    };

    int n = 0;
    // Project roles and implied-only roles first: cloud roles refer to them.
    for (int i = rng_.Between(0, 2); i > 0; --i) {
      const bool implied_only = rng_.Chance(0.4);
      v1::Role* r = new_role(
          absl::StrCat(implied_only ? "custom_implied_" : "custom_project_",
                       ++n),
          v1::ROLE_EFFECT_ALLOW);
      if (!implied_only) {
        r->add_grantable_at(v1::SCOPE_TYPE_PROJECT);
        random_kinds(r);
      }
      subset(project_perms, 0.4, r->mutable_permissions());
      subset(project_perms, 0.2, r->mutable_own_workload_permissions(),
             &r->permissions());
      project_roles.push_back(r->name());
      allow_roles.push_back(r->name());
    }
    for (int i = rng_.Between(0, 2); i > 0; --i) {
      v1::Role* r =
          new_role(absl::StrCat("custom_cloud_", ++n), v1::ROLE_EFFECT_ALLOW);
      r->add_grantable_at(v1::SCOPE_TYPE_CLOUD);
      random_kinds(r);
      subset(cloud_perms, 0.4, r->mutable_permissions());
      subset(project_perms, 0.15, r->mutable_permissions());
      subset(project_perms, 0.15, r->mutable_own_workload_permissions(),
             &r->permissions());
      if (rng_.Chance(0.7))
        r->set_public_project_role(rng_.Pick(project_roles));
      if (rng_.Chance(0.4))
        r->set_private_project_role(rng_.Pick(project_roles));
      allow_roles.push_back(r->name());
    }
    for (int i = rng_.Between(0, 1); i > 0; --i) {
      v1::Role* r =
          new_role(absl::StrCat("custom_org_", ++n), v1::ROLE_EFFECT_ALLOW);
      r->add_grantable_at(v1::SCOPE_TYPE_ORG);
      random_kinds(r);
      subset(org_perms, 0.3, r->mutable_permissions());
      subset(cloud_perms, 0.15, r->mutable_permissions());
      subset(project_perms, 0.1, r->mutable_permissions());
      subset(project_perms, 0.1, r->mutable_own_workload_permissions(),
             &r->permissions());
      allow_roles.push_back(r->name());
    }
    for (int i = rng_.Between(0, 2); i > 0; --i) {
      v1::Role* r =
          new_role(absl::StrCat("custom_deny_", ++n), v1::ROLE_EFFECT_DENY);
      // A role's permissions must be at or below every scope it is grantable
      // at, so the lowest grantable scope bounds them.
      v1::ScopeType lowest = v1::SCOPE_TYPE_UNSPECIFIED;
      for (v1::ScopeType t :
           {v1::SCOPE_TYPE_ORG, v1::SCOPE_TYPE_CLOUD, v1::SCOPE_TYPE_PROJECT}) {
        if (rng_.Chance(0.5)) {
          r->add_grantable_at(t);
          lowest = t;
        }
      }
      if (lowest == v1::SCOPE_TYPE_UNSPECIFIED) {
        lowest = static_cast<v1::ScopeType>(1 + rng_.Below(3));
        r->add_grantable_at(lowest);
      }
      random_kinds(r);
      if (lowest == v1::SCOPE_TYPE_ORG)
        subset(org_perms, 0.3, r->mutable_permissions());
      if (lowest != v1::SCOPE_TYPE_PROJECT) {
        subset(cloud_perms, 0.3, r->mutable_permissions());
      }
      subset(project_perms, 0.3, r->mutable_permissions());
      subset(allow_roles, 0.15, r->mutable_exempt_roles());
      if (rng_.Chance(0.5)) {
        r->set_implied_project_role_cap(rng_.Pick(project_roles));
      }
    }
    for (const v1::Role& r : s_.custom_roles()) roles_.push_back(r);
  }

  // ------------------------------------------------------------ queries

  const v1::Role* FindRole(absl::string_view name) const {
    for (const v1::Role& r : roles_) {
      if (r.name() == name) return &r;
    }
    return nullptr;
  }

  const v1::Principal* FindPrincipal(absl::string_view id) const {
    for (const v1::Principal& pr : s_.principals()) {
      if (pr.id() == id) return &pr;
    }
    return nullptr;
  }

  std::vector<Subject> SubjectsOf(absl::string_view org_id) const {
    std::vector<Subject> out;
    for (const v1::Principal& pr : s_.principals()) {
      if (pr.org_id() != org_id) continue;
      Subject sub;
      sub.id = pr.id();
      sub.kind = pr.kind() == v1::PRINCIPAL_KIND_SERVICE_ACCOUNT
                     ? v1::SUBJECT_KIND_SERVICE_ACCOUNT
                     : v1::SUBJECT_KIND_USER;
      out.push_back(sub);
    }
    for (const v1::Group& g : s_.groups()) {
      if (g.org_id() != org_id) continue;
      Subject sub;
      sub.id = g.id();
      sub.is_group = true;
      sub.kind = v1::SUBJECT_KIND_GROUP;
      out.push_back(sub);
    }
    return out;
  }

  std::vector<Scope> ScopesOf(absl::string_view org_id) const {
    std::vector<Scope> out;
    Scope org;
    org.type = v1::SCOPE_TYPE_ORG;
    org.id = std::string(org_id);
    org.org_id = org.id;
    out.push_back(org);
    for (const v1::Cloud& c : s_.clouds()) {
      if (c.org_id() != org_id) continue;
      Scope cs;
      cs.type = v1::SCOPE_TYPE_CLOUD;
      cs.id = c.id();
      cs.org_id = c.org_id();
      cs.cloud_id = c.id();
      out.push_back(cs);
      for (const v1::Project& prj : s_.projects()) {
        if (prj.cloud_id() != c.id()) continue;
        Scope ps = cs;
        ps.type = v1::SCOPE_TYPE_PROJECT;
        ps.id = prj.id();
        out.push_back(ps);
      }
    }
    return out;
  }

  // `member_id` and every group that contains it, transitively.
  std::vector<std::string> Holders(absl::string_view member_id) const {
    std::vector<std::string> out = {std::string(member_id)};
    bool changed = true;
    while (changed) {
      changed = false;
      for (const v1::Group& g : s_.groups()) {
        if (Contains(out, g.id())) continue;
        for (const std::string& m : g.member_ids()) {
          if (Contains(out, m)) {
            out.push_back(g.id());
            changed = true;
            break;
          }
        }
      }
    }
    return out;
  }

  bool GroupContainsServiceAccount(absl::string_view group_id) const {
    for (const v1::Principal& pr : s_.principals()) {
      if (pr.kind() == v1::PRINCIPAL_KIND_SERVICE_ACCOUNT &&
          Contains(Holders(pr.id()), group_id)) {
        return true;
      }
    }
    return false;
  }

  static std::string SubjectOf(const v1::Grant& g) {
    return g.subject_case() == v1::Grant::kGroupId ? g.group_id()
                                                   : g.principal_id();
  }

  static std::string ScopeIdOf(const v1::Grant& g) {
    switch (g.scope_case()) {
      case v1::Grant::kOrgId:
        return g.org_id();
      case v1::Grant::kCloudId:
        return g.cloud_id();
      case v1::Grant::kProjectId:
        return g.project_id();
      default:
        return "";
    }
  }

  std::string CloudOfProject(absl::string_view project_id) const {
    for (const v1::Project& prj : s_.projects()) {
      if (prj.id() == project_id) return prj.cloud_id();
    }
    return "";
  }

  // The cloud grant or org ownership a project grant on `cloud_id` needs.
  bool HasPrerequisite(const Subject& subject, const Scope& scope) const {
    const std::vector<std::string> holders = Holders(subject.id);
    for (const v1::Grant& g : s_.grants()) {
      if (!Contains(holders, SubjectOf(g))) continue;
      if (p_.config.prerequisites_never_expire && g.has_expires_at()) continue;
      const v1::Role* role = FindRole(g.role());
      if (role == nullptr || role->effect() == v1::ROLE_EFFECT_DENY) continue;
      if (g.scope_case() == v1::Grant::kCloudId &&
          g.cloud_id() == scope.cloud_id) {
        return true;
      }
      if (g.scope_case() == v1::Grant::kOrgId && g.org_id() == scope.org_id &&
          role->all_permissions()) {
        return true;
      }
    }
    return false;
  }

  // Whether project role `r` stays within `limit` (conservatively).
  bool Within(const v1::Role& r, const v1::Role& limit) const {
    if (r.name() == limit.name()) return true;
    if (r.all_permissions() || !r.public_project_role().empty() ||
        !r.private_project_role().empty()) {
      return false;
    }
    for (const std::string& perm : r.permissions()) {
      if (!Contains(limit.permissions(), perm)) return false;
    }
    for (const std::string& perm : r.own_workload_permissions()) {
      if (!Contains(limit.permissions(), perm) &&
          !Contains(limit.own_workload_permissions(), perm)) {
        return false;
      }
    }
    return true;
  }

  bool CanGrant(const Subject& subject, const v1::Role& role,
                const Scope& scope, v1::GrantSource source) const {
    if (!Contains(role.grantable_at(), scope.type)) return false;
    if (role.subject_kinds_size() > 0 &&
        !Contains(role.subject_kinds(), subject.kind)) {
      return false;
    }
    if (source == v1::GRANT_SOURCE_AUTO_ADD &&
        (subject.is_group || scope.type != v1::SCOPE_TYPE_CLOUD ||
         role.name() != BuiltinProfile().auto_add_role())) {
      return false;
    }
    if (role.all_permissions() && !p_.options.allow_service_account_org_owner) {
      if (subject.kind == v1::SUBJECT_KIND_SERVICE_ACCOUNT) return false;
      if (subject.is_group && GroupContainsServiceAccount(subject.id)) {
        return false;
      }
    }
    if (scope.type == v1::SCOPE_TYPE_PROJECT &&
        !HasPrerequisite(subject, scope)) {
      return false;
    }
    for (const v1::Grant& g : s_.grants()) {
      if (SubjectOf(g) != subject.id) continue;
      const v1::Role* other = FindRole(g.role());
      if (other == nullptr) continue;
      // Incompatible roles at the same scope.
      if (ScopeIdOf(g) == scope.id &&
          (Contains(role.incompatible_roles(), other->name()) ||
           Contains(other->incompatible_roles(), role.name()))) {
        return false;
      }
      // Project role limits of deny roles held on the cloud (or org).
      if (scope.type == v1::SCOPE_TYPE_PROJECT &&
          !other->project_role_limit().empty() &&
          (ScopeIdOf(g) == scope.cloud_id || ScopeIdOf(g) == scope.org_id)) {
        const v1::Role* limit = FindRole(other->project_role_limit());
        if (limit == nullptr || !Within(role, *limit)) return false;
      }
      if (!role.project_role_limit().empty() &&
          g.scope_case() == v1::Grant::kProjectId &&
          (scope.type == v1::SCOPE_TYPE_ORG ||
           CloudOfProject(g.project_id()) == scope.cloud_id)) {
        const v1::Role* limit = FindRole(role.project_role_limit());
        if (limit == nullptr || !Within(*other, *limit)) return false;
      }
    }
    return true;
  }

  absl::Time RandomExpiry() {
    const absl::Time now = p_.now;
    static const absl::Duration kOffsets[] = {
        absl::Hours(-24 * 30), absl::Hours(-1),      absl::Seconds(-1),
        absl::Nanoseconds(-1), absl::ZeroDuration(), absl::Nanoseconds(1),
        absl::Seconds(1),      absl::Hours(1),       absl::Hours(24 * 30)};
    absl::Time t;
    if (rng_.Chance(0.6)) {
      t = now + kOffsets[rng_.Below(9)];
    } else {
      // Anywhere within two days, sometimes with a sub-second part.
      t = now + absl::Seconds(rng_.Between(-2 * 86400, 2 * 86400));
      if (rng_.Chance(0.5)) t += absl::Nanoseconds(rng_.Between(1, 999999999));
    }
    return absl::FromUnixNanos(0) +
           absl::Floor(t - absl::UnixEpoch(), p_.config.expiry_resolution);
  }

  v1::Grant* TryGrant(const Subject& subject, const v1::Role& role,
                      const Scope& scope, v1::GrantSource source) {
    if (!CanGrant(subject, role, scope, source)) return nullptr;
    v1::Grant* g = s_.add_grants();
    g->set_id(FreshGrantId());
    if (subject.is_group) {
      g->set_group_id(subject.id);
    } else {
      g->set_principal_id(subject.id);
    }
    g->set_role(role.name());
    switch (scope.type) {
      case v1::SCOPE_TYPE_ORG:
        g->set_org_id(scope.id);
        break;
      case v1::SCOPE_TYPE_CLOUD:
        g->set_cloud_id(scope.id);
        break;
      default:
        g->set_project_id(scope.id);
    }
    if (source == v1::GRANT_SOURCE_UNSPECIFIED && rng_.Chance(0.3)) {
      source =
          subject.is_group ? v1::GRANT_SOURCE_GROUP : v1::GRANT_SOURCE_DIRECT;
    }
    g->set_source(source);
    if (rng_.Chance(p_.config.expiry_probability)) {
      *g->mutable_expires_at() = ToTimestamp(RandomExpiry());
    }
    return g;
  }

  std::string FreshGrantId() {
    if (!editing_) return NewId("g");
    for (;;) {
      std::string id = absl::StrCat("gx_", RandomLetters(rng_, 8));
      if (!IdInUse(id)) return id;
    }
  }

  bool IdInUse(absl::string_view id) const {
    for (const v1::Grant& g : s_.grants()) {
      if (g.id() == id) return true;
    }
    return false;  // other kinds have other prefixes
  }

  // ------------------------------------------------------------ grants

  std::vector<const v1::Role*> RolesAt(v1::ScopeType type, bool deny,
                                       const Subject& subject) const {
    std::vector<const v1::Role*> out;
    for (const v1::Role& r : roles_) {
      if ((r.effect() == v1::ROLE_EFFECT_DENY) != deny) continue;
      if (!Contains(r.grantable_at(), type)) continue;
      if (r.subject_kinds_size() > 0 &&
          !Contains(r.subject_kinds(), subject.kind))
        continue;
      out.push_back(&r);
    }
    return out;
  }

  void GrantRandomRole(const Subject& subject, const Scope& scope, bool deny) {
    std::vector<const v1::Role*> roles = RolesAt(scope.type, deny, subject);
    if (roles.empty()) return;
    TryGrant(subject, *roles[rng_.Below(roles.size())], scope,
             v1::GRANT_SOURCE_UNSPECIFIED);
  }

  void GrantInOrg(const std::string& org_id) {
    const std::vector<Subject> subjects = SubjectsOf(org_id);
    const std::vector<Scope> scopes = ScopesOf(org_id);
    // Org scope: owners, explicit collaborators, deny roles, custom roles.
    for (const Subject& subject : subjects) {
      for (const v1::Role* role :
           RolesAt(v1::SCOPE_TYPE_ORG, /*deny=*/false, subject)) {
        if (rng_.Chance(role->all_permissions() ? 0.15 : 0.08)) {
          TryGrant(subject, *role, scopes[0], v1::GRANT_SOURCE_UNSPECIFIED);
        }
      }
      for (const v1::Role* role :
           RolesAt(v1::SCOPE_TYPE_ORG, /*deny=*/true, subject)) {
        if (rng_.Chance(0.1)) {
          TryGrant(subject, *role, scopes[0], v1::GRANT_SOURCE_UNSPECIFIED);
        }
      }
    }
    // Cloud scope first (project grants need them), then project scope.
    const v1::Role* auto_add = FindRole(BuiltinProfile().auto_add_role());
    for (const Scope& scope : scopes) {
      if (scope.type != v1::SCOPE_TYPE_CLOUD) continue;
      bool auto_add_users = false;
      for (const v1::Cloud& c : s_.clouds()) {
        if (c.id() == scope.id) auto_add_users = c.auto_add_users();
      }
      for (const Subject& subject : subjects) {
        if (rng_.Chance(large_ ? 0.8 : 0.5))
          GrantRandomRole(subject, scope, false);
        if (rng_.Chance(large_ ? 0.4 : 0.1))
          GrantRandomRole(subject, scope, false);
        if (!subject.is_group && auto_add != nullptr &&
            rng_.Chance(auto_add_users ? 0.4 : 0.08)) {
          TryGrant(subject, *auto_add, scope, v1::GRANT_SOURCE_AUTO_ADD);
        }
        if (rng_.Chance(0.15)) GrantRandomRole(subject, scope, true);
      }
    }
    for (const Scope& scope : scopes) {
      if (scope.type != v1::SCOPE_TYPE_PROJECT) continue;
      for (const Subject& subject : subjects) {
        if (rng_.Chance(large_ ? 0.6 : 0.3))
          GrantRandomRole(subject, scope, false);
        if (large_ && rng_.Chance(0.2)) GrantRandomRole(subject, scope, false);
        if (rng_.Chance(0.04)) GrantRandomRole(subject, scope, true);
      }
    }
  }

  // The same grant twice, with another id and expiry: a renewed grant.
  void DuplicateSomeGrants() {
    if (s_.grants_size() == 0) return;
    for (int i = rng_.Between(0, large_ ? 30 : 3); i > 0; --i) {
      v1::Grant copy = s_.grants(rng_.Below(s_.grants_size()));
      copy.set_id(NewId("g"));
      if (rng_.Chance(0.5)) {
        *copy.mutable_expires_at() = ToTimestamp(RandomExpiry());
      } else {
        copy.clear_expires_at();
      }
      *s_.add_grants() = copy;
    }
  }

  void ShuffleGrants() {
    std::vector<v1::Grant> grants(s_.grants().begin(), s_.grants().end());
    rng_.Shuffle(&grants);
    s_.clear_grants();
    for (v1::Grant& g : grants) *s_.add_grants() = std::move(g);
  }

  void CollectQueryTimes() {
    std::vector<absl::Time>& t = p_.query_times;
    const absl::Time now = p_.now;
    for (absl::Duration d :
         {absl::ZeroDuration(), absl::Nanoseconds(-1), absl::Nanoseconds(1),
          absl::Seconds(-1), absl::Seconds(1), absl::Hours(-24 * 400),
          absl::Hours(24 * 400)}) {
      t.push_back(now + d);
    }
    for (const v1::Grant& g : s_.grants()) {
      if (g.has_expires_at())
        AddQueryTimesAround(FromTimestamp(g.expires_at()));
    }
  }

  void AddQueryTimesAround(absl::Time e) {
    std::vector<absl::Time>& t = p_.query_times;
    for (absl::Duration d :
         {absl::ZeroDuration(), absl::Nanoseconds(-1), absl::Nanoseconds(1)}) {
      if (!Contains(t, e + d)) t.push_back(e + d);
    }
  }

  Rng& rng_;
  RandomPolicy& p_;
  v1::PolicySet& s_;
  std::vector<v1::Role> roles_;  // built-in roles, then custom roles
  int counter_ = 0;
  const bool editing_;
  bool large_ = false;
};

template <typename T>
void ShuffleField(Rng& rng, google::protobuf::RepeatedPtrField<T>* field) {
  for (int i = field->size(); i > 1; --i) {
    field->SwapElements(i - 1, static_cast<int>(rng.Below(i)));
  }
}

template <typename T>
void ShuffleField(Rng& rng, google::protobuf::RepeatedField<T>* field) {
  for (int i = field->size(); i > 1; --i) {
    field->SwapElements(i - 1, static_cast<int>(rng.Below(i)));
  }
}

}  // namespace

uint64_t MixSeed(uint64_t base, uint64_t index) {
  uint64_t z = base + 0x9E3779B97F4A7C15ull * (index + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

RandomPolicy GenerateRandomPolicy(uint64_t seed,
                                  const RandomPolicyConfig& config) {
  RandomPolicy policy;
  policy.seed = seed;
  policy.config = config;
  policy.now = config.now;
  Rng rng(seed);
  Builder(rng, &policy, /*editing=*/false).Generate();
  return policy;
}

bool AddRandomGrant(Rng& rng, GrantKind kind, RandomPolicy* policy) {
  return Builder(rng, policy, /*editing=*/true).AddGrant(kind);
}

void RemoveExpiredGrants(absl::Time at, v1::PolicySet* state) {
  google::protobuf::RepeatedPtrField<v1::Grant> kept;
  for (const v1::Grant& g : state->grants()) {
    if (g.has_expires_at() && FromTimestamp(g.expires_at()) <= at) continue;
    *kept.Add() = g;
  }
  state->mutable_grants()->Swap(&kept);
}

void RemoveAllGrants(v1::PolicySet* state) { state->clear_grants(); }

void ShufflePolicySet(Rng& rng, v1::PolicySet* s) {
  ShuffleField(rng, s->mutable_organizations());
  ShuffleField(rng, s->mutable_clouds());
  ShuffleField(rng, s->mutable_projects());
  ShuffleField(rng, s->mutable_workloads());
  ShuffleField(rng, s->mutable_compute_configs());
  ShuffleField(rng, s->mutable_images());
  ShuffleField(rng, s->mutable_principals());
  ShuffleField(rng, s->mutable_groups());
  for (v1::Group& g : *s->mutable_groups()) {
    ShuffleField(rng, g.mutable_member_ids());
  }
  ShuffleField(rng, s->mutable_grants());
  ShuffleField(rng, s->mutable_custom_permissions());
  ShuffleField(rng, s->mutable_custom_roles());
  for (v1::Role& r : *s->mutable_custom_roles()) {
    ShuffleField(rng, r.mutable_grantable_at());
    ShuffleField(rng, r.mutable_subject_kinds());
    ShuffleField(rng, r.mutable_permissions());
    ShuffleField(rng, r.mutable_own_workload_permissions());
    ShuffleField(rng, r.mutable_exempt_roles());
    ShuffleField(rng, r.mutable_incompatible_roles());
  }
}

// ------------------------------------------------------------ queries

AccessRequest RandomQuery::ToRequest() const {
  AccessRequest r;
  r.principal = principal;
  r.permission = permission;
  r.resource = resource;
  r.org = org;
  r.context = context;
  return r;
}

std::string RandomQuery::DebugString() const {
  return absl::StrFormat(
      "principal=\"%s\" permission=\"%s\" resource=\"%s\" org=\"%s\" "
      "channel=%s now=%s",
      principal, permission, resource, org,
      context.channel == Channel::kConsole ? "CONSOLE" : "API",
      context.now.has_value()
          ? absl::FormatTime("%Y-%m-%dT%H:%M:%E*SZ", *context.now,
                             absl::UTCTimeZone())
          : std::string("(clock)"));
}

RandomQueryGenerator::RandomQueryGenerator(const RandomPolicy& policy,
                                           const v1::Profile& profile,
                                           uint64_t seed)
    : policy_(policy), rng_(seed) {
  for (const v1::Permission& p : profile.permissions()) {
    permissions_.push_back(p.name());
    const int level = p.scope() == v1::SCOPE_TYPE_ORG     ? 0
                      : p.scope() == v1::SCOPE_TYPE_CLOUD ? 1
                                                          : 2;
    permissions_by_level_[level].push_back(p.name());
  }
  for (const v1::Role& r : profile.roles()) {
    for (const std::string& perm : r.own_workload_permissions()) {
      if (!Contains(own_workload_permissions_, perm)) {
        own_workload_permissions_.push_back(perm);
      }
    }
  }
  const v1::PolicySet& s = policy.state;
  auto cloud_of = [&](absl::string_view id) -> const v1::Cloud* {
    for (const v1::Cloud& c : s.clouds()) {
      if (c.id() == id) return &c;
    }
    return nullptr;
  };
  auto project_of = [&](absl::string_view id) -> const v1::Project* {
    for (const v1::Project& p : s.projects()) {
      if (p.id() == id) return &p;
    }
    return nullptr;
  };
  for (const v1::Organization& o : s.organizations()) {
    resources_.push_back({o.id(), o.id(), "", 0, ""});
  }
  for (const v1::Image& i : s.images()) {
    resources_.push_back({i.id(), i.org_id(), "", 0, ""});
  }
  for (const v1::Cloud& c : s.clouds()) {
    resources_.push_back({c.id(), c.org_id(), c.name(), 1, ""});
  }
  for (const v1::ComputeConfig& cc : s.compute_configs()) {
    const v1::Cloud* c = cloud_of(cc.cloud_id());
    resources_.push_back({cc.id(), c == nullptr ? "" : c->org_id(), "", 1, ""});
  }
  for (const v1::Project& p : s.projects()) {
    const v1::Cloud* c = cloud_of(p.cloud_id());
    if (c == nullptr) continue;
    resources_.push_back(
        {p.id(), c->org_id(), absl::StrCat(c->name(), "/", p.name()), 2, ""});
  }
  for (const v1::Workload& w : s.workloads()) {
    const v1::Project* p = nullptr;
    if (!w.project_id().empty()) {
      p = project_of(w.project_id());
    } else {
      for (const v1::Project& q : s.projects()) {
        if (q.cloud_id() == w.cloud_id() && q.is_default()) p = &q;
      }
    }
    if (p == nullptr) continue;
    const v1::Cloud* c = cloud_of(p->cloud_id());
    if (c == nullptr) continue;
    resources_.push_back(
        {w.id(), c->org_id(),
         w.name().empty()
             ? std::string()
             : absl::StrCat(c->name(), "/", p->name(), "/", w.name()),
         2, w.creator_id()});
  }
}

const v1::Principal* RandomQueryGenerator::PrincipalById(
    absl::string_view id) const {
  for (const v1::Principal& p : policy_.state.principals()) {
    if (p.id() == id) return &p;
  }
  return nullptr;
}

void RandomQueryGenerator::PickPrincipal(const std::string& resource_org,
                                         const std::string& creator,
                                         RandomQuery* q) {
  const v1::PolicySet& s = policy_.state;
  const size_t form = rng_.Below(100);
  if (form >= 93 || s.principals_size() == 0) {
    // Unknown principals.
    static const char* const kUnknown[] = {"usr_nobody", "nobody@acme.com", "",
                                           "@", "USR_"};
    q->principal = kUnknown[rng_.Below(5)];
    if (rng_.Chance(0.3)) q->org = s.organizations(0).id();
    return;
  }
  // Mostly active principals of the resource's organization, sometimes the
  // creator of the workload asked about.
  const v1::Principal* chosen = nullptr;
  if (!creator.empty() && rng_.Chance(0.35)) chosen = PrincipalById(creator);
  if (chosen == nullptr) {
    std::vector<const v1::Principal*> preferred;
    const bool want_active = rng_.Chance(0.7);
    const bool want_same_org = !resource_org.empty() && rng_.Chance(0.8);
    for (const v1::Principal& p : s.principals()) {
      if (want_same_org && p.org_id() != resource_org) continue;
      if (want_active && (p.state() == v1::PRINCIPAL_STATE_INVITED ||
                          p.state() == v1::PRINCIPAL_STATE_DELETED)) {
        continue;
      }
      preferred.push_back(&p);
    }
    chosen = preferred.empty() ? &s.principals(rng_.Below(s.principals_size()))
                               : rng_.Pick(preferred);
  }
  const v1::Principal& p = *chosen;
  q->principal_id = p.id();
  q->principal_org_id = p.org_id();
  if (form < 55) {
    q->principal = p.id();
    return;
  }
  // By email, in random letter case.
  q->principal = rng_.Chance(0.5) ? RandomCase(rng_, p.email())
                                  : absl::AsciiStrToLower(p.email());
  int same_email = 0;
  for (const v1::Principal& other : s.principals()) {
    if (absl::EqualsIgnoreCase(other.email(), p.email())) ++same_email;
  }
  std::string org_id;  // the organization the query names, if any
  if (rng_.Chance(same_email > 1 ? 0.7 : 0.15)) {
    if (rng_.Chance(0.1)) {
      // Another (or no) organization.
      const v1::Organization& other =
          s.organizations(rng_.Below(s.organizations_size()));
      q->org = rng_.Chance(0.5) ? other.id() : std::string("no-such-org");
      org_id = q->org;
    } else {
      q->org = org_id = p.org_id();
      for (const v1::Organization& o : s.organizations()) {
        if (o.id() == p.org_id() && rng_.Chance(0.5)) q->org = o.name();
      }
    }
  }
  // The principal the email means: the one live (not deleted) holder, else
  // the one deleted holder; none or two of a kind is ambiguous or unknown.
  std::vector<const v1::Principal*> live, deleted;
  for (const v1::Principal& o : s.principals()) {
    if (!absl::EqualsIgnoreCase(o.email(), p.email())) continue;
    if (!org_id.empty() && o.org_id() != org_id) continue;
    (o.state() == v1::PRINCIPAL_STATE_DELETED ? deleted : live).push_back(&o);
  }
  const std::vector<const v1::Principal*>& holders = live.empty() ? deleted : live;
  q->principal_id.clear();
  q->principal_org_id.clear();
  if (holders.size() == 1) {
    q->principal_id = holders.front()->id();
    q->principal_org_id = holders.front()->org_id();
  }
}

RandomQuery RandomQueryGenerator::Next() {
  RandomQuery q;
  // The resource's target first; the principal is drawn to match it.
  const Target* target = nullptr;
  if (!resources_.empty() && !rng_.Chance(0.06)) {
    target = &resources_[rng_.Below(resources_.size())];
  }
  PickPrincipal(target == nullptr ? std::string() : target->org_id,
                target == nullptr ? std::string() : target->creator_id, &q);

  if (target == nullptr) {
    static const char* const kUnknown[] = {"nope",
                                           "prj_nope",
                                           "alpha/nope",
                                           "alpha//x",
                                           "/alpha",
                                           "alpha/",
                                           "alpha/default/nightly/extra",
                                           "",
                                           "ALPHA"};
    q.resource = kUnknown[rng_.Below(9)];
    q.resource_is_path = true;
  } else if (!target->path.empty() && rng_.Chance(0.35)) {
    q.resource = target->path;
    q.resource_is_path = true;
  } else {
    q.resource = target->id;
  }

  // Permissions: mostly of a level that applies to the resource.
  const size_t form = rng_.Below(100);
  if (form < 4 || permissions_.empty()) {
    static const char* const kUnknown[] = {"project.nope", "", "PROJECT.VIEW",
                                           "project.view ", "org"};
    q.permission = kUnknown[rng_.Below(5)];
  } else if (form < 14 && !own_workload_permissions_.empty()) {
    q.permission = rng_.Pick(own_workload_permissions_);
  } else if (form < 70 && target != nullptr) {
    const int level = rng_.Between(0, target->level);
    q.permission = permissions_by_level_[level].empty()
                       ? rng_.Pick(permissions_)
                       : rng_.Pick(permissions_by_level_[level]);
  } else {
    q.permission = rng_.Pick(permissions_);
  }

  q.context.channel = rng_.Chance(0.2) ? Channel::kConsole : Channel::kApi;
  if (!policy_.query_times.empty() && rng_.Chance(0.85)) {
    q.context.now = rng_.Pick(policy_.query_times);
  }
  return q;
}

}  // namespace testing
}  // namespace arbiter
