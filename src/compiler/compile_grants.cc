// Grants: per-grant validation, the cross-grant rules of the Anyscale model
// (project grants need a cloud grant, deny-role incompatibilities, service
// accounts as org owners), and the final sorted layout Check reads.

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/attributes.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "src/compiler/compiler_impl.h"
#include "src/compiler/grant_rules.h"
#include "src/compiler/principal_layout.h"
#include "src/compiler/profile_compiler.h"
#include "src/internal/names.h"
#include "src/internal/time_util.h"

namespace arbiter {
namespace internal {

// The passes called once per grant are forced inline (and so defined only
// here): split out of BuildGrants and CheckGrantInvariants for reading, they
// compile to the single loops those were, with no call per grant.

ABSL_ATTRIBUTE_ALWAYS_INLINE inline void Compiler::PrefetchGrantIds(
    const v1::Grant& g) const {
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
}

ABSL_ATTRIBUTE_ALWAYS_INLINE inline bool Compiler::ResolveGrantSubject(
    int i, const v1::Grant& g, GrantTmp* t, v1::SubjectKind* kind) {
  const SnapshotTables& s = *out_;
  const FieldPath subject_path{Kind::kGrant, i, "subject"};
  switch (g.subject_case()) {
    case v1::Grant::kPrincipalId: {
      int p = Resolve(subject_path, g.principal_id(), Kind::kPrincipal);
      if (p < 0 || principal_of_[p] == kNone) return false;
      t->subject = principal_of_[p];
      *kind =
          s.principals[t->subject].kind == v1::PRINCIPAL_KIND_SERVICE_ACCOUNT
              ? v1::SUBJECT_KIND_SERVICE_ACCOUNT
              : v1::SUBJECT_KIND_USER;
      return true;
    }
    case v1::Grant::kGroupId: {
      int gi = Resolve(subject_path, g.group_id(), Kind::kGroup);
      if (gi < 0 || group_of_[gi] == kNone) return false;
      t->subject = s.principals.size() + group_of_[gi];
      *kind = v1::SUBJECT_KIND_GROUP;
      return true;
    }
    case v1::Grant::SUBJECT_NOT_SET:
      diag_.Add(subject_path.str(),
                "missing subject (set principal_id or group_id)");
      return false;
  }
  return true;
}

ABSL_ATTRIBUTE_ALWAYS_INLINE inline bool Compiler::ResolveGrantScope(
    int i, const v1::Grant& g, GrantTmp* t) {
  const FieldPath scope_path{Kind::kGrant, i, "scope"};
  Kind scope_kind = Kind::kOrg;
  const std::string* scope_id = nullptr;
  switch (g.scope_case()) {
    case v1::Grant::kOrgId:
      scope_kind = Kind::kOrg, scope_id = &g.org_id(), t->level = kOrgLevel;
      break;
    case v1::Grant::kCloudId:
      scope_kind = Kind::kCloud, scope_id = &g.cloud_id(),
      t->level = kCloudLevel;
      break;
    case v1::Grant::kProjectId:
      scope_kind = Kind::kProject, scope_id = &g.project_id(),
      t->level = kProjectLevel;
      break;
    case v1::Grant::SCOPE_NOT_SET:
    default:
      diag_.Add(scope_path.str(),
                "missing scope (set org_id, cloud_id or project_id)");
      return false;
  }
  const int scope = Resolve(scope_path, *scope_id, scope_kind);
  t->scope = scope < 0 ? kNone : node_of_[static_cast<int>(scope_kind)][scope];
  return t->scope != kNone;
}

ABSL_ATTRIBUTE_ALWAYS_INLINE inline bool Compiler::ResolveGrantRole(
    int i, const v1::Grant& g, const RoleIndex& role_index, GrantTmp* t) {
  auto rit = role_index.find(g.role());
  if (rit == role_index.end()) {
    diag_.Add(Field(Kind::kGrant, i, "role"),
              g.role().empty()
                  ? std::string("missing role")
                  : absl::StrCat("unknown role ", Quote(g.role())));
    return false;
  }
  t->role = rit->second;
  return true;
}

ABSL_ATTRIBUTE_ALWAYS_INLINE inline bool Compiler::CheckGrantPlacement(
    int i, const v1::Grant& g, v1::SubjectKind subject_kind,
    uint16_t auto_add_role, GrantTmp* t) {
  const SnapshotTables& s = *out_;
  const v1::Profile& profile = s.profile;
  const FieldPath subject_path{Kind::kGrant, i, "subject"};
  const FieldPath scope_path{Kind::kGrant, i, "scope"};
  const v1::Role& role = profile.roles(t->role);
  auto report = [&](const GrantProblem& problem) {
    diag_.Add(std::string(problem.field) == "subject"
                  ? subject_path.str()
                  : Field(Kind::kGrant, i, problem.field),
              problem.message);
    return false;
  };
  if (auto problem = CheckRolePlacement(role, t->level, subject_kind,
                                        DescribeSubject(t->subject))) {
    return report(*problem);
  }
  if (SubjectOrg(t->subject) != s.nodes[t->scope].path[kOrgLevel]) {
    diag_.Add(scope_path.str(),
              absl::StrCat(DescribeNode(t->scope), " and ",
                           DescribeSubject(t->subject),
                           " belong to different organizations"));
    return false;
  }
  if (auto problem = CheckSource(
          g.source(), subject_kind == v1::SUBJECT_KIND_GROUP, t->level,
          t->role == auto_add_role, profile.auto_add_role(), &t->source)) {
    return report(*problem);
  }
  if (auto problem = CheckExpiry(g, &t->expires)) return report(*problem);
  return true;
}

void Compiler::BuildGrants() {
  const SnapshotTables& s = *out_;
  const v1::Profile& profile = s.profile;
  RoleIndex role_index;
  for (uint16_t r = 0; r < s.roles.size(); ++r) {
    role_index.emplace(s.role_names.Get(r), r);
  }
  const uint16_t auto_add_role = role_index.contains(profile.auto_add_role())
                                     ? role_index[profile.auto_add_role()]
                                     : kNoRole;
  grants_.reserve(st_.grants_size());

  // The ids of grant i + kLookAhead are prefetched while grant i resolves.
  for (int i = 0; i < st_.grants_size() && i < kLookAhead; ++i) {
    PrefetchGrantIds(st_.grants(i));
  }
  for (int i = 0; i < st_.grants_size(); ++i) {
    if (i + kLookAhead < st_.grants_size()) {
      PrefetchGrantIds(st_.grants(i + kLookAhead));
    }
    const v1::Grant& g = st_.grants(i);
    if (!grant_id_ok_[i]) continue;  // reported by CollectIds
    GrantTmp t{};
    t.input = i;
    t.expires = kNever;
    // Subject, scope and role are resolved independently so that one grant
    // reports all three problems; the checks that combine them need all.
    v1::SubjectKind subject_kind = v1::SUBJECT_KIND_UNSPECIFIED;
    bool resolved = ResolveGrantSubject(i, g, &t, &subject_kind);
    resolved &= ResolveGrantScope(i, g, &t);
    resolved &= ResolveGrantRole(i, g, role_index, &t);
    if (!resolved) continue;
    if (!CheckGrantPlacement(i, g, subject_kind, auto_add_role, &t)) continue;
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

std::vector<bool> Compiler::OrgOwnerSubjects() const {
  const SnapshotTables& s = *out_;
  std::vector<bool> owner(subject_pos_.size() - 1, false);
  for (const GrantTmp& t : grants_) {
    if (s.roles[t.role].all_permissions) owner[t.subject] = true;
  }
  return owner;
}

ABSL_ATTRIBUTE_ALWAYS_INLINE inline bool Compiler::HasAllowAt(
    uint32_t subject, uint32_t scope) const {
  const SnapshotTables& s = *out_;
  auto [lo, hi] = GrantsAt(subject, scope);
  for (const GrantTmp* g = lo; g != hi; ++g) {
    if (!s.roles[g->role].deny) return true;
  }
  return false;
}

ABSL_ATTRIBUTE_ALWAYS_INLINE inline bool Compiler::PassesCloud(
    uint32_t subject, uint32_t cloud, const std::vector<bool>& owner) const {
  const uint32_t num_principals = out_->principals.size();
  if (owner[subject] || HasAllowAt(subject, cloud)) return true;
  for (const uint32_t* g = ClosureBegin(subject); g != ClosureEnd(subject);
       ++g) {
    const uint32_t gs = num_principals + *g;
    if (owner[gs] || HasAllowAt(gs, cloud)) return true;
  }
  return false;
}

ABSL_ATTRIBUTE_ALWAYS_INLINE inline void Compiler::CheckIncompatibleRoles(
    const GrantTmp& t) {
  const SnapshotTables& s = *out_;
  const v1::Role& def = s.profile.roles(t.role);
  for (const std::string& other : def.incompatible_roles()) {
    const uint16_t other_role = FindRole(s, other);
    auto [lo, hi] = GrantsAt(t.subject, t.scope);
    for (const GrantTmp* g = lo; g != hi; ++g) {
      if (g->role != other_role) continue;
      diag_.AddGrantRule(
          Field(Kind::kGrant, t.input, "role"),
          absl::StrCat(Quote(def.name()), " cannot be held together with ",
                       Quote(other), " by ", DescribeSubject(t.subject), " on ",
                       DescribeNode(t.scope), " (",
                       Path(Kind::kGrant, g->input), ")"));
      break;
    }
  }
}

ABSL_ATTRIBUTE_ALWAYS_INLINE inline void Compiler::CheckProjectGrant(
    const GrantTmp& t, const std::vector<bool>& owner) {
  const SnapshotTables& s = *out_;
  // The backend refuses a project grant unless the grantee can already
  // read the project's cloud.
  const uint32_t cloud = s.nodes[t.scope].path[kCloudLevel];
  if ((!s.profile.has_project_grant_requires_cloud_grant() ||
       s.profile.project_grant_requires_cloud_grant()) &&
      !PassesCloud(t.subject, cloud, owner)) {
    diag_.AddGrantRule(
        Field(Kind::kGrant, t.input, "scope"),
        absl::StrCat(DescribeSubject(t.subject), " has no grant on ",
                     DescribeNode(cloud), ", which a grant on ",
                     DescribeNode(t.scope), " requires"));
  }
  if (!s.roles[t.role].deny) CheckProjectRoleLimits(t, cloud);
}

ABSL_ATTRIBUTE_ALWAYS_INLINE inline void Compiler::CheckProjectRoleLimits(
    const GrantTmp& t, uint32_t cloud) {
  const SnapshotTables& s = *out_;
  const v1::Profile& profile = s.profile;
  for (uint32_t at : {cloud, s.nodes[t.scope].path[kOrgLevel]}) {
    auto [lo, hi] = GrantsAt(t.subject, at);
    for (const GrantTmp* d = lo; d != hi; ++d) {
      const std::string& limit_name =
          profile.roles(d->role).project_role_limit();
      if (!s.roles[d->role].deny || limit_name.empty()) continue;
      const uint16_t limit = FindRole(s, limit_name);
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
                Quote(profile.roles(t.role).name()), " exceeds ",
                Quote(limit_name), ", the most ", DescribeSubject(t.subject),
                " may hold on projects of ", DescribeNode(at),
                " while holding ", Quote(profile.roles(d->role).name()), " (",
                Path(Kind::kGrant, d->input), ")"));
      }
    }
  }
}

ABSL_ATTRIBUTE_ALWAYS_INLINE inline void Compiler::CheckServiceAccountOwner(
    const GrantTmp& t) {
  const SnapshotTables& s = *out_;
  if (s.roles[t.role].all_permissions &&
      !opt_.allow_service_account_org_owner &&
      t.subject < s.principals.size() &&
      s.principals[t.subject].kind == v1::PRINCIPAL_KIND_SERVICE_ACCOUNT) {
    diag_.Add(
        Field(Kind::kGrant, t.input, "subject"),
        absl::StrCat(DescribeSubject(t.subject), " cannot hold ",
                     Quote(s.profile.roles(t.role).name()),
                     " (EngineOptions::allow_service_account_org_owner)"));
  }
}

void Compiler::CheckServiceAccountOwnersViaGroups(
    const std::vector<bool>& owner) {
  const SnapshotTables& s = *out_;
  const uint32_t num_principals = s.principals.size();
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
        diag_.Add(
            Field(Kind::kGrant, t.input, "subject"),
            absl::StrCat(DescribeSubject(gs), " holds ",
                         Quote(st_.grants(t.input).role()), " and contains ",
                         DescribeSubject(p),
                         " (EngineOptions::allow_service_account_org_owner)"));
      }
    }
  }
}

void Compiler::CheckGrantInvariants() {
  const SnapshotTables& s = *out_;
  const std::vector<bool> owner = OrgOwnerSubjects();
  for (const GrantTmp& t : grants_) {
    if (s.roles[t.role].deny) CheckIncompatibleRoles(t);
    if (t.level == kProjectLevel) CheckProjectGrant(t, owner);
    CheckServiceAccountOwner(t);
    if (diag_.full()) return;
  }
  if (!opt_.allow_service_account_org_owner) {
    CheckServiceAccountOwnersViaGroups(owner);
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
  const bool summarize =
      opt_.scope_summaries && s.mask_path && s.roles.size() <= kMaxSummaryRoles;
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
