// Grants: per-grant validation, the cross-grant rules of the Anyscale model
// (project grants need a cloud grant, deny-role incompatibilities, service
// accounts as org owners), and the final sorted layout Check reads.

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "src/compiler/compiler_impl.h"
#include "src/compiler/grant_rules.h"
#include "src/compiler/principal_layout.h"
#include "src/internal/names.h"
#include "src/internal/time_util.h"

namespace arbiter {
namespace internal {
void Compiler::BuildGrants() {
  const SnapshotTables& s = *out_;
  const v1::Profile& profile = s.profile;
  absl::flat_hash_map<absl::string_view, uint16_t> role_index;
  for (uint16_t r = 0; r < s.roles.size(); ++r) {
    role_index.emplace(s.role_names.Get(r), r);
  }
  const uint16_t auto_add_role = role_index.contains(profile.auto_add_role())
                                     ? role_index[profile.auto_add_role()]
                                     : kNoRole;
  const uint32_t num_principals = s.principals.size();
  grants_.reserve(st_.grants_size());

  // The subject and scope ids of grant i + kLookAhead are hashed and their
  // slots prefetched while grant i resolves: at a million principals the id
  // table is far larger than the cache, and each lookup otherwise waits for
  // its misses in turn.
  constexpr int kLookAhead = 8;
  auto prefetch_ids = [&](const v1::Grant& g) {
    ids_.prefetch(g.subject_case() == v1::Grant::kGroupId
                      ? absl::string_view(g.group_id())
                      : absl::string_view(g.principal_id()));
    switch (g.scope_case()) {
      case v1::Grant::kOrgId:
        ids_.prefetch(absl::string_view(g.org_id()));
        break;
      case v1::Grant::kCloudId:
        ids_.prefetch(absl::string_view(g.cloud_id()));
        break;
      default:
        ids_.prefetch(absl::string_view(g.project_id()));
        break;
    }
  };
  for (int i = 0; i < st_.grants_size() && i < kLookAhead; ++i) {
    prefetch_ids(st_.grants(i));
  }
  for (int i = 0; i < st_.grants_size(); ++i) {
    if (i + kLookAhead < st_.grants_size()) {
      prefetch_ids(st_.grants(i + kLookAhead));
    }
    const v1::Grant& g = st_.grants(i);
    if (!grant_id_ok_[i]) continue;  // reported by CollectIds
    const FieldPath subject_path{Kind::kGrant, i, "subject"};
    const FieldPath scope_path{Kind::kGrant, i, "scope"};
    GrantTmp t{};
    t.input = i;
    t.expires = kNever;
    // Subject, scope and role are resolved independently so that one grant
    // reports all three problems; the checks that combine them need all.
    bool resolved = true;

    // Subject.
    v1::SubjectKind subject_kind = v1::SUBJECT_KIND_UNSPECIFIED;
    switch (g.subject_case()) {
      case v1::Grant::kPrincipalId: {
        int p = Resolve(subject_path, g.principal_id(), Kind::kPrincipal);
        if (p < 0 || principal_of_[p] == kNone) {
          resolved = false;
          break;
        }
        t.subject = principal_of_[p];
        subject_kind =
            s.principals[t.subject].kind == v1::PRINCIPAL_KIND_SERVICE_ACCOUNT
                ? v1::SUBJECT_KIND_SERVICE_ACCOUNT
                : v1::SUBJECT_KIND_USER;
        break;
      }
      case v1::Grant::kGroupId: {
        int gi = Resolve(subject_path, g.group_id(), Kind::kGroup);
        if (gi < 0 || group_of_[gi] == kNone) {
          resolved = false;
          break;
        }
        t.subject = num_principals + group_of_[gi];
        subject_kind = v1::SUBJECT_KIND_GROUP;
        break;
      }
      case v1::Grant::SUBJECT_NOT_SET:
        diag_.Add(subject_path.str(),
                  "missing subject (set principal_id or group_id)");
        resolved = false;
        break;
    }

    // Scope.
    Kind scope_kind = Kind::kOrg;
    const std::string* scope_id = nullptr;
    switch (g.scope_case()) {
      case v1::Grant::kOrgId:
        scope_kind = Kind::kOrg, scope_id = &g.org_id(), t.level = kOrgLevel;
        break;
      case v1::Grant::kCloudId:
        scope_kind = Kind::kCloud, scope_id = &g.cloud_id(),
        t.level = kCloudLevel;
        break;
      case v1::Grant::kProjectId:
        scope_kind = Kind::kProject, scope_id = &g.project_id(),
        t.level = kProjectLevel;
        break;
      case v1::Grant::SCOPE_NOT_SET:
      default:
        diag_.Add(scope_path.str(),
                  "missing scope (set org_id, cloud_id or project_id)");
        resolved = false;
        break;
    }
    if (scope_id != nullptr) {
      const int scope = Resolve(scope_path, *scope_id, scope_kind);
      t.scope =
          scope < 0 ? kNone : node_of_[static_cast<int>(scope_kind)][scope];
      if (t.scope == kNone) resolved = false;
    }

    // Role, and where and to whom it may be granted.
    auto rit = role_index.find(g.role());
    if (rit == role_index.end()) {
      diag_.Add(Field(Kind::kGrant, i, "role"),
                g.role().empty()
                    ? std::string("missing role")
                    : absl::StrCat("unknown role ", Quote(g.role())));
      resolved = false;
    }
    if (!resolved) continue;
    t.role = rit->second;
    const v1::Role& role = profile.roles(t.role);
    auto report = [&](const GrantProblem& problem) {
      diag_.Add(std::string(problem.field) == "subject"
                    ? subject_path.str()
                    : Field(Kind::kGrant, i, problem.field),
                problem.message);
    };
    if (auto problem = CheckRolePlacement(role, t.level, subject_kind,
                                          DescribeSubject(t.subject))) {
      report(*problem);
      continue;
    }
    if (SubjectOrg(t.subject) != s.nodes[t.scope].path[kOrgLevel]) {
      diag_.Add(scope_path.str(),
                absl::StrCat(DescribeNode(t.scope), " and ",
                             DescribeSubject(t.subject),
                             " belong to different organizations"));
      continue;
    }
    if (auto problem = CheckSource(
            g.source(), subject_kind == v1::SUBJECT_KIND_GROUP, t.level,
            t.role == auto_add_role, profile.auto_add_role(), &t.source)) {
      report(*problem);
      continue;
    }
    if (auto problem = CheckExpiry(g, &t.expires)) {
      report(*problem);
      continue;
    }
    grants_.push_back(t);
  }
}

void Compiler::SortGrants() {
  // Canonical order: (subject, scope, grant id). Check relies on it to find
  // a subject's grants at one scope contiguously and in id order, and the
  // invariants below search a subject's grants the same way. A counting sort
  // by subject, then a short sort within each subject.
  const uint32_t subjects = closure_begin_.size() - 1;
  subject_pos_.assign(subjects + 1, 0);
  for (const GrantTmp& t : grants_) ++subject_pos_[t.subject + 1];
  for (uint32_t i = 0; i < subjects; ++i) {
    subject_pos_[i + 1] += subject_pos_[i];
  }
  std::vector<GrantTmp> sorted(grants_.size());
  std::vector<uint32_t> next(subject_pos_.begin(), subject_pos_.end() - 1);
  for (const GrantTmp& t : grants_) sorted[next[t.subject]++] = t;
  auto by_scope_then_id = [&](const GrantTmp& a, const GrantTmp& b) {
    if (a.scope != b.scope) return a.scope < b.scope;
    return st_.grants(a.input).id() < st_.grants(b.input).id();
  };
  for (uint32_t i = 0; i < subjects; ++i) {
    if (subject_pos_[i + 1] - subject_pos_[i] > 1) {
      std::sort(sorted.begin() + subject_pos_[i],
                sorted.begin() + subject_pos_[i + 1], by_scope_then_id);
    }
  }
  grants_.swap(sorted);
}

std::pair<const Compiler::GrantTmp*, const Compiler::GrantTmp*>
Compiler::GrantsAt(uint32_t subject, uint32_t scope) const {
  const GrantTmp* first = grants_.data() + subject_pos_[subject];
  const GrantTmp* last = grants_.data() + subject_pos_[subject + 1];
  const GrantTmp* lo = std::lower_bound(
      first, last, scope,
      [](const GrantTmp& g, uint32_t value) { return g.scope < value; });
  const GrantTmp* hi = lo;
  while (hi != last && hi->scope == scope) ++hi;
  return {lo, hi};
}

void Compiler::CheckGrantInvariants() {
  const SnapshotTables& s = *out_;
  const v1::Profile& profile = s.profile;
  const uint32_t num_principals = s.principals.size();
  const uint32_t subjects = subject_pos_.size() - 1;

  // Subjects holding an all_permissions (org owner) role.
  std::vector<bool> owner(subjects, false);
  for (const GrantTmp& t : grants_) {
    if (s.roles[t.role].all_permissions) owner[t.subject] = true;
  }
  auto role_id = [&](absl::string_view name) -> uint16_t {
    for (uint16_t r = 0; r < s.roles.size(); ++r) {
      if (s.role_names.Get(r) == name) return r;
    }
    return kNoRole;
  };
  auto has_allow_at = [&](uint32_t subject, uint32_t scope) {
    auto [lo, hi] = GrantsAt(subject, scope);
    for (const GrantTmp* g = lo; g != hi; ++g) {
      if (!s.roles[g->role].deny) return true;
    }
    return false;
  };
  // A subject reaches a cloud through itself or a containing group.
  auto passes_cloud = [&](uint32_t subject, uint32_t cloud) {
    if (owner[subject] || has_allow_at(subject, cloud)) return true;
    for (const uint32_t* g = ClosureBegin(subject); g != ClosureEnd(subject);
         ++g) {
      const uint32_t gs = num_principals + *g;
      if (owner[gs] || has_allow_at(gs, cloud)) return true;
    }
    return false;
  };

  for (const GrantTmp& t : grants_) {
    const RoleRec& role = s.roles[t.role];
    const v1::Role& def = profile.roles(t.role);
    if (role.deny) {
      for (const std::string& other : def.incompatible_roles()) {
        const uint16_t other_role = role_id(other);
        auto [lo, hi] = GrantsAt(t.subject, t.scope);
        for (const GrantTmp* g = lo; g != hi; ++g) {
          if (g->role != other_role) continue;
          diag_.AddGrantRule(
              Field(Kind::kGrant, t.input, "role"),
              absl::StrCat(Quote(def.name()), " cannot be held together with ",
                           Quote(other), " by ", DescribeSubject(t.subject),
                           " on ", DescribeNode(t.scope), " (",
                           Path(Kind::kGrant, g->input), ")"));
          break;
        }
      }
    }

    if (t.level == kProjectLevel) {
      // The backend refuses a project grant unless the grantee can already
      // read the project's cloud.
      const uint32_t cloud = s.nodes[t.scope].path[kCloudLevel];
      if ((!s.profile.has_project_grant_requires_cloud_grant() ||
           s.profile.project_grant_requires_cloud_grant()) &&
          !passes_cloud(t.subject, cloud)) {
        diag_.AddGrantRule(
            Field(Kind::kGrant, t.input, "scope"),
            absl::StrCat(DescribeSubject(t.subject), " has no grant on ",
                         DescribeNode(cloud), ", which a grant on ",
                         DescribeNode(t.scope), " requires"));
      }
      // Deny roles with a project_role_limit on the cloud or org.
      if (!role.deny) {
        for (uint32_t at : {cloud, s.nodes[t.scope].path[kOrgLevel]}) {
          auto [lo, hi] = GrantsAt(t.subject, at);
          for (const GrantTmp* d = lo; d != hi; ++d) {
            const std::string& limit_name =
                profile.roles(d->role).project_role_limit();
            if (!s.roles[d->role].deny || limit_name.empty()) continue;
            const uint16_t limit = role_id(limit_name);
            bool within = true;
            for (size_t w = 0; w < s.perm_words; ++w) {
              uint64_t mine = s.role_perms[t.role * s.perm_words + w] |
                              s.role_own[t.role * s.perm_words + w];
              within &= (mine & ~s.role_perms[limit * s.perm_words + w]) == 0;
            }
            if (!within) {
              diag_.AddGrantRule(
                  Field(Kind::kGrant, t.input, "role"),
                  absl::StrCat(
                      Quote(def.name()), " exceeds ", Quote(limit_name),
                      ", the most ", DescribeSubject(t.subject),
                      " may hold on projects of ", DescribeNode(at),
                      " while holding ", Quote(profile.roles(d->role).name()),
                      " (", Path(Kind::kGrant, d->input), ")"));
            }
          }
        }
      }
    }

    if (role.all_permissions && !opt_.allow_service_account_org_owner &&
        t.subject < num_principals &&
        s.principals[t.subject].kind == v1::PRINCIPAL_KIND_SERVICE_ACCOUNT) {
      diag_.Add(
          Field(Kind::kGrant, t.input, "subject"),
          absl::StrCat(DescribeSubject(t.subject), " cannot hold ",
                       Quote(def.name()),
                       " (EngineOptions::allow_service_account_org_owner)"));
    }
    if (diag_.full()) return;
  }

  // Service accounts reaching an all_permissions role through a group: name
  // each such group grant once.
  if (!opt_.allow_service_account_org_owner) {
    std::vector<bool> reported(grants_.size(), false);
    for (uint32_t p = 0; p < num_principals; ++p) {
      if (s.principals[p].kind != v1::PRINCIPAL_KIND_SERVICE_ACCOUNT) continue;
      for (const uint32_t* g = ClosureBegin(p); g != ClosureEnd(p); ++g) {
        const uint32_t gs = num_principals + *g;
        if (!owner[gs]) continue;
        for (uint32_t i = subject_pos_[gs]; i < subject_pos_[gs + 1]; ++i) {
          const GrantTmp& t = grants_[i];
          if (!s.roles[t.role].all_permissions || reported[i]) continue;
          reported[i] = true;
          diag_.Add(Field(Kind::kGrant, t.input, "subject"),
                    absl::StrCat(
                        DescribeSubject(gs), " holds ",
                        Quote(st_.grants(t.input).role()), " and contains ",
                        DescribeSubject(p),
                        " (EngineOptions::allow_service_account_org_owner)"));
        }
      }
    }
  }
}

void Compiler::LayOutGrants() {
  SnapshotTables& s = *out_;
  const uint32_t num_subjects = closure_begin_.size() - 1;
  const uint32_t num_principals = s.principals.size();
  // Slots: the grants in (subject, scope, id) order, then kScopePadding
  // padding slots (scope kNone, no subject), so that a four-wide read of
  // any span's scopes stays inside the table.
  const size_t slots = grants_.size() + kScopePadding;
  size_t id_bytes = 0;
  for (const GrantTmp& t : grants_) id_bytes += st_.grants(t.input).id().size();
  s.grant_ids.Reserve(slots, id_bytes);
  s.grants.assign(slots, GrantRec{kNone, 0, kNoRole, 0, 0, 0, 0, 0});
  s.grant_scopes.assign(slots, kNone);
  s.grant_subjects.assign(slots, kNone);
  bool any_expiring = false;
  for (const GrantTmp& t : grants_) any_expiring |= t.expires != kNever;
  if (any_expiring) s.grant_expires.assign(slots, kNever);
  std::vector<uint32_t> begin(num_subjects + 1, 0);
  subject_has_grants_.assign(num_subjects, false);
  for (size_t i = 0; i < grants_.size(); ++i) {
    const GrantTmp& t = grants_[i];
    GrantRec& r = s.grants[i];
    r.scope = t.scope;
    s.grant_scopes[i] = t.scope;
    s.grant_subjects[i] = t.subject;
    const absl::string_view id = st_.grants(t.input).id();
    const uint32_t handle = s.grant_ids.Add(id);  // == i
    r.id_offset = s.grant_ids.Offset(handle);
    r.id_length = id.size() < kLongGrantId ? static_cast<uint16_t>(id.size())
                                           : kLongGrantId;
    r.role = t.role;
    r.level = t.level;
    r.source = t.source;
    r.flags = 0;
    if (t.expires != kNever) {
      r.flags |= kExpiring;
      s.grant_expires[i] = t.expires;
    }
    ++begin[t.subject + 1];
    subject_has_grants_[t.subject] = true;
  }
  for (size_t i = grants_.size(); i < slots; ++i) s.grant_ids.Add("");
  for (uint32_t i = 0; i < num_subjects; ++i) begin[i + 1] += begin[i];
  s.num_grants = grants_.size();
  std::vector<GrantTmp>().swap(grants_);
  auto span = [&](uint32_t subject) {
    return GrantSpan{begin[subject], begin[subject + 1]};
  };
  s.group_spans.resize(num_subjects - num_principals);
  for (uint32_t g = 0; g < s.group_spans.size(); ++g) {
    s.group_spans[g] = span(num_principals + g);
  }

  // Each principal: its groups that hold grants (Check never needs the
  // others), its summary, its expiring pairs.
  const bool summarize = s.mask_path && s.roles.size() <= kMaxSummaryRoles;
  s.exact_tags = true;
  for (size_t r = kNoTag; r < s.nodes.size(); ++r) {
    const NodeKind kind = s.nodes[r].kind;
    if (kind == NodeKind::kOrg || kind == NodeKind::kCloud ||
        kind == NodeKind::kProject) {
      s.exact_tags = false;
      break;
    }
  }
  const GrantSlots grant_slots{s.grants.data(), s.grant_expires.data()};
  s.principal_groups.clear();
  s.summary_entries.clear();
  s.summary_expires.clear();
  s.principal_expiring.clear();
  PrincipalLayoutOut out;
  out.groups = &s.principal_groups;
  out.entries = &s.summary_entries;
  out.entry_expiries = &s.summary_expires;
  out.expiring = any_expiring ? &s.principal_expiring : nullptr;
  std::vector<GrantSpan> expiring_spans;
  if (any_expiring) expiring_spans.resize(num_principals);
  std::vector<GrantSpan> groups;
  for (uint32_t p = 0; p < num_principals; ++p) {
    groups.clear();
    for (const uint32_t* g = ClosureBegin(p); g != ClosureEnd(p); ++g) {
      if (subject_has_grants_[num_principals + *g]) {
        groups.push_back(span(num_principals + *g));
      }
    }
    const GrantSpan pairs = LayOutPrincipal(grant_slots, span(p), groups,
                                            summarize, &s.principals[p], out);
    if (any_expiring) expiring_spans[p] = pairs;
  }
  // The expiring pairs are bounded by the grants themselves: beyond that,
  // Check searches the spans (ValidUntil in src/eval/evaluator.cc).
  if (s.principal_expiring.size() > 2 * slots + 1024) {
    std::vector<ScopeExpiry>().swap(s.principal_expiring);
    expiring_spans.clear();
  }
  s.principal_expiring_spans = std::move(expiring_spans);
  s.principal_groups.shrink_to_fit();
  s.summary_entries.shrink_to_fit();
  s.summary_expires.shrink_to_fit();
}

}  // namespace internal
}  // namespace arbiter
