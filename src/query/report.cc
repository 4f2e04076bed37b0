// EffectiveAccess: the access report of `anyscale user list-permissions`
// (access-model §10.2), with the definitions of docs/lookups.md "The access
// report":
//
//  * org_owners: the principals for whom Check decides ORG_OWNER.
//  * users: every other active principal (or the one asked for). Per user,
//    the clouds where it holds a live grant (own, a group's, auto-added) on
//    the cloud or on one of its projects; per cloud, the projects where it
//    holds a live grant or Check allows it some project permission
//    (implicit public-project access included).
//  * role: at each scope, the role of that scope's level with the most
//    permissions that Check allows in full there (max over sources, after
//    deny roles subtract). Ties: a role held there, then profile order.
//  * held / deny_roles: the live grants at that scope, and their deny roles.
//
// Every permission set comes from PermissionBits (the decision core); the
// projects of one class of a cloud that the user holds nothing on share
// one computation.

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "arbiter/lookup.h"
#include "src/eval/evaluator.h"
#include "src/internal/time_util.h"
#include "src/query/decide_util.h"
#include "src/query/lookups.h"
#include "src/snapshot/lookup.h"

namespace arbiter {
namespace internal {
namespace {

constexpr int kClasses = 4;

using Bits = std::vector<uint64_t>;

}  // namespace

void SetTimestamp(int64_t unix_nanos, google::protobuf::Timestamp* t) {
  int64_t seconds = unix_nanos / 1000000000;
  int64_t nanos = unix_nanos % 1000000000;
  if (nanos < 0) {
    nanos += 1000000000;
    --seconds;
  }
  t->set_seconds(seconds);
  t->set_nanos(static_cast<int32_t>(nanos));
}

namespace {

bool AnyBit(const Bits& b) {
  for (uint64_t w : b) {
    if (w != 0) return true;
  }
  return false;
}

// What the report needs of the profile: each allow role's level (the one
// level of all its permissions; -1 for mixed, empty, all_permissions and
// deny roles) and the permissions of each level.
struct RoleLevels {
  std::vector<int> level;
  Bits level_perms[3];
  Bits forbidden_on_default;

  explicit RoleLevels(const Snapshot& s) {
    const size_t words = s.perm_words;
    for (Bits& b : level_perms) b.assign(words, 0);
    forbidden_on_default.assign(words, 0);
    for (uint32_t k = 0; k < s.permissions.size(); ++k) {
      level_perms[s.permissions[k].level][k >> 6] |= uint64_t{1} << (k & 63);
      if (s.permissions[k].forbidden_on_default_project) {
        forbidden_on_default[k >> 6] |= uint64_t{1} << (k & 63);
      }
    }
    level.assign(s.roles.size(), -1);
    for (uint32_t r = 0; r < s.roles.size(); ++r) {
      const RoleRec& role = s.roles[r];
      if (role.deny || role.all_permissions) continue;
      const uint64_t* perms = s.role_perms.data() + size_t{r} * words;
      int found = -1;
      bool mixed = false;
      for (int l = 0; l < 3 && !mixed; ++l) {
        for (size_t w = 0; w < words; ++w) {
          if ((perms[w] & level_perms[l][w]) != 0) {
            if (found >= 0 && found != l) mixed = true;
            found = l;
            break;
          }
        }
      }
      level[r] = mixed ? -1 : found;
    }
  }
};

class ReportBuilder {
 public:
  ReportBuilder(const Snapshot& s, const QueryIndex& ix,
                const RequestContext& at, uint64_t revision, bool permissions)
      : s_(s),
        ix_(ix),
        at_(at),
        now_(ToUnixNanosSaturated(*at.now)),
        revision_(revision),
        with_permissions_(permissions),
        roles_(s) {}

  void Add(uint32_t p, v1::AccessReport* report) {
    const PrincipalRec& rec = s_.Principal(p);
    CollectHeld(p, rec);
    Bits org_bits(s_.perm_words);
    uint32_t reasons = 0;
    PermissionBits(s_, p, rec.org, at_, revision_, kOrgLevel, org_bits.data(),
                   &reasons);
    const absl::string_view id = s_.principal_ids.Get(p);
    const absl::string_view email = s_.principal_emails.Get(p);
    const auto kind = static_cast<v1::PrincipalKind>(rec.kind);
    if (reasons & (1u << static_cast<int>(Reason::kOrgOwner))) {
      v1::OrgOwner* owner = report->add_org_owners();
      owner->set_user_email(std::string(email));
      owner->set_user_id(std::string(id));
      owner->set_kind(kind);
      AddHeld(rec.org, owner->mutable_held(), owner->mutable_deny_roles());
      return;
    }
    v1::UserAccess* user = report->add_users();
    user->set_user_email(std::string(email));
    user->set_user_id(std::string(id));
    user->set_kind(kind);
    user->set_org_role(BestRole(kOrgLevel, org_bits, rec.org, false));
    AddHeld(rec.org, user->mutable_held(), user->mutable_deny_roles());
    if (with_permissions_) AddPermissions(org_bits, user->mutable_permissions());

    // The clouds of its live grants (at the cloud or its projects).
    std::vector<uint32_t> clouds;
    for (const Held& h : held_) {
      if (h.level >= kCloudLevel) {
        clouds.push_back(s_.nodes[h.scope].path[kCloudLevel]);
      }
    }
    std::sort(clouds.begin(), clouds.end(), [&](uint32_t a, uint32_t b) {
      return ix_.node_rank[a] < ix_.node_rank[b];
    });
    clouds.erase(std::unique(clouds.begin(), clouds.end()), clouds.end());
    for (uint32_t c : clouds) AddCloud(p, c, user);
  }

 private:
  struct Held {
    uint32_t grant;
    uint32_t scope;
    int level;
    bool via_group;
  };

  // The principal's live grants, its own then its groups', in Check's
  // visiting order.
  void CollectHeld(uint32_t p, const PrincipalRec& rec) {
    held_.clear();
    auto visit = [&](GrantSpan span, bool group) {
      for (uint32_t i = span.begin; i < span.end; ++i) {
        if (s_.GrantExpires(i) <= now_) continue;
        held_.push_back({i, s_.grants[i].scope, s_.grants[i].level, group});
      }
    };
    visit(rec.grants, false);
    for (uint32_t g = rec.groups_begin; g < rec.groups_end; ++g) {
      visit(s_.principal_groups[g], true);
    }
    held_scopes_.clear();
    for (const Held& h : held_) held_scopes_.push_back(h.scope);
    std::sort(held_scopes_.begin(), held_scopes_.end());
    held_scopes_.erase(std::unique(held_scopes_.begin(), held_scopes_.end()),
                       held_scopes_.end());
  }
  bool HoldsAt(uint32_t scope) const {
    return std::binary_search(held_scopes_.begin(), held_scopes_.end(), scope);
  }

  template <typename HeldField, typename DenyField>
  void AddHeld(uint32_t scope, HeldField* out, DenyField* deny_roles) {
    const uint32_t num_principals = static_cast<uint32_t>(s_.principals.size());
    for (const Held& h : held_) {
      if (h.scope != scope) continue;
      const GrantRec& g = s_.grants[h.grant];
      v1::HeldRole* role = out->Add();
      const absl::string_view name = s_.role_names.Get(g.role);
      role->set_role(std::string(name));
      role->set_source(static_cast<v1::GrantSource>(g.source));
      role->set_grant_id(std::string(s_.GrantId(h.grant)));
      if (h.via_group) {
        const uint32_t subject = s_.SubjectOfGrant(h.grant);
        if (subject >= num_principals) {
          role->set_group_id(
              std::string(s_.group_ids.Get(subject - num_principals)));
        }
      }
      const int64_t expires = s_.GrantExpires(h.grant);
      if (expires != kNever) SetTimestamp(expires, role->mutable_expires_at());
      if (s_.roles[g.role].deny) {
        role->set_deny(true);
        if (std::find(deny_roles->begin(), deny_roles->end(), name) ==
            deny_roles->end()) {
          deny_roles->Add(std::string(name));
        }
      }
    }
  }

  template <typename Field>
  void AddPermissions(const Bits& bits, Field* out) {
    for (size_t w = 0; w < bits.size(); ++w) {
      for (uint64_t x = bits[w]; x != 0; x &= x - 1) {
        out->Add(std::string(s_.permission_names.Get(
            static_cast<uint32_t>(w * 64 + __builtin_ctzll(x)))));
      }
    }
  }

  template <typename Field>
  void AddReasons(uint32_t reasons, Field* out) {
    for (int r = 0; r < 32; ++r) {
      if (reasons & (1u << r)) {
        out->Add(std::string(ReasonName(static_cast<Reason>(r))));
      }
    }
  }

  // The role of `level` with the most permissions Check allows in full at
  // `scope` (see the file comment); "" if none.
  std::string BestRole(int level, const Bits& bits, uint32_t scope,
                       bool default_project) const {
    const size_t words = s_.perm_words;
    int best = -1, best_count = 0;
    bool best_held = false;
    for (uint32_t r = 0; r < s_.roles.size(); ++r) {
      if (roles_.level[r] != level) continue;
      const uint64_t* perms = s_.role_perms.data() + size_t{r} * words;
      int count = 0;
      bool inside = true;
      for (size_t w = 0; w < words && inside; ++w) {
        uint64_t applicable = perms[w];
        if (default_project) applicable &= ~roles_.forbidden_on_default[w];
        inside = (applicable & ~bits[w]) == 0;
        count += __builtin_popcountll(applicable);
      }
      if (!inside || count == 0) continue;
      const bool held = std::any_of(held_.begin(), held_.end(), [&](const Held& h) {
        return h.scope == scope && s_.grants[h.grant].role == r;
      });
      if (count > best_count || (count == best_count && held && !best_held)) {
        best = static_cast<int>(r);
        best_count = count;
        best_held = held;
      }
    }
    return best < 0 ? std::string() : std::string(s_.role_names.Get(best));
  }

  struct ClassAccess {
    bool computed = false;
    Bits bits;
    uint32_t reasons = 0;
    std::string role;
  };

  void AddCloud(uint32_t p, uint32_t c, v1::UserAccess* user) {
    v1::CloudAccess cloud;
    cloud.set_cloud_id(std::string(s_.node_ids.Get(c)));
    cloud.set_cloud_name(std::string(s_.node_names.Get(c)));
    Bits bits(s_.perm_words);
    uint32_t reasons = 0;
    PermissionBits(s_, p, c, at_, revision_, kCloudLevel, bits.data(), &reasons);
    cloud.set_role(BestRole(kCloudLevel, bits, c, false));
    AddHeld(c, cloud.mutable_held(), cloud.mutable_deny_roles());
    AddReasons(reasons, cloud.mutable_reasons());
    if (with_permissions_) AddPermissions(bits, cloud.mutable_permissions());

    // The classes of projects it holds nothing on, each decided once.
    ClassAccess classes[kClasses];
    for (int f = 0; f < kClasses; ++f) {
      for (uint32_t rep : ix_.class_projects[size_t{c} * kClasses + f]) {
        if (HoldsAt(rep)) continue;
        ClassAccess& a = classes[f];
        a.computed = true;
        a.bits.assign(s_.perm_words, 0);
        PermissionBits(s_, p, rep, at_, revision_, kProjectLevel,
                       a.bits.data(), &a.reasons);
        a.role = BestRole(kProjectLevel, a.bits, rep,
                          (f & kDefaultProject) != 0);
        break;
      }
    }
    for (uint32_t project : ix_.projects_of_cloud[c]) {
      const int f = s_.nodes[project].project_flags & 3;
      const bool holds = HoldsAt(project);
      if (!holds && !(classes[f].computed && AnyBit(classes[f].bits))) continue;
      v1::ProjectAccess* entry = cloud.add_projects();
      entry->set_project_id(std::string(s_.node_ids.Get(project)));
      entry->set_project_name(std::string(s_.node_names.Get(project)));
      if (holds) {
        Bits pb(s_.perm_words);
        uint32_t pr = 0;
        PermissionBits(s_, p, project, at_, revision_, kProjectLevel, pb.data(),
                       &pr);
        entry->set_role(BestRole(kProjectLevel, pb, project,
                                 (f & kDefaultProject) != 0));
        AddHeld(project, entry->mutable_held(), entry->mutable_deny_roles());
        AddReasons(pr, entry->mutable_reasons());
        if (with_permissions_) AddPermissions(pb, entry->mutable_permissions());
      } else {
        const ClassAccess& a = classes[f];
        entry->set_role(a.role);
        AddReasons(a.reasons, entry->mutable_reasons());
        if (with_permissions_) {
          AddPermissions(a.bits, entry->mutable_permissions());
        }
      }
    }
    if (AnyBit(bits) || cloud.held_size() > 0 || cloud.projects_size() > 0) {
      *user->add_clouds() = std::move(cloud);
    }
  }

  const Snapshot& s_;
  const QueryIndex& ix_;
  const RequestContext& at_;
  int64_t now_;
  uint64_t revision_;
  bool with_permissions_;
  RoleLevels roles_;
  std::vector<Held> held_;
  std::vector<uint32_t> held_scopes_;
};

}  // namespace
}  // namespace internal

absl::StatusOr<v1::AccessReport> Lookup::EffectiveAccess(
    const AccessReportRequest& request) const {
  using internal::kNone;
  const internal::Snapshot& s = *snapshot_;
  uint32_t org = kNone;
  if (!request.org.empty()) {
    org = internal::ResolveOrg(s, request.org);
    if (org == kNone) {
      return absl::NotFoundError(absl::StrCat(
          "org: no organization \"", request.org, "\" (or its name is ambiguous)"));
    }
  }
  uint32_t principal = kNone;
  if (!request.principal.empty()) {
    Reason failure;
    if (!internal::ResolvePrincipal(s, request.principal, org, kNone,
                                    &principal, &failure)) {
      if (failure == Reason::kAmbiguousPrincipal) {
        return absl::InvalidArgumentError(absl::StrCat(
            "principal: \"", request.principal,
            "\" names principals of several organizations; set org"));
      }
      return absl::NotFoundError(absl::StrCat("principal: no principal \"",
                                              request.principal, "\""));
    }
    org = s.Principal(principal).org;
  }
  if (org == kNone) {
    if (s.org_nodes.size() != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("org: the snapshot has ", s.org_nodes.size(),
                       " organizations; name one"));
    }
    org = s.org_nodes[0];
  }
  const absl::Time at = absl::FromUnixNanos(internal::ToUnixNanosSaturated(
      internal::LookupInstant(s, request.context)));
  const RequestContext context = internal::AtInstant(request.context, at);

  v1::AccessReport report;
  report.set_organization_id(std::string(s.node_ids.Get(org)));
  report.set_revision(revision_);
  internal::SetTimestamp(internal::ToUnixNanosSaturated(at),
                         report.mutable_at());
  internal::ReportBuilder builder(s, *index_, context, revision_,
                                  request.include_permissions);
  if (principal != kNone) {
    builder.Add(principal, &report);
  } else {
    for (uint32_t p : index_->principals_of_org[org]) builder.Add(p, &report);
  }
  return report;
}

}  // namespace arbiter
