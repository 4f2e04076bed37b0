#include "tests/testing/workload.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "arbiter/profile.h"
#include "arbiter/v1/grant.pb.h"
#include "tests/testing/fake_clock.h"

namespace arbiter {
namespace testing {

// ---- Bookkeeping
// -------------------------------------------------------------

namespace {

constexpr int64_t kNeverExpires = std::numeric_limits<int64_t>::max();
constexpr uint32_t kNo = std::numeric_limits<uint32_t>::max();
constexpr int64_t kDayMicros = int64_t{86400} * 1000000;

// splitmix64: tiny, fast, and fully specified, so every platform draws the
// same numbers. Range reduction is a plain modulo (the bias, below 2^-40 for
// our ranges, does not matter; determinism does).
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n); n > 0.
  uint32_t Below(uint32_t n) { return static_cast<uint32_t>(Next() % n); }
  // True with probability per_mille / 1000.
  bool PerMille(int per_mille) {
    return static_cast<int>(Below(1000)) < per_mille;
  }

 private:
  uint64_t state_;
};

// Derives independent streams from one seed and a purpose tag.
uint64_t Mix(uint64_t seed, uint64_t tag) {
  Rng r(seed ^ (tag * 0xd1b54a32d192ed03ull));
  return r.Next();
}

// `k` distinct values of [0, n) (k <= n), in draw order. Partial
// Fisher-Yates over a lazily materialized permutation.
std::vector<uint32_t> Sample(Rng& rng, uint32_t n, uint32_t k) {
  std::vector<uint32_t> out;
  out.reserve(k);
  if (k * 4 < n) {
    // Sparse: rejection with a linear membership test (k is small).
    while (out.size() < k) {
      uint32_t v = rng.Below(n);
      if (std::find(out.begin(), out.end(), v) == out.end()) out.push_back(v);
    }
    return out;
  }
  std::vector<uint32_t> perm(n);
  for (uint32_t i = 0; i < n; ++i) perm[i] = i;
  for (uint32_t i = 0; i < k; ++i) {
    uint32_t j = i + rng.Below(n - i);
    std::swap(perm[i], perm[j]);
    out.push_back(perm[i]);
  }
  return out;
}

enum Level : uint8_t { kOrg = 0, kCloud = 1, kProject = 2 };
enum ResKind : uint8_t { kResOrg, kResCloud, kResProject, kResWorkload };

struct Resource {
  ResKind kind;
  uint32_t index;  // cloud, project or workload index
};

}  // namespace

// The model's records live in their own namespace: arbiter_testing is one
// static library, and these names are generic.
namespace workload_internal {

struct RoleModel {
  std::string name;
  bool deny = false;
  bool all_permissions = false;
  std::vector<bool> perms;  // by permission index
  std::vector<bool> own;
  int public_role = -1;
  int private_role = -1;
  int cap_role = -1;
  std::vector<int> exempt;
};

struct GrantModel {
  uint32_t subject;  // principal or group index
  bool group;
  uint8_t level;
  uint32_t scope;  // 0 (org), cloud or project index
  uint16_t role;
  GrantSource source;
  int64_t expires;  // Unix micros, kNeverExpires if none
  uint32_t id;      // grant "g_<id>"
};

struct PrincipalModel {
  bool service_account = false;
  v1::PrincipalState state = v1::PRINCIPAL_STATE_ACTIVE;
  uint32_t home_cloud = 0;
  uint32_t second_cloud = kNo;
  bool org_owner = false;
  std::vector<uint32_t> groups;  // transitive, by group rank
  std::vector<uint32_t> grants;
};

struct GroupModel {
  uint32_t cloud;
  uint32_t parent = kNo;          // the group containing this one
  uint32_t rank = 0;              // position in group-id order
  std::vector<uint32_t> members;  // direct principal members
  std::vector<uint32_t> reach;    // every principal inside, transitively
  std::vector<uint32_t> grants;
};

}  // namespace workload_internal

using workload_internal::GrantModel;
using workload_internal::GroupModel;
using workload_internal::PrincipalModel;
using workload_internal::RoleModel;

struct WorkloadModel {
  // Profile.
  std::vector<std::string> perm_names;
  std::vector<uint8_t> perm_level;
  std::vector<bool> perm_forbidden_on_default;
  absl::flat_hash_map<std::string, int> perm_index;
  std::vector<RoleModel> roles;
  absl::flat_hash_map<std::string, int> role_index;
  int member_role = -1;

  // Resources.
  uint32_t clouds = 0;
  uint32_t projects_per_cloud = 0;
  std::vector<bool> project_public;
  std::vector<uint32_t> workload_project;
  std::vector<uint32_t> workload_creator;  // kNo if none
  std::vector<std::vector<uint32_t>> project_workloads;

  // Subjects and grants.
  uint32_t users = 0;
  std::vector<PrincipalModel> principals;
  std::vector<GroupModel> groups;
  std::vector<uint32_t> org_owners;
  std::vector<GrantModel> grants;

  int64_t now_micros = 0;

  uint32_t ProjectCloud(uint32_t p) const { return p / projects_per_cloud; }
  bool IsDefault(uint32_t p) const { return p % projects_per_cloud == 0; }
  uint32_t Perm(absl::string_view name) const {
    return perm_index.at(std::string(name));
  }
  uint16_t Role(absl::string_view name) const {
    return static_cast<uint16_t>(role_index.at(std::string(name)));
  }
};

namespace {

std::string PrincipalId(const WorkloadModel& m, uint32_t p) {
  return p < m.users ? absl::StrCat("usr_", p)
                     : absl::StrCat("sa_", p - m.users);
}
std::string PrincipalEmail(const WorkloadModel& m, uint32_t p) {
  return p < m.users
             ? absl::StrCat("user", p, "@example.com")
             : absl::StrCat("sa", p - m.users, "@org-0.serviceaccount.com");
}
std::string CloudName(uint32_t c) { return absl::StrCat("cloud-", c); }
std::string ProjectName(const WorkloadModel& m, uint32_t p) {
  return m.IsDefault(p) ? std::string("default") : absl::StrCat("proj-", p);
}

std::string ResourceId(const Resource& r) {
  switch (r.kind) {
    case kResOrg:
      return "org_0";
    case kResCloud:
      return absl::StrCat("cld_", r.index);
    case kResProject:
      return absl::StrCat("prj_", r.index);
    case kResWorkload:
      return absl::StrCat("wl_", r.index);
  }
  return "";
}

std::string ResourcePath(const WorkloadModel& m, const Resource& r) {
  switch (r.kind) {
    case kResOrg:
      return "";
    case kResCloud:
      return CloudName(r.index);
    case kResProject:
      return absl::StrCat(CloudName(m.ProjectCloud(r.index)), "/",
                          ProjectName(m, r.index));
    case kResWorkload: {
      const uint32_t p = m.workload_project[r.index];
      return absl::StrCat(CloudName(m.ProjectCloud(p)), "/", ProjectName(m, p),
                          "/wl-", r.index);
    }
  }
  return "";
}

void LoadProfile(WorkloadModel& m) {
  const v1::Profile& profile = BuiltinProfile();
  for (const v1::Permission& p : profile.permissions()) {
    m.perm_index[p.name()] = m.perm_names.size();
    m.perm_names.push_back(p.name());
    m.perm_level.push_back(
        static_cast<uint8_t>(p.scope() - v1::SCOPE_TYPE_ORG));
    m.perm_forbidden_on_default.push_back(p.forbidden_on_default_project());
  }
  for (const v1::Role& r : profile.roles()) {
    m.role_index[r.name()] = m.roles.size();
    m.roles.emplace_back();
  }
  for (int i = 0; i < profile.roles_size(); ++i) {
    const v1::Role& r = profile.roles(i);
    RoleModel& rm = m.roles[i];
    auto role_of = [&](const std::string& name) {
      if (name.empty()) return -1;
      auto it = m.role_index.find(name);
      return it == m.role_index.end() ? -1 : it->second;
    };
    rm.name = r.name();
    rm.deny = r.effect() == v1::ROLE_EFFECT_DENY;
    rm.all_permissions = r.all_permissions();
    rm.perms.assign(m.perm_names.size(), r.all_permissions());
    rm.own.assign(m.perm_names.size(), false);
    for (const std::string& p : r.permissions())
      rm.perms[m.perm_index.at(p)] = true;
    for (const std::string& p : r.own_workload_permissions()) {
      rm.own[m.perm_index.at(p)] = true;
    }
    rm.public_role = role_of(r.public_project_role());
    rm.private_role = role_of(r.private_project_role());
    rm.cap_role = role_of(r.implied_project_role_cap());
    for (const std::string& e : r.exempt_roles())
      rm.exempt.push_back(role_of(e));
  }
  m.member_role = m.role_index.count(profile.member_role())
                      ? m.role_index.at(profile.member_role())
                      : -1;
}

// ---- The model of docs/semantics.md for the generated roles ----------------

struct Outcome {
  Reason reason = Reason::kInternalError;
  GrantSource source = GrantSource::kNone;
};

class ModelChecker {
 public:
  explicit ModelChecker(const WorkloadModel& m) : m_(m) {}

  Outcome Check(uint32_t p, uint32_t k, const Resource& res) const {
    const PrincipalModel& pr = m_.principals[p];
    if (pr.state == v1::PRINCIPAL_STATE_DELETED)
      return {Reason::kPrincipalDeleted};
    if (pr.state == v1::PRINCIPAL_STATE_INVITED)
      return {Reason::kPrincipalInvited};
    const int top = m_.perm_level[k];
    // The path: scope index per level, kNo where absent.
    uint32_t path[3] = {0, kNo, kNo};
    if (res.kind == kResCloud) path[kCloud] = res.index;
    if (res.kind == kResProject) {
      path[kCloud] = m_.ProjectCloud(res.index);
      path[kProject] = res.index;
    }
    if (res.kind == kResWorkload) {
      path[kProject] = m_.workload_project[res.index];
      path[kCloud] = m_.ProjectCloud(path[kProject]);
    }
    if (path[top] == kNo) return {Reason::kPermissionNotApplicable};
    const bool project_anchor = top == kProject;
    if (project_anchor && m_.perm_forbidden_on_default[k] &&
        m_.IsDefault(path[kProject])) {
      return {Reason::kProtectedResource};
    }
    const bool is_public = project_anchor && m_.project_public[path[kProject]];

    // Relevant live grants, with their subject rank.
    struct Rel {
      const GrantModel* g;
      uint32_t rank;  // 0: the principal; 1 + group rank
    };
    std::vector<Rel> rel;
    auto collect = [&](const std::vector<uint32_t>& grants, uint32_t rank) {
      for (uint32_t gi : grants) {
        const GrantModel& g = m_.grants[gi];
        if (g.level > top || g.scope != path[g.level]) continue;
        if (g.expires <= m_.now_micros) continue;
        rel.push_back({&g, rank});
      }
    };
    collect(pr.grants, 0);
    for (uint32_t grp : pr.groups)
      collect(m_.groups[grp].grants, 1 + m_.groups[grp].rank);

    // Least by (scope rank, subject rank, grant id bytewise).
    auto less = [&](const Rel& a, const Rel& b) {
      if (a.g->level != b.g->level) return a.g->level > b.g->level;
      if (a.rank != b.rank) return a.rank < b.rank;
      return absl::StrCat("g_", a.g->id) < absl::StrCat("g_", b.g->id);
    };
    auto least = [&](auto pred) -> const Rel* {
      const Rel* best = nullptr;
      for (const Rel& r : rel) {
        if (pred(r) && (best == nullptr || less(r, *best))) best = &r;
      }
      return best;
    };
    auto outcome = [](Reason reason, const Rel* r) {
      return Outcome{reason, r == nullptr ? GrantSource::kNone : r->g->source};
    };

    std::vector<bool> held(m_.roles.size(), false);
    for (const Rel& r : rel) {
      if (!m_.roles[r.g->role].deny) held[r.g->role] = true;
    }
    auto applicable_deny = [&](const Rel& r) {
      const RoleModel& role = m_.roles[r.g->role];
      if (!role.deny) return false;
      for (int e : role.exempt) {
        if (e >= 0 && held[e]) return false;
      }
      return true;
    };
    auto allow = [&](const Rel& r) { return !m_.roles[r.g->role].deny; };

    Outcome candidate;
    const Rel* owner = least([&](const Rel& r) {
      return allow(r) && r.g->level == kOrg &&
             m_.roles[r.g->role].all_permissions;
    });
    const bool member_has =
        m_.member_role >= 0 && m_.roles[m_.member_role].perms[k];
    if (owner != nullptr) {
      candidate = outcome(Reason::kOrgOwner, owner);
    } else if (top == kOrg) {
      const Rel* g = least([&](const Rel& r) {
        return allow(r) && m_.roles[r.g->role].perms[k];
      });
      if (g != nullptr) {
        candidate = outcome(Reason::kGrant, g);
      } else if (member_has) {
        candidate = {Reason::kOrgMember};
      } else {
        return {Reason::kNeedsOrgOwner};
      }
    } else {
      const bool cloud_member = least([&](const Rel& r) {
                                  return allow(r) && r.g->level == kCloud;
                                }) != nullptr;
      if (!cloud_member) return {Reason::kNoCloudGrant};
      const Rel* explicit_grant = least([&](const Rel& r) {
        return allow(r) && m_.roles[r.g->role].perms[k];
      });
      auto implied_role = [&](const Rel& r) {
        const RoleModel& role = m_.roles[r.g->role];
        return is_public ? role.public_role : role.private_role;
      };
      const Rel* implied = nullptr;
      bool implied_any = false;
      if (project_anchor) {
        implied = least([&](const Rel& r) {
          if (!allow(r) || r.g->level != kCloud) return false;
          const int ir = implied_role(r);
          return ir >= 0 && m_.roles[ir].perms[k];
        });
        implied_any =
            least([&](const Rel& r) {
              return allow(r) && r.g->level == kCloud && implied_role(r) >= 0;
            }) != nullptr;
      }
      const Rel* cap = nullptr;
      if (project_anchor) {
        cap = least([&](const Rel& r) {
          if (!applicable_deny(r)) return false;
          const int c = m_.roles[r.g->role].cap_role;
          return c >= 0 && !m_.roles[c].perms[k];
        });
      }
      const bool creator =
          res.kind == kResWorkload && m_.workload_creator[res.index] == p;
      const Rel* own = least(
          [&](const Rel& r) { return allow(r) && m_.roles[r.g->role].own[k]; });
      const bool project_member = least([&](const Rel& r) {
                                    return allow(r) && r.g->level == kProject;
                                  }) != nullptr;
      if (explicit_grant != nullptr) {
        candidate = outcome(Reason::kGrant, explicit_grant);
      } else if (implied != nullptr && cap == nullptr) {
        candidate = outcome(
            is_public ? Reason::kPublicProject : Reason::kCloudRoleInheritance,
            implied);
      } else if (creator && own != nullptr) {
        candidate = outcome(Reason::kOwnWorkload, own);
      } else if (member_has) {
        candidate = {Reason::kOrgMember};
      } else if (implied != nullptr) {
        return outcome(Reason::kDenyRole, cap);
      } else if (project_anchor && !project_member && !implied_any) {
        return {Reason::kNoProjectGrant};
      } else if (own != nullptr) {
        return {Reason::kNotWorkloadCreator};
      } else {
        return {Reason::kInsufficientRole};
      }
    }
    const Rel* deny = least([&](const Rel& r) {
      return applicable_deny(r) && m_.roles[r.g->role].perms[k];
    });
    if (deny != nullptr) return outcome(Reason::kDenyRole, deny);
    return candidate;
  }

 private:
  const WorkloadModel& m_;
};

// ---- Generation
// --------------------------------------------------------------

class Generator {
 public:
  Generator(const WorkloadSpec& spec, WorkloadModel& m, v1::PolicySet& out)
      : spec_(spec), m_(m), out_(out) {}

  void Run() {
    LoadProfile(m_);
    m_.now_micros = absl::ToUnixMicros(WorkloadNow());
    out_.set_revision(spec_.seed);
    auto* org = out_.add_organizations();
    org->set_id("org_0");
    org->set_name("org-0");
    Resources();
    Principals();
    Groups();
    Grants();
    EmitPrincipalsAndGroups();
    EmitWorkloads();
  }

 private:
  // A grant in the model and in the PolicySet.
  void AddGrant(uint32_t subject, bool group, uint8_t level, uint32_t scope,
                absl::string_view role, GrantSource source, int64_t expires) {
    GrantModel g;
    g.subject = subject;
    g.group = group;
    g.level = level;
    g.scope = scope;
    g.role = m_.Role(role);
    g.source = source;
    g.expires = expires;
    g.id = m_.grants.size();
    (group ? m_.groups[subject].grants : m_.principals[subject].grants)
        .push_back(g.id);
    m_.grants.push_back(g);

    v1::Grant* pg = out_.add_grants();
    pg->set_id(absl::StrCat("g_", g.id));
    if (group) {
      pg->set_group_id(absl::StrCat("grp_", subject));
    } else {
      pg->set_principal_id(PrincipalId(m_, subject));
    }
    pg->set_role(std::string(role));
    switch (level) {
      case kOrg:
        pg->set_org_id("org_0");
        break;
      case kCloud:
        pg->set_cloud_id(absl::StrCat("cld_", scope));
        break;
      default:
        pg->set_project_id(absl::StrCat("prj_", scope));
        break;
    }
    if (source == GrantSource::kAutoAdd) {
      pg->set_source(v1::GRANT_SOURCE_AUTO_ADD);
    }
    if (expires != kNeverExpires) {
      pg->mutable_expires_at()->set_seconds(expires / 1000000);
    }
  }

  // Expiry of a project grant: mostly none; some expired, some not yet.
  int64_t DrawExpiry(Rng& rng) {
    if (!rng.PerMille(spec_.expiring_per_mille)) return kNeverExpires;
    const int64_t days = 1 + rng.Below(365);
    return rng.Below(2) == 0 ? m_.now_micros - days * kDayMicros
                             : m_.now_micros + days * kDayMicros;
  }

  const char* DrawProjectRole(Rng& rng, bool readonly_only) {
    if (readonly_only) return "project_readonly";
    const uint32_t r = rng.Below(10);
    return r == 0  ? "project_owner"
           : r < 6 ? "project_write"
                   : "project_readonly";
  }

  // `n` distinct non-default projects of `cloud`.
  std::vector<uint32_t> DrawProjects(Rng& rng, uint32_t cloud, uint32_t n) {
    const uint32_t ppc = m_.projects_per_cloud;
    std::vector<uint32_t> local = Sample(rng, ppc - 1, std::min(n, ppc - 1));
    for (uint32_t& l : local) l = cloud * ppc + 1 + l;
    return local;
  }

  void Resources() {
    Rng rng(Mix(spec_.seed, 1));
    m_.clouds = spec_.clouds;
    m_.projects_per_cloud = std::max(2, spec_.projects_per_cloud);
    const uint32_t ppc = m_.projects_per_cloud;
    for (uint32_t c = 0; c < m_.clouds; ++c) {
      auto* cloud = out_.add_clouds();
      cloud->set_id(absl::StrCat("cld_", c));
      cloud->set_org_id("org_0");
      cloud->set_name(CloudName(c));
      cloud->set_auto_add_users(spec_.auto_add_per_mille > 0);
    }
    m_.project_public.assign(m_.clouds * ppc, false);
    // Per cloud, exactly round(ppc * public_per_mille / 1000) public
    // projects, the default one included.
    const uint32_t public_count =
        std::max<uint32_t>(1, (ppc * spec_.public_per_mille + 500) / 1000);
    for (uint32_t c = 0; c < m_.clouds; ++c) {
      m_.project_public[c * ppc] = true;
      for (uint32_t l :
           Sample(rng, ppc - 1, std::min(public_count - 1, ppc - 1))) {
        m_.project_public[c * ppc + 1 + l] = true;
      }
      for (uint32_t l = 0; l < ppc; ++l) {
        const uint32_t p = c * ppc + l;
        auto* project = out_.add_projects();
        project->set_id(absl::StrCat("prj_", p));
        project->set_cloud_id(absl::StrCat("cld_", c));
        project->set_name(ProjectName(m_, p));
        project->set_visibility(m_.project_public[p] ? v1::VISIBILITY_PUBLIC
                                                     : v1::VISIBILITY_PRIVATE);
        project->set_is_default(l == 0);
      }
    }
    const uint32_t num_projects = m_.clouds * ppc;
    m_.project_workloads.assign(num_projects, {});
    m_.workload_project.resize(spec_.workloads);
    for (uint32_t w = 0; w < static_cast<uint32_t>(spec_.workloads); ++w) {
      const uint32_t p = rng.Below(num_projects);
      m_.workload_project[w] = p;
      m_.project_workloads[p].push_back(w);
    }
  }

  void Principals() {
    Rng rng(Mix(spec_.seed, 2));
    m_.users = spec_.users;
    const uint32_t total = spec_.users + spec_.service_accounts;
    m_.principals.resize(total);
    cloud_users_.assign(m_.clouds, {});
    for (uint32_t p = 0; p < total; ++p) {
      PrincipalModel& pm = m_.principals[p];
      pm.service_account = p >= m_.users;
      pm.home_cloud = rng.Below(m_.clouds);
      if (!pm.service_account) {
        const uint32_t r = rng.Below(1000);
        if (r < static_cast<uint32_t>(spec_.deleted_per_mille)) {
          pm.state = v1::PRINCIPAL_STATE_DELETED;
        } else if (r < static_cast<uint32_t>(spec_.deleted_per_mille +
                                             spec_.invited_per_mille)) {
          pm.state = v1::PRINCIPAL_STATE_INVITED;
        }
        cloud_users_[pm.home_cloud].push_back(p);
      }
    }
    // Org owners: active users, never service accounts.
    std::vector<uint32_t> active;
    for (uint32_t p = 0; p < m_.users; ++p) {
      if (m_.principals[p].state == v1::PRINCIPAL_STATE_ACTIVE)
        active.push_back(p);
    }
    for (uint32_t i :
         Sample(rng, active.size(),
                std::min<uint32_t>(spec_.org_owners, active.size()))) {
      m_.principals[active[i]].org_owner = true;
      m_.org_owners.push_back(active[i]);
    }
    // Workload creators: users of the workload's cloud, 80% of workloads.
    m_.workload_creator.assign(m_.workload_project.size(), kNo);
    for (uint32_t w = 0; w < m_.workload_project.size(); ++w) {
      const auto& users = cloud_users_[m_.ProjectCloud(m_.workload_project[w])];
      if (!users.empty() && rng.PerMille(800)) {
        m_.workload_creator[w] = users[rng.Below(users.size())];
      }
    }
  }

  void Groups() {
    Rng rng(Mix(spec_.seed, 3));
    const uint32_t num_groups = spec_.groups;
    m_.groups.resize(num_groups);
    for (uint32_t g = 0; g < num_groups; ++g) {
      GroupModel& gm = m_.groups[g];
      gm.cloud = g % m_.clouds;
      const auto& users = cloud_users_[gm.cloud];
      for (uint32_t i :
           Sample(rng, users.size(),
                  std::min<uint32_t>(spec_.group_size, users.size()))) {
        gm.members.push_back(users[i]);
      }
      std::sort(gm.members.begin(), gm.members.end());
      if (g >= m_.clouds && rng.PerMille(spec_.nested_group_per_mille)) {
        gm.parent = g - m_.clouds;  // same cloud, lower index: no cycles
      }
    }
    // Ranks follow group ids bytewise ("grp_10" < "grp_2").
    std::vector<std::pair<std::string, uint32_t>> ids;
    for (uint32_t g = 0; g < num_groups; ++g)
      ids.emplace_back(absl::StrCat("grp_", g), g);
    std::sort(ids.begin(), ids.end());
    for (uint32_t r = 0; r < num_groups; ++r) m_.groups[ids[r].second].rank = r;
    // Transitive membership.
    for (uint32_t g = 0; g < num_groups; ++g) {
      for (uint32_t a = g; a != kNo; a = m_.groups[a].parent) {
        for (uint32_t p : m_.groups[g].members) {
          m_.principals[p].groups.push_back(a);
          m_.groups[a].reach.push_back(p);
        }
      }
    }
    for (PrincipalModel& pm : m_.principals) {
      std::sort(pm.groups.begin(), pm.groups.end(),
                [&](uint32_t a, uint32_t b) {
                  return m_.groups[a].rank < m_.groups[b].rank;
                });
      pm.groups.erase(std::unique(pm.groups.begin(), pm.groups.end()),
                      pm.groups.end());
    }
    for (GroupModel& gm : m_.groups) {
      std::sort(gm.reach.begin(), gm.reach.end());
      gm.reach.erase(std::unique(gm.reach.begin(), gm.reach.end()),
                     gm.reach.end());
    }
  }

  void Grants() {
    Rng rng(Mix(spec_.seed, 4));
    const uint32_t total = m_.principals.size();

    // Group grants first: ordinary users may rely on them for cloud access.
    for (uint32_t g = 0; g < m_.groups.size(); ++g) {
      const GroupModel& gm = m_.groups[g];
      AddGrant(g, true, kCloud, gm.cloud,
               rng.PerMille(700) ? "cloud_collaborator" : "cloud_readonly",
               GrantSource::kGroup, kNeverExpires);
      for (uint32_t p :
           DrawProjects(rng, gm.cloud, spec_.group_project_grants)) {
        // One draw per statement: the order of evaluation of function
        // arguments is unspecified, and g++ and clang differ.
        const int64_t expiry = DrawExpiry(rng);
        AddGrant(g, true, kProject, p, DrawProjectRole(rng, false),
                 GrantSource::kGroup, expiry);
      }
    }

    // Per cloud: owners and collaborators among its active, non-owner users.
    std::vector<uint8_t> cloud_role(total, 0);  // 1 owner, 2 collaborator
    for (uint32_t c = 0; c < m_.clouds; ++c) {
      std::vector<uint32_t> pool;
      for (uint32_t p : cloud_users_[c]) {
        const PrincipalModel& pm = m_.principals[p];
        if (pm.state == v1::PRINCIPAL_STATE_ACTIVE && !pm.org_owner)
          pool.push_back(p);
      }
      const uint32_t want = std::min<uint32_t>(
          spec_.cloud_owners_per_cloud + spec_.collaborators_per_cloud,
          pool.size());
      std::vector<uint32_t> picked = Sample(rng, pool.size(), want);
      for (uint32_t i = 0; i < picked.size(); ++i) {
        cloud_role[pool[picked[i]]] =
            i < static_cast<uint32_t>(spec_.cloud_owners_per_cloud) ? 1 : 2;
      }
    }

    for (uint32_t p = 0; p < total; ++p) {
      PrincipalModel& pm = m_.principals[p];
      if (pm.state == v1::PRINCIPAL_STATE_INVITED) continue;
      const uint32_t home = pm.home_cloud;
      if (pm.org_owner) {
        AddGrant(p, false, kOrg, 0, "org_owner", GrantSource::kDirect,
                 kNeverExpires);
      }
      if (pm.service_account) {
        AddGrant(p, false, kCloud, home, "cloud_collaborator",
                 GrantSource::kDirect, kNeverExpires);
        for (uint32_t pr : DrawProjects(rng, home, 2)) {
          AddGrant(p, false, kProject, pr, "project_write",
                   GrantSource::kDirect, kNeverExpires);
        }
        continue;
      }

      // Home cloud access.
      bool read_only_deny = false;
      if (cloud_role[p] == 1) {
        AddGrant(p, false, kCloud, home, "cloud_owner", GrantSource::kDirect,
                 kNeverExpires);
      } else if (cloud_role[p] == 2) {
        AddGrant(p, false, kCloud, home, "cloud_collaborator",
                 GrantSource::kDirect, kNeverExpires);
      } else {
        const uint32_t r = rng.Below(1000);
        if (r < static_cast<uint32_t>(spec_.auto_add_per_mille)) {
          AddGrant(p, false, kCloud, home, "cloud_collaborator",
                   GrantSource::kAutoAdd, kNeverExpires);
        } else if (r < static_cast<uint32_t>(spec_.auto_add_per_mille +
                                             spec_.group_only_per_mille) &&
                   !pm.groups.empty()) {
          // Cloud access through the groups alone (all of the home cloud).
        } else {
          AddGrant(p, false, kCloud, home, "cloud_readonly",
                   GrantSource::kDirect, kNeverExpires);
        }
      }
      // Deny roles. cloud_read_only is incompatible with cloud_owner and
      // limits this subject's project grants on the cloud to
      // project_readonly.
      if (cloud_role[p] != 1 && rng.PerMille(spec_.cloud_read_only_per_mille)) {
        AddGrant(p, false, kCloud, home, "cloud_read_only",
                 GrantSource::kDirect, kNeverExpires);
        read_only_deny = true;
      }
      if (rng.PerMille(spec_.image_reader_per_mille)) {
        AddGrant(p, false, kOrg, 0, "image_reader", GrantSource::kDirect,
                 kNeverExpires);
      }
      // Project grants on the home cloud.
      const uint32_t n =
          spec_.min_project_grants +
          rng.Below(spec_.max_project_grants - spec_.min_project_grants + 1);
      for (uint32_t pr : DrawProjects(rng, home, n)) {
        const int64_t expiry = DrawExpiry(rng);
        AddGrant(p, false, kProject, pr, DrawProjectRole(rng, read_only_deny),
                 GrantSource::kDirect, expiry);
      }
      // A second cloud, read-only, with a project grant or two.
      if (m_.clouds > 1 && !pm.org_owner &&
          rng.PerMille(spec_.second_cloud_per_mille)) {
        const uint32_t second =
            (home + 1 + rng.Below(m_.clouds - 1)) % m_.clouds;
        pm.second_cloud = second;
        AddGrant(p, false, kCloud, second, "cloud_readonly",
                 GrantSource::kDirect, kNeverExpires);
        for (uint32_t pr : DrawProjects(rng, second, 1 + rng.Below(2))) {
          const int64_t expiry = DrawExpiry(rng);
          AddGrant(p, false, kProject, pr, DrawProjectRole(rng, false),
                   GrantSource::kDirect, expiry);
        }
      }
    }
  }

  void EmitPrincipalsAndGroups() {
    for (uint32_t p = 0; p < m_.principals.size(); ++p) {
      const PrincipalModel& pm = m_.principals[p];
      auto* pr = out_.add_principals();
      pr->set_id(PrincipalId(m_, p));
      pr->set_org_id("org_0");
      pr->set_kind(pm.service_account ? v1::PRINCIPAL_KIND_SERVICE_ACCOUNT
                                      : v1::PRINCIPAL_KIND_USER);
      pr->set_email(PrincipalEmail(m_, p));
      if (pm.state != v1::PRINCIPAL_STATE_ACTIVE) pr->set_state(pm.state);
    }
    for (uint32_t g = 0; g < m_.groups.size(); ++g) {
      const GroupModel& gm = m_.groups[g];
      auto* group = out_.add_groups();
      group->set_id(absl::StrCat("grp_", g));
      group->set_org_id("org_0");
      group->set_name(absl::StrCat("group-", g));
      for (uint32_t p : gm.members) group->add_member_ids(PrincipalId(m_, p));
    }
    for (uint32_t g = 0; g < m_.groups.size(); ++g) {
      if (m_.groups[g].parent != kNo) {
        out_.mutable_groups(m_.groups[g].parent)
            ->add_member_ids(absl::StrCat("grp_", g));
      }
    }
  }

  void EmitWorkloads() {
    static constexpr v1::WorkloadType kTypes[] = {
        v1::WORKLOAD_TYPE_WORKSPACE, v1::WORKLOAD_TYPE_JOB,
        v1::WORKLOAD_TYPE_SERVICE, v1::WORKLOAD_TYPE_CLUSTER};
    for (uint32_t w = 0; w < m_.workload_project.size(); ++w) {
      const uint32_t p = m_.workload_project[w];
      auto* wl = out_.add_workloads();
      wl->set_id(absl::StrCat("wl_", w));
      // Half of the default project's workloads name only their cloud.
      if (m_.IsDefault(p) && w % 2 == 0) {
        wl->set_cloud_id(absl::StrCat("cld_", m_.ProjectCloud(p)));
      } else {
        wl->set_project_id(absl::StrCat("prj_", p));
      }
      wl->set_name(absl::StrCat("wl-", w));
      wl->set_type(kTypes[w % 4]);
      if (m_.workload_creator[w] != kNo) {
        wl->set_creator_id(PrincipalId(m_, m_.workload_creator[w]));
      }
    }
  }

  const WorkloadSpec& spec_;
  WorkloadModel& m_;
  v1::PolicySet& out_;
  std::vector<std::vector<uint32_t>> cloud_users_;
};

}  // namespace

// ---- Public API
// --------------------------------------------------------------

absl::string_view WorkloadSizeName(WorkloadSize size) {
  switch (size) {
    case WorkloadSize::kS:
      return "S";
    case WorkloadSize::kM:
      return "M";
    case WorkloadSize::kL:
      return "L";
    case WorkloadSize::kXL:
      return "XL";
  }
  return "?";
}

bool ParseWorkloadSize(absl::string_view name, WorkloadSize* size) {
  for (WorkloadSize s : {WorkloadSize::kS, WorkloadSize::kM, WorkloadSize::kL,
                         WorkloadSize::kXL}) {
    if (absl::EqualsIgnoreCase(name, WorkloadSizeName(s))) {
      *size = s;
      return true;
    }
  }
  return false;
}

WorkloadSpec SpecFor(WorkloadSize size) {
  WorkloadSpec s;
  s.name = std::string(WorkloadSizeName(size));
  if (size == WorkloadSize::kS) return s;  // the defaults
  // M, then scaled by 10 (L) or 100 (XL).
  const int f = size == WorkloadSize::kM   ? 1
                : size == WorkloadSize::kL ? 10
                                           : 100;
  s.clouds = 10 * f;
  s.projects_per_cloud = 100;
  s.workloads = 10000 * f;
  s.users = 10000 * f;
  s.service_accounts = 100 * f;
  s.groups = 100 * f;
  s.group_size = 50;
  s.org_owners = 10;
  return s;
}

absl::Time WorkloadNow() { return absl::FromUnixSeconds(1767225600); }

EngineOptions WorkloadEngineOptions() {
  EngineOptions options;
  options.clock = std::make_shared<FakeClock>(WorkloadNow());
  return options;
}

size_t EstimatedPeakBytes(const WorkloadSpec& spec) {
  // Measured peak RSS of generating, compiling and querying: ~45 MB at M and
  // ~380 MB at L, about 600 bytes per grant all told. Budget 1 KiB per grant
  // so a size is skipped rather than pushing the machine into swap or OOM.
  const size_t grants = static_cast<size_t>(spec.users) * 6 +
                        static_cast<size_t>(spec.groups) * 6 +
                        static_cast<size_t>(spec.service_accounts) * 3;
  return grants * 1024;
}

size_t AvailableMemoryBytes() {
  FILE* f = std::fopen("/proc/meminfo", "r");
  if (f == nullptr) return 0;
  char line[256];
  size_t kb = 0;
  while (std::fgets(line, sizeof(line), f) != nullptr) {
    if (std::sscanf(line, "MemAvailable: %zu kB", &kb) == 1) break;
  }
  std::fclose(f);
  return kb * 1024;
}

bool WorkloadFits(const WorkloadSpec& spec, std::string* why) {
  const size_t need = EstimatedPeakBytes(spec);
  const size_t have = AvailableMemoryBytes();
  if (have == 0 || need <= have) return true;
  if (why != nullptr) {
    *why = absl::StrCat("workload ", spec.name, " needs about ", need >> 20,
                        " MiB, only ", have >> 20, " MiB available");
  }
  return false;
}

Workload::Workload() = default;
Workload::Workload(Workload&&) noexcept = default;
Workload& Workload::operator=(Workload&&) noexcept = default;
Workload::~Workload() = default;

Workload GenerateWorkload(const WorkloadSpec& spec) {
  Workload w;
  w.spec = spec;
  auto model = std::make_shared<WorkloadModel>();
  Generator(spec, *model, w.policy).Run();
  w.model = std::move(model);
  return w;
}

uint64_t WorkloadFingerprint(const v1::PolicySet& policy) {
  const std::string bytes = policy.SerializeAsString();
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

absl::string_view QueryKindName(QueryKind kind) {
  switch (kind) {
    case QueryKind::kDirect:
      return "direct";
    case QueryKind::kGroup:
      return "group";
    case QueryKind::kOrgOwner:
      return "org_owner";
    case QueryKind::kPublicProject:
      return "public_project";
    case QueryKind::kDenied:
      return "denied";
    case QueryKind::kUnknownPrincipal:
      return "unknown";
  }
  return "?";
}

namespace {

// Proposes candidate requests for one kind; the model decides whether each
// really is of that kind.
class QueryMaker {
 public:
  QueryMaker(const WorkloadModel& m, uint64_t seed)
      : m_(m), checker_(m), rng_(seed) {
    for (const char* name :
         {"project.view", "project.workload.view", "project.workload.create",
          "project.workload.update", "project.workload.terminate",
          "project.members.manage"}) {
      project_perms_.push_back(m.Perm(name));
    }
    for (const char* name :
         {"cloud.view", "cloud.projects.create", "cloud.compute_configs.use",
          "cloud.config.update"}) {
      cloud_perms_.push_back(m.Perm(name));
    }
    for (uint32_t p = 0; p < m.principals.size(); ++p) {
      const PrincipalModel& pm = m.principals[p];
      if (pm.state != v1::PRINCIPAL_STATE_ACTIVE || pm.org_owner) continue;
      active_.push_back(p);
      bool direct = false;
      for (uint32_t g : pm.grants) direct |= m.grants[g].level == kProject;
      if (direct) with_direct_.push_back(p);
    }
    for (uint32_t g = 0; g < m.groups.size(); ++g) {
      if (!m.groups[g].reach.empty()) groups_.push_back(g);
    }
    for (uint32_t p = 0; p < m.project_public.size(); ++p) {
      (m.project_public[p] ? public_ : private_).push_back(p);
    }
  }

  bool Propose(QueryKind kind, Query* q) {
    uint32_t p;
    Resource res;
    uint32_t k;
    switch (kind) {
      case QueryKind::kDirect: {
        if (with_direct_.empty()) return false;
        p = with_direct_[rng_.Below(with_direct_.size())];
        const auto& grants = m_.principals[p].grants;
        const GrantModel& g = m_.grants[grants[rng_.Below(grants.size())]];
        if (g.level != kProject) return false;
        res = InProject(g.scope);
        k = project_perms_[rng_.Below(project_perms_.size())];
        break;
      }
      case QueryKind::kGroup: {
        if (groups_.empty()) return false;
        const GroupModel& gm = m_.groups[groups_[rng_.Below(groups_.size())]];
        p = gm.reach[rng_.Below(gm.reach.size())];
        const GrantModel& g =
            m_.grants[gm.grants[rng_.Below(gm.grants.size())]];
        if (g.level != kProject) return false;
        res = InProject(g.scope);
        k = project_perms_[rng_.Below(project_perms_.size())];
        break;
      }
      case QueryKind::kOrgOwner: {
        if (m_.org_owners.empty()) return false;
        p = m_.org_owners[rng_.Below(m_.org_owners.size())];
        if (rng_.Below(4) == 0) {
          res = {kResCloud, rng_.Below(m_.clouds)};
          k = cloud_perms_[rng_.Below(cloud_perms_.size())];
        } else {
          res = InProject(rng_.Below(m_.project_public.size()));
          k = project_perms_[rng_.Below(project_perms_.size())];
        }
        break;
      }
      case QueryKind::kPublicProject: {
        if (active_.empty()) return false;
        p = active_[rng_.Below(active_.size())];
        const PrincipalModel& pm = m_.principals[p];
        const uint32_t cloud = pm.second_cloud != kNo && rng_.Below(4) == 0
                                   ? pm.second_cloud
                                   : pm.home_cloud;
        res = InProject(PublicProjectOf(cloud));
        k = project_perms_[rng_.Below(3)];  // view, workload view / create
        break;
      }
      case QueryKind::kDenied: {
        if (active_.empty()) return false;
        p = active_[rng_.Below(active_.size())];
        const PrincipalModel& pm = m_.principals[p];
        switch (rng_.Below(4)) {
          case 0:  // another cloud
            res = InProject(rng_.Below(m_.project_public.size()));
            k = project_perms_[rng_.Below(project_perms_.size())];
            break;
          case 1:  // a cloud permission on the home cloud
            res = {kResCloud, pm.home_cloud};
            k = cloud_perms_[rng_.Below(cloud_perms_.size())];
            break;
          default:  // a project of the home cloud
            res = InProject(pm.home_cloud * m_.projects_per_cloud +
                            rng_.Below(m_.projects_per_cloud));
            k = project_perms_[rng_.Below(project_perms_.size())];
            break;
        }
        break;
      }
      case QueryKind::kUnknownPrincipal: {
        const uint32_t n = rng_.Below(1u << 30);
        q->kind = kind;
        q->principal_id = absl::StrCat("usr_missing_", n);
        q->principal_email = absl::StrCat("missing", n, "@example.com");
        const uint32_t perm = rng_.Below(project_perms_.size());
        Fill(InProject(rng_.Below(m_.project_public.size())),
             project_perms_[perm], q);
        q->expected_reason = Reason::kUnknownPrincipal;
        q->expected_source = GrantSource::kNone;
        return true;
      }
      default:
        return false;
    }
    const Outcome o = checker_.Check(p, k, res);
    if (!Matches(kind, o)) return false;
    q->kind = kind;
    q->principal_id = PrincipalId(m_, p);
    q->principal_email = PrincipalEmail(m_, p);
    Fill(res, k, q);
    q->expected_reason = o.reason;
    q->expected_source = o.source;
    return true;
  }

 private:
  static bool Matches(QueryKind kind, const Outcome& o) {
    switch (kind) {
      case QueryKind::kDirect:
        return o.reason == Reason::kGrant && o.source == GrantSource::kDirect;
      case QueryKind::kGroup:
        return o.reason == Reason::kGrant && o.source == GrantSource::kGroup;
      case QueryKind::kOrgOwner:
        return o.reason == Reason::kOrgOwner;
      case QueryKind::kPublicProject:
        return o.reason == Reason::kPublicProject;
      case QueryKind::kDenied:
        return o.reason == Reason::kNoCloudGrant ||
               o.reason == Reason::kNoProjectGrant ||
               o.reason == Reason::kInsufficientRole ||
               o.reason == Reason::kDenyRole;
      default:
        return false;
    }
  }

  // The project itself, or one of its workloads.
  Resource InProject(uint32_t project) {
    const auto& wls = m_.project_workloads[project];
    if (!wls.empty() && rng_.Below(2) == 0) {
      return {kResWorkload, wls[rng_.Below(wls.size())]};
    }
    return {kResProject, project};
  }

  uint32_t PublicProjectOf(uint32_t cloud) {
    // Public projects are a fifth of each cloud's: rejection is cheap.
    const uint32_t base = cloud * m_.projects_per_cloud;
    for (int i = 0; i < 64; ++i) {
      const uint32_t p = base + rng_.Below(m_.projects_per_cloud);
      if (m_.project_public[p]) return p;
    }
    return base;  // the default project is always public
  }

  void Fill(const Resource& res, uint32_t k, Query* q) {
    q->permission = m_.perm_names[k];
    q->resource_id = ResourceId(res);
    q->resource_path = ResourcePath(m_, res);
  }

  const WorkloadModel& m_;
  ModelChecker checker_;
  Rng rng_;
  std::vector<uint32_t> project_perms_, cloud_perms_;
  std::vector<uint32_t> active_, with_direct_, groups_;
  std::vector<uint32_t> public_, private_;
};

}  // namespace

std::vector<Query> MakeQueries(const Workload& workload, QueryKind kind,
                               size_t count, uint64_t seed) {
  std::vector<Query> out;
  if (workload.model == nullptr) return out;
  QueryMaker maker(*workload.model,
                   Mix(seed, 100 + static_cast<uint64_t>(kind)));
  out.reserve(count);
  const size_t max_attempts = count * 200 + 10000;
  Query q;
  for (size_t attempt = 0; attempt < max_attempts && out.size() < count;
       ++attempt) {
    if (maker.Propose(kind, &q)) out.push_back(q);
  }
  return out;
}

std::vector<Query> MakeMixedQueries(const Workload& workload, size_t count,
                                    uint64_t seed) {
  std::vector<Query> out;
  const QueryKind kinds[] = {QueryKind::kDirect, QueryKind::kGroup,
                             QueryKind::kOrgOwner, QueryKind::kPublicProject,
                             QueryKind::kDenied};
  const size_t per_kind = (count + 4) / 5;
  for (QueryKind kind : kinds) {
    std::vector<Query> q = MakeQueries(workload, kind, per_kind, seed);
    out.insert(out.end(), q.begin(), q.end());
  }
  Rng rng(Mix(seed, 99));
  for (size_t i = out.size(); i > 1; --i) {
    std::swap(out[i - 1], out[rng.Below(static_cast<uint32_t>(i))]);
  }
  if (out.size() > count) out.resize(count);
  return out;
}

}  // namespace testing
}  // namespace arbiter
