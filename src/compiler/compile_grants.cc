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
#include "src/internal/names.h"
#include "src/internal/time_util.h"

namespace arbiter {
namespace internal {
namespace {

// google.protobuf.Timestamp's valid range: 0001-01-01 to 9999-12-31.
constexpr int64_t kMinTimestampSeconds = -62135596800;
constexpr int64_t kMaxTimestampSeconds = 253402300799;

const char* ScopeName(uint8_t level) {
  return level == kOrgLevel     ? "org"
         : level == kCloudLevel ? "cloud"
                                : "project";
}

}  // namespace

void Compiler::BuildGrants() {
  const Snapshot& s = *out_;
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
    const v1::ScopeType scope_type =
        static_cast<v1::ScopeType>(t.level + v1::SCOPE_TYPE_ORG);
    if (std::find(role.grantable_at().begin(), role.grantable_at().end(),
                  scope_type) == role.grantable_at().end()) {
      std::vector<std::string> where;
      for (int st : role.grantable_at()) {
        where.push_back(
            ScopeName(static_cast<uint8_t>(st - v1::SCOPE_TYPE_ORG)));
      }
      diag_.Add(Field(Kind::kGrant, i, "role"),
                where.empty()
                    ? absl::StrCat("role ", Quote(g.role()),
                                   " is implied only and cannot be granted")
                    : absl::StrCat("role ", Quote(g.role()),
                                   " cannot be granted at the ",
                                   ScopeName(t.level), " scope (grantable at: ",
                                   absl::StrJoin(where, ", "), ")"));
      continue;
    }
    if (role.subject_kinds_size() > 0 &&
        std::find(role.subject_kinds().begin(), role.subject_kinds().end(),
                  subject_kind) == role.subject_kinds().end()) {
      diag_.Add(subject_path.str(),
                absl::StrCat("role ", Quote(g.role()), " cannot be granted to ",
                             DescribeSubject(t.subject)));
      continue;
    }
    if (SubjectOrg(t.subject) != s.nodes[t.scope].path[kOrgLevel]) {
      diag_.Add(scope_path.str(),
                absl::StrCat(DescribeNode(t.scope), " and ",
                             DescribeSubject(t.subject),
                             " belong to different organizations"));
      continue;
    }

    // Source.
    const bool group_subject = subject_kind == v1::SUBJECT_KIND_GROUP;
    switch (g.source()) {
      case v1::GRANT_SOURCE_UNSPECIFIED:
        t.source = static_cast<uint8_t>(group_subject ? GrantSource::kGroup
                                                      : GrantSource::kDirect);
        break;
      case v1::GRANT_SOURCE_DIRECT:
      case v1::GRANT_SOURCE_GROUP:
        if ((g.source() == v1::GRANT_SOURCE_GROUP) != group_subject) {
          diag_.Add(Field(Kind::kGrant, i, "source"),
                    group_subject
                        ? "a group grant has source GRANT_SOURCE_GROUP"
                        : "GRANT_SOURCE_GROUP needs a group subject");
          continue;
        }
        t.source = static_cast<uint8_t>(group_subject ? GrantSource::kGroup
                                                      : GrantSource::kDirect);
        break;
      case v1::GRANT_SOURCE_AUTO_ADD:
        if (group_subject || t.level != kCloudLevel ||
            t.role != auto_add_role) {
          diag_.Add(
              Field(Kind::kGrant, i, "source"),
              absl::StrCat("an auto-add grant gives a principal ",
                           Quote(profile.auto_add_role()), " on a cloud"));
          continue;
        }
        t.source = static_cast<uint8_t>(GrantSource::kAutoAdd);
        break;
      default:
        diag_.Add(Field(Kind::kGrant, i, "source"), "unknown grant source");
        continue;
    }

    // Expiry in nanoseconds; out-of-range timestamps are rejected first.
    if (g.has_expires_at()) {
      const int64_t sec = g.expires_at().seconds();
      const int32_t nanos = g.expires_at().nanos();
      if (sec < kMinTimestampSeconds || sec > kMaxTimestampSeconds ||
          nanos < 0 || nanos > 999999999) {
        diag_.Add(Field(Kind::kGrant, i, "expires_at"),
                  absl::StrCat("timestamp out of range (seconds ", sec,
                               ", nanos ", nanos, ")"));
        continue;
      }
      t.expires = ExpiryNanos(sec, nanos);
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
  const Snapshot& s = *out_;
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
        diag_.AddGrantRule(Field(Kind::kGrant, t.input, "scope"),
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
              diag_.AddGrantRule(Field(Kind::kGrant, t.input, "role"),
                        absl::StrCat(Quote(def.name()), " exceeds ",
                                     Quote(limit_name), ", the most ",
                                     DescribeSubject(t.subject),
                                     " may hold on projects of ",
                                     DescribeNode(at), " while holding ",
                                     Quote(profile.roles(d->role).name()), " (",
                                     Path(Kind::kGrant, d->input), ")"));
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
  Snapshot& s = *out_;
  const uint32_t num_subjects = closure_begin_.size() - 1;
  size_t id_bytes = 0;
  for (const GrantTmp& t : grants_) id_bytes += st_.grants(t.input).id().size();
  s.grant_ids.Reserve(grants_.size(), id_bytes);
  s.grants.resize(grants_.size());
  s.grant_scopes.assign(grants_.size() + kScopePadding, kNone);
  bool any_expiring = false;
  for (const GrantTmp& t : grants_) any_expiring |= t.expires != kNever;
  if (any_expiring) s.grant_expires.assign(grants_.size(), kNever);
  s.subject_grants_begin.assign(num_subjects + 1, 0);
  subject_has_grants_.assign(num_subjects, false);
  for (size_t i = 0; i < grants_.size(); ++i) {
    const GrantTmp& t = grants_[i];
    GrantRec& r = s.grants[i];
    r.scope = t.scope;
    s.grant_scopes[i] = t.scope;
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
    ++s.subject_grants_begin[t.subject + 1];
    subject_has_grants_[t.subject] = true;
  }
  for (uint32_t i = 0; i < num_subjects; ++i) {
    s.subject_grants_begin[i + 1] += s.subject_grants_begin[i];
  }
  std::vector<GrantTmp>().swap(grants_);

  // Each principal's groups, keeping only groups that hold grants: Check
  // never needs the others.
  const uint32_t num_principals = s.principals.size();
  auto span = [&](uint32_t subject) {
    return GrantSpan{s.subject_grants_begin[subject],
                     s.subject_grants_begin[subject + 1]};
  };
  s.principal_groups.clear();
  for (uint32_t p = 0; p < num_principals; ++p) {
    PrincipalRec& rec = s.principals[p];
    rec.grants = span(p);
    rec.groups_begin = s.principal_groups.size();
    for (const uint32_t* g = ClosureBegin(p); g != ClosureEnd(p); ++g) {
      if (subject_has_grants_[num_principals + *g]) {
        s.principal_groups.push_back(span(num_principals + *g));
      }
    }
    rec.groups_end = s.principal_groups.size();
    rec.flags = 0;
    auto expiring = [&](GrantSpan g) {
      for (uint32_t i = g.begin; i < g.end; ++i) {
        if (s.grants[i].flags & kExpiring) return true;
      }
      return false;
    };
    bool has_expiring = expiring(rec.grants);
    for (uint32_t i = rec.groups_begin; i < rec.groups_end && !has_expiring;
         ++i) {
      has_expiring = expiring(s.principal_groups[i]);
    }
    if (has_expiring) rec.flags |= kPrincipalHasExpiring;
  }
  s.principal_groups.shrink_to_fit();
  BuildExpiringIndex();
  SummarizeScopes();
}

void Compiler::BuildExpiringIndex() {
  Snapshot& s = *out_;
  s.principal_expiring_begin.clear();
  s.principal_expiring.clear();
  if (s.grant_expires.empty()) return;
  // Bounded by the grants themselves: beyond that, Check searches spans.
  const size_t budget = 2 * s.grants.size() + 1024;
  std::vector<uint32_t> begin(s.principals.size() + 1, 0);
  std::vector<std::pair<uint32_t, int64_t>> pairs;
  auto add = [&](GrantSpan g) {
    for (uint32_t i = g.begin; i < g.end; ++i) {
      if (s.grants[i].flags & kExpiring) {
        pairs.emplace_back(s.grants[i].scope, s.grant_expires[i]);
      }
    }
  };
  for (uint32_t p = 0; p < s.principals.size(); ++p) {
    const PrincipalRec& rec = s.principals[p];
    const size_t first = pairs.size();
    if (rec.flags & kPrincipalHasExpiring) {
      add(rec.grants);
      for (uint32_t i = rec.groups_begin; i < rec.groups_end; ++i) {
        add(s.principal_groups[i]);
      }
      if (pairs.size() > budget) return;  // leave the index empty
      std::sort(pairs.begin() + first, pairs.end());
    }
    begin[p + 1] = static_cast<uint32_t>(pairs.size());
  }
  s.principal_expiring_begin = std::move(begin);
  s.principal_expiring = std::move(pairs);
}

void Compiler::SummarizeScopes() {
  Snapshot& s = *out_;
  s.summary_entries.clear();
  s.summary_expires.clear();
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
  // (scope, grant) of one principal's grants and its groups'.
  std::vector<std::pair<uint32_t, uint32_t>> held;
  std::vector<uint16_t> tags;
  for (size_t p = 0; p < s.principals.size(); ++p) {
    PrincipalRec& rec = s.principals[p];
    rec.summary_begin = s.summary_entries.size();
    rec.summary_size = kNoSummary;
    std::fill(std::begin(rec.tags), std::end(rec.tags), kNoTag);
    if (!summarize) continue;
    size_t total = rec.grants.end - rec.grants.begin;
    for (uint32_t g = rec.groups_begin; g < rec.groups_end; ++g) {
      total += s.principal_groups[g].end - s.principal_groups[g].begin;
    }
    if (total > kMaxSummaryGrants) continue;
    held.clear();
    auto add = [&](GrantSpan span) {
      for (uint32_t i = span.begin; i < span.end; ++i) {
        held.emplace_back(s.grants[i].scope, i);
      }
    };
    add(rec.grants);
    for (uint32_t g = rec.groups_begin; g < rec.groups_end; ++g) {
      add(s.principal_groups[g]);
    }
    std::sort(held.begin(), held.end());
    // The scopes' tags must be distinct, and no scope's high half may be
    // kNone's (Check's key above a permission's level).
    tags.clear();
    bool taggable = true;
    for (size_t j = 0; j < held.size(); ++j) {
      if (j > 0 && held[j].first == held[j - 1].first) continue;
      tags.push_back(ScopeTag(held[j].first));
      taggable &= ScopeHigh(held[j].first) != ScopeHigh(kNone);
    }
    if (tags.size() > kMaxSummaryScopes || !taggable) continue;
    std::sort(tags.begin(), tags.end());
    if (std::adjacent_find(tags.begin(), tags.end()) != tags.end()) continue;
    for (size_t j = 0; j < held.size(); ++j) {
      const uint32_t i = held[j].second;
      const GrantRec& g = s.grants[i];
      if (j == 0 || held[j].first != held[j - 1].first) {
        // The first of a scope's run has the least index.
        rec.tags[s.summary_entries.size() - rec.summary_begin] =
            ScopeTag(g.scope);
        ScopeEntry e{};
        e.least = i;
        e.id_offset = g.id_offset;
        e.scope_high = ScopeHigh(g.scope);
        e.id_length = g.id_length < kLongEntryId
                          ? static_cast<uint8_t>(g.id_length)
                          : kLongEntryId;
        e.source = g.source;
        s.summary_entries.push_back(e);
      }
      ScopeEntry& e = s.summary_entries.back();
      e.roles |= uint32_t{1} << g.role;
      if (g.flags & kExpiring) {
        if ((e.flags & kEntryExpiring) == 0) {
          e.flags |= kEntryExpiring;
          s.summary_expires.emplace_back(s.summary_entries.size() - 1, kNever);
        }
        int64_t& first = s.summary_expires.back().second;
        first = std::min(first, s.grant_expires[i]);
      }
    }
    rec.summary_size = static_cast<uint8_t>(tags.size());
  }
  s.summary_entries.shrink_to_fit();
  s.summary_expires.shrink_to_fit();
}

}  // namespace internal
}  // namespace arbiter
