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

// string_view into a proto string field, without a temporary.
#define ARBITER_SET(msg, field, view) \
  (msg)->set_##field((view).data(), (view).size())
#define ARBITER_ADD(msg, field, view) \
  (msg)->add_##field((view).data(), (view).size())

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
        roles_(s) {
    project_bits_.assign(s.perm_words, 0);
    org_cache_.resize(ix.org_members.sigs.items.size());
    cloud_cache_.resize(ix.cloud_members.sigs.items.size() * (kClasses + 1));
  }

  void Add(uint32_t p, v1::AccessReport* report) {
    const PrincipalRec& rec = s_.Principal(p);
    CollectHeld(p, rec);
    const Access& org = Decided(ix_.org_members, org_cache_, 1, 0, p, rec.org,
                                rec.org, kOrgLevel, false, &org_access_);
    const uint32_t reasons = org.reasons;
    const absl::string_view id = s_.principal_ids.Get(p);
    const absl::string_view email = s_.principal_emails.Get(p);
    const auto kind = static_cast<v1::PrincipalKind>(rec.kind);
    if (reasons & (1u << static_cast<int>(Reason::kOrgOwner))) {
      v1::OrgOwner* owner = report->add_org_owners();
      ARBITER_SET(owner, user_email, email);
      ARBITER_SET(owner, user_id, id);
      owner->set_kind(kind);
      AddHeld(rec.org, owner->mutable_held(), owner->mutable_deny_roles());
      return;
    }
    v1::UserAccess* user = report->add_users();
    ARBITER_SET(user, user_email, email);
    ARBITER_SET(user, user_id, id);
    user->set_kind(kind);
    ARBITER_SET(user, org_role, org.role);
    AddHeld(rec.org, user->mutable_held(), user->mutable_deny_roles());
    if (with_permissions_) {
      AddPermissions(org.bits, user->mutable_permissions());
    }

    // The clouds of its live grants (at the cloud or its projects).
    clouds_.clear();
    for (const Held& h : held_) {
      if (h.level >= kCloudLevel) {
        clouds_.push_back(s_.nodes[h.scope].path[kCloudLevel]);
      }
    }
    std::sort(clouds_.begin(), clouds_.end(), [&](uint32_t a, uint32_t b) {
      return ix_.node_rank[a] < ix_.node_rank[b];
    });
    clouds_.erase(std::unique(clouds_.begin(), clouds_.end()), clouds_.end());
    for (uint32_t c : clouds_) AddCloud(p, c, user);
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
    if (!std::binary_search(held_scopes_.begin(), held_scopes_.end(), scope)) {
      return;
    }
    const uint32_t num_principals = static_cast<uint32_t>(s_.principals.size());
    for (const Held& h : held_) {
      if (h.scope != scope) continue;
      const GrantRec& g = s_.grants[h.grant];
      v1::HeldRole* role = out->Add();
      const absl::string_view name = s_.role_names.Get(g.role);
      ARBITER_SET(role, role, name);
      role->set_source(static_cast<v1::GrantSource>(g.source));
      ARBITER_SET(role, grant_id, s_.GrantId(h.grant));
      if (h.via_group) {
        const uint32_t subject = s_.SubjectOfGrant(h.grant);
        if (subject >= num_principals) {
          ARBITER_SET(role, group_id,
                      s_.group_ids.Get(subject - num_principals));
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
        const absl::string_view name = s_.permission_names.Get(
            static_cast<uint32_t>(w * 64 + __builtin_ctzll(x)));
        out->Add()->assign(name.data(), name.size());
      }
    }
  }

  template <typename Field>
  void AddReasons(uint32_t reasons, Field* out) {
    for (uint32_t x = reasons; x != 0; x &= x - 1) {
      const absl::string_view name =
          ReasonName(static_cast<Reason>(__builtin_ctz(x)));
      out->Add()->assign(name.data(), name.size());
    }
  }

  // The role of `level` with the most permissions Check allows in full at
  // `scope` (see the file comment); "" if none.
  absl::string_view BestRole(int level, const Bits& bits, uint32_t scope,
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
      const bool held =
          std::any_of(held_.begin(), held_.end(), [&](const Held& h) {
            return h.scope == scope && s_.grants[h.grant].role == r;
          });
      if (count > best_count || (count == best_count && held && !best_held)) {
        best = static_cast<int>(r);
        best_count = count;
        best_held = held;
      }
    }
    return best < 0 ? absl::string_view() : s_.role_names.Get(best);
  }

  // What Check allows a principal at one scope, at the scope's level.
  struct Access {
    bool done = false;
    bool any = false;  // some permission allowed
    Bits bits;
    uint32_t reasons = 0;
    absl::string_view role;
  };

  void Compute(uint32_t p, uint32_t scope, int level, bool default_project,
               Access* a) {
    a->bits.assign(s_.perm_words, 0);
    a->reasons = 0;
    PermissionBits(s_, p, scope, at_, revision_, level, a->bits.data(),
                   &a->reasons);
    a->role = BestRole(level, a->bits, scope, default_project);
    a->any = AnyBit(a->bits);
    a->done = true;
  }

  // The access of principal p at `scope` (the scope of table row `row`, or
  // a project of that cloud where p holds no live grant), at `level`: from
  // `cache` (slot `slot` of `slots` per signature) when p's entry in the
  // row is regular (no grant of it at the org or the cloud expires, so its
  // live roles there are the signature's), else computed into `*scratch`.
  // Every principal of one signature decides alike there: the same roles
  // on the same path (nothing at such a project), and BestRole's tie-break
  // reads only the roles held at the scope.
  const Access& Decided(const MemberTable& table, std::vector<Access>& cache,
                        size_t slots, size_t slot, uint32_t p, uint32_t row,
                        uint32_t scope, int level, bool default_project,
                        Access* scratch) {
    const MemberEntry* e = table.Find(p, row);
    if (e != nullptr && e->sig != kIrregular && s_.mask_path) {
      Access& a = cache[(table.sigs.begin[row] + e->sig) * slots + slot];
      if (!a.done) Compute(p, scope, level, default_project, &a);
      return a;
    }
    Compute(p, scope, level, default_project, scratch);
    return *scratch;
  }

  void AddCloud(uint32_t p, uint32_t c, v1::UserAccess* user) {
    v1::CloudAccess* cloud = user->add_clouds();
    ARBITER_SET(cloud, cloud_id, s_.node_ids.Get(c));
    ARBITER_SET(cloud, cloud_name, s_.node_names.Get(c));
    const Access& ca = Decided(ix_.cloud_members, cloud_cache_, kClasses + 1, 0,
                               p, c, c, kCloudLevel, false, &cloud_access_);
    ARBITER_SET(cloud, role, ca.role);
    AddHeld(c, cloud->mutable_held(), cloud->mutable_deny_roles());
    AddReasons(ca.reasons, cloud->mutable_reasons());
    if (with_permissions_) {
      AddPermissions(ca.bits, cloud->mutable_permissions());
    }
    const bool cloud_any = AnyBit(ca.bits);

    // The classes of projects it holds nothing on, each decided once (and
    // once for every principal holding the same roles at the org and the
    // cloud).
    for (int f = 0; f < kClasses; ++f) {
      classes_[f] = nullptr;
      for (uint32_t rep : ix_.class_projects[size_t{c} * kClasses + f]) {
        if (HoldsAt(rep)) continue;
        classes_[f] = &Decided(ix_.cloud_members, cloud_cache_, kClasses + 1,
                               1 + f, p, c, rep, kProjectLevel,
                               (f & kDefaultProject) != 0, &class_access_[f]);
        break;
      }
    }
    const absl::Span<const uint32_t> projects = ix_.projects_of_cloud[c];
    const absl::Span<const uint8_t> flags = ix_.project_classes[c];
    for (size_t i = 0; i < projects.size(); ++i) {
      const uint32_t project = projects[i];
      const int f = flags[i];
      const bool holds = HoldsAt(project);
      if (!holds && (classes_[f] == nullptr || !classes_[f]->any)) continue;
      v1::ProjectAccess* entry = cloud->add_projects();
      ARBITER_SET(entry, project_id, s_.node_ids.Get(project));
      ARBITER_SET(entry, project_name, s_.node_names.Get(project));
      if (holds) {
        uint32_t pr = 0;
        PermissionBits(s_, p, project, at_, revision_, kProjectLevel,
                       project_bits_.data(), &pr);
        ARBITER_SET(entry, role,
                    BestRole(kProjectLevel, project_bits_, project,
                             (f & kDefaultProject) != 0));
        AddHeld(project, entry->mutable_held(), entry->mutable_deny_roles());
        AddReasons(pr, entry->mutable_reasons());
        if (with_permissions_) {
          AddPermissions(project_bits_, entry->mutable_permissions());
        }
      } else {
        const Access& a = *classes_[f];
        ARBITER_SET(entry, role, a.role);
        AddReasons(a.reasons, entry->mutable_reasons());
        if (with_permissions_) {
          AddPermissions(a.bits, entry->mutable_permissions());
        }
      }
    }
    if (!cloud_any && cloud->held_size() == 0 && cloud->projects_size() == 0) {
      user->mutable_clouds()->RemoveLast();
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
  std::vector<uint32_t> clouds_;
  Bits project_bits_;
  // Per signature of the org and cloud member tables: the org access; the
  // cloud access and its classes' (kClasses + 1 slots).
  std::vector<Access> org_cache_, cloud_cache_;
  Access org_access_, cloud_access_, class_access_[kClasses];
  const Access* classes_[kClasses] = {};
};

#undef ARBITER_SET
#undef ARBITER_ADD

}  // namespace
}  // namespace internal

absl::StatusOr<v1::AccessReport> Lookup::EffectiveAccess(
    const AccessReportRequest& request) const {
  v1::AccessReport report;
  if (absl::Status st = EffectiveAccess(request, &report); !st.ok()) return st;
  return report;
}

absl::Status Lookup::EffectiveAccess(const AccessReportRequest& request,
                                     v1::AccessReport* report) const {
  using internal::kNone;
  const internal::Snapshot& s = *snapshot_;
  uint32_t org = kNone;
  if (!request.org.empty()) {
    org = internal::ResolveOrg(s, request.org);
    if (org == kNone) {
      return absl::NotFoundError(absl::StrCat("org: no organization \"",
                                              request.org,
                                              "\" (or its name is ambiguous)"));
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
      return absl::NotFoundError(
          absl::StrCat("principal: no principal \"", request.principal, "\""));
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

  report->Clear();
  report->set_organization_id(std::string(s.node_ids.Get(org)));
  report->set_revision(revision_);
  internal::SetTimestamp(internal::ToUnixNanosSaturated(at),
                         report->mutable_at());
  internal::ReportBuilder builder(s, *index_, context, revision_,
                                  request.include_permissions);
  if (principal != kNone) {
    builder.Add(principal, report);
  } else {
    for (uint32_t p : index_->principals_of_org[org]) builder.Add(p, report);
  }
  return absl::OkStatus();
}

}  // namespace arbiter
