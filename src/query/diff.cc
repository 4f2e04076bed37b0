// DiffPolicies: the access two snapshots give, compared exactly, at a cost
// that grows with the principals and scopes the differences touch.
//
// What is compared. Principals are matched by id, resources by id and place
// (kind, organization, cloud and project ids); permissions by name. Check
// decides (principal, permission, resource) on the resource's ancestor of
// the permission's level (its anchor), except own-workload permissions on a
// workload the principal created. So the diff compares, per principal, the
// org-level permissions on its organization, the cloud-level ones on every
// cloud, the project-level ones on every project and on every workload the
// principal created in either state, and every (principal, permission,
// resource) triple then changes exactly as its anchor's entry says.
//
// Why it is fast, and still exact:
//  * A principal whose live grants (its own and its groups', by scope and
//    role), record (organization, kind, state) are the same in both states,
//    when the two vocabularies (permissions, roles, role masks) are the
//    same, decides alike on every resource that did not change: it is
//    compared only on the projects whose flags (public, default) changed,
//    where it holds a cloud grant or owns the organization, and on the
//    workloads whose creator changed or that it created in such a project.
//  * Any other principal is compared on its organization, on each cloud or
//    project it holds a grant at in either state, on each workload it
//    created in either state, and once per class of the rest: every cloud it
//    holds nothing at decides alike; every project it holds nothing at
//    decides as the others of its cloud (or of the clouds it holds nothing
//    at) with the same flags in both states. A class whose decision changed
//    is then listed resource by resource (that is the answer).
//  Each comparison is PermissionBits (the decision core, once per
//  permission) on both states.

#include <algorithm>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "arbiter/lookup.h"
#include "arbiter/v1/principal.pb.h"
#include "src/eval/evaluator.h"
#include "src/internal/time_util.h"
#include "src/query/decide_util.h"
#include "src/query/lookups.h"

namespace arbiter {
namespace internal {
namespace {

// Projects by (class before, class after): 4 x 4.
constexpr int kKeys = 16;

absl::string_view LevelName(int level) {
  return level == kOrgLevel     ? "org"
         : level == kCloudLevel ? "cloud"
                                : "project";
}

absl::string_view KindName(NodeKind kind) {
  return ResourceKindName(static_cast<ResourceKind>(kind));
}

uint32_t ObjectById(const Snapshot& s, absl::string_view id, ObjectKind kind) {
  auto it = s.id_index->find(id);
  if (it == s.id_index->end() || it->second.kind != kind) return kNone;
  return it->second.index;
}

bool SameMasks(const PermissionMasks& a, const PermissionMasks& b) {
  return a.allow == b.allow && a.own == b.own && a.implied[0] == b.implied[0] &&
         a.implied[1] == b.implied[1] && a.implied_own[0] == b.implied_own[0] &&
         a.implied_own[1] == b.implied_own[1] && a.deny == b.deny &&
         a.cap_blocks == b.cap_blocks && a.member_has == b.member_has;
}

template <typename C>
bool SameColumn(const C& a, const C& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

// Whether the two snapshots decide alike on alike grants: the same
// permissions, roles and role masks (the profile, custom vocabulary and
// the options that edit them). Only then may a principal be skipped for its
// grants being the same; otherwise every principal is compared.
bool SameVocabulary(const Snapshot& a, const Snapshot& b) {
  if (a.permissions.size() != b.permissions.size() ||
      a.roles.size() != b.roles.size() || a.perm_words != b.perm_words ||
      a.member_role != b.member_role ||
      a.has_all_permissions_role != b.has_all_permissions_role ||
      !a.mask_path || !b.mask_path) {
    return false;
  }
  for (uint32_t k = 0; k < a.permissions.size(); ++k) {
    if (a.permission_names.Get(k) != b.permission_names.Get(k) ||
        a.permissions[k].level != b.permissions[k].level ||
        a.permissions[k].forbidden_on_default_project !=
            b.permissions[k].forbidden_on_default_project ||
        !SameMasks(a.permission_masks[k], b.permission_masks[k])) {
      return false;
    }
  }
  for (uint32_t r = 0; r < a.roles.size(); ++r) {
    const RoleRec& x = a.roles[r];
    const RoleRec& y = b.roles[r];
    if (a.role_names.Get(r) != b.role_names.Get(r) || x.deny != y.deny ||
        x.all_permissions != y.all_permissions ||
        x.public_project_role != y.public_project_role ||
        x.private_project_role != y.private_project_role ||
        x.cap_role != y.cap_role || x.exempt_bit != y.exempt_bit ||
        x.exempt_mask != y.exempt_mask) {
      return false;
    }
  }
  return SameColumn(a.role_perms, b.role_perms) &&
         SameColumn(a.role_own, b.role_own) && a.deny_roles == b.deny_roles &&
         a.bypass_roles == b.bypass_roles &&
         a.implying_roles[0] == b.implying_roles[0] &&
         a.implying_roles[1] == b.implying_roles[1] &&
         SameColumn(a.exempt_roles, b.exempt_roles);
}

int Popcount(absl::Span<const uint64_t> words) {
  int n = 0;
  for (uint64_t w : words) n += __builtin_popcountll(w);
  return n;
}

class Differ {
 public:
  Differ(const Lookup& before, const Lookup& after, const DiffOptions& options,
         v1::PolicyDiff* out)
      : options_(options), out_(out) {
    b_.s = &LookupFriend::State(before);
    b_.ix = &LookupFriend::Index(before);
    b_.revision = before.revision();
    a_.s = &LookupFriend::State(after);
    a_.ix = &LookupFriend::Index(after);
    a_.revision = after.revision();
  }

  absl::Status Run() {
    const Snapshot& a = *a_.s;
    const Snapshot& b = *b_.s;
    RequestContext context;
    context.channel = options_.channel;
    const absl::Time at =
        options_.now.has_value() ? *options_.now : LookupInstant(a, context);
    now_ = ToUnixNanosSaturated(at);
    context_ = AtInstant(context, absl::FromUnixNanos(now_));
    out_->set_before_revision(b_.revision);
    out_->set_after_revision(a_.revision);
    SetTimestamp(now_, out_->mutable_at());
    max_witnesses_ = options_.max_witnesses;

    if (absl::Status st = MatchPermissions(); !st.ok()) return st;
    same_vocabulary_ = SameVocabulary(a, b);
    words_a_ = a.perm_words;
    words_b_ = b.perm_words;
    bits_a_.assign(words_a_, 0);
    bits_b_.assign(words_b_, 0);
    map_a_.assign(words_a_, 0);
    map_b_.assign(words_b_, 0);
    MatchNodes();
    MatchGroups();
    BuildClasses();
    if (same_vocabulary_) BuildExtras();

    // Principals by id, both states merged.
    const std::vector<uint32_t> order_b = ByRank(b_);
    const std::vector<uint32_t> order_a = ByRank(a_);
    size_t i = 0, j = 0;
    while ((i < order_b.size() || j < order_a.size()) && !done_) {
      if (j == order_a.size() ||
          (i < order_b.size() &&
           b.principal_ids.Get(order_b[i]) < a.principal_ids.Get(order_a[j]))) {
        summary_.set_principals_removed(summary_.principals_removed() + 1);
        Principal(order_b[i++], kNone);
      } else if (i == order_b.size() || a.principal_ids.Get(order_a[j]) <
                                            b.principal_ids.Get(order_b[i])) {
        summary_.set_principals_added(summary_.principals_added() + 1);
        Principal(kNone, order_a[j++]);
      } else {
        Principal(order_b[i++], order_a[j++]);
      }
    }
    if (!error_.ok()) return error_;
    if (!done_) AddedScopes();
    if (!error_.ok()) return error_;

    out_->set_new_access(new_access_);
    out_->set_principals_compared(compared_);
    out_->set_principals_unchanged(unchanged_);
    if (!options_.only_new_access) *out_->mutable_summary() = summary_;
    return absl::OkStatus();
  }

 private:
  struct Side {
    const Snapshot* s = nullptr;
    const QueryIndex* ix = nullptr;
    uint64_t revision = 0;
  };

  // One change of the current principal: the after node, its tree key
  // (organization rank; cloud, project, workload ranks + 1, 0 where none:
  // an organization, then each cloud, its projects, their workloads), and
  // its bits in pool_ (gained: words_a_,
  // then lost: words_b_).
  struct Entry {
    uint32_t org, cloud, project, leaf;
    uint32_t node;
    uint32_t bits;
  };

  // ---- Matching ----

  absl::Status MatchPermissions() {
    const Snapshot& a = *a_.s;
    const Snapshot& b = *b_.s;
    perm_a2b_.assign(a.permissions.size(), kNone);
    perm_b2a_.assign(b.permissions.size(), kNone);
    same_permissions_ = a.permissions.size() == b.permissions.size();
    for (uint32_t k = 0; k < a.permissions.size(); ++k) {
      const absl::string_view name = a.permission_names.Get(k);
      auto it = b.permission_index->find(name);
      if (it == b.permission_index->end()) {
        same_permissions_ = false;
        continue;
      }
      const uint32_t kb = it->second;
      const int la = a.permissions[k].level;
      const int lb = b.permissions[kb].level;
      if (la != lb) {
        return absl::FailedPreconditionError(absl::StrCat(
            "permission \"", name, "\" is ", LevelName(lb),
            "-level before and ", LevelName(la),
            "-level after: the diff compares each permission on the resources "
            "of its level, and cannot compare these two"));
      }
      perm_a2b_[k] = kb;
      perm_b2a_[kb] = k;
      if (kb != k) same_permissions_ = false;
    }
    return absl::OkStatus();
  }

  // Resources by id and place: the same kind and the same ancestors (by
  // id) at every level.
  void MatchNodes() {
    const Snapshot& a = *a_.s;
    const Snapshot& b = *b_.s;
    std::vector<uint32_t> by_id(a.nodes.size(), kNone);
    for (uint32_t n = 0; n < a.nodes.size(); ++n) {
      const uint32_t m = ObjectById(b, a.node_ids.Get(n), ObjectKind::kNode);
      if (m != kNone && b.nodes[m].kind == a.nodes[n].kind) by_id[n] = m;
    }
    node_a2b_.assign(a.nodes.size(), kNone);
    node_b2a_.assign(b.nodes.size(), kNone);
    uint64_t matched = 0;
    for (uint32_t n = 0; n < a.nodes.size(); ++n) {
      const uint32_t m = by_id[n];
      if (m == kNone) continue;
      bool same = true;
      for (int l = 0; l < 3 && same; ++l) {
        const uint32_t x = a.nodes[n].path[l];
        const uint32_t y = b.nodes[m].path[l];
        same = x == kNone ? y == kNone : y != kNone && by_id[x] == y;
      }
      if (!same) continue;
      node_a2b_[n] = m;
      node_b2a_[m] = n;
      ++matched;
    }
    summary_.set_resources_added(a.nodes.size() - matched);
    summary_.set_resources_removed(b.nodes.size() - matched);
  }

  void MatchGroups() {
    const Snapshot& a = *a_.s;
    const Snapshot& b = *b_.s;
    group_a2b_.assign(a.group_spans.size(), kNone);
    for (uint32_t g = 0; g < a.group_spans.size(); ++g) {
      group_a2b_[g] = ObjectById(b, a.group_ids.Get(g), ObjectKind::kGroup);
    }
    group_same_.assign(a.group_spans.size(), 0);
  }

  // The principals of a side by id.
  static std::vector<uint32_t> ByRank(const Side& x) {
    std::vector<uint32_t> order(x.ix->principal_rank.size());
    for (uint32_t p = 0; p < order.size(); ++p)
      order[x.ix->principal_rank[p]] = p;
    return order;
  }

  // The matched projects of each after cloud by key (class before * 4 +
  // class after), by rank; and the clouds of each organization having
  // projects of a key, by rank. Rows by cloud (org) rank.
  void BuildClasses() {
    const Snapshot& a = *a_.s;
    const Snapshot& b = *b_.s;
    const QueryIndex& ix = *a_.ix;
    size_t clouds = 0, orgs = 0;
    for (uint32_t n = 0; n < a.nodes.size(); ++n) {
      clouds += a.nodes[n].kind == NodeKind::kCloud;
      orgs += a.nodes[n].kind == NodeKind::kOrg;
    }
    std::vector<uint32_t> row, items, cloud_row, cloud_items;
    // Orgs in rank order, then their clouds and projects by rank: rows stay
    // sorted.
    std::vector<uint32_t> org_list(orgs);
    for (uint32_t n = 0; n < a.nodes.size(); ++n) {
      if (a.nodes[n].kind == NodeKind::kOrg) org_list[ix.node_rank[n]] = n;
    }
    for (uint32_t o : org_list) {
      for (uint32_t c : ix.clouds_of_org[o]) {
        if (node_a2b_[c] == kNone) continue;
        uint32_t seen = 0;
        for (uint32_t x : ix.projects_of_cloud[c]) {
          const uint32_t xb = node_a2b_[x];
          if (xb == kNone) continue;
          const uint32_t key = (b.nodes[xb].project_flags & 3) * 4 +
                               (a.nodes[x].project_flags & 3);
          row.push_back(ix.node_rank[c] * kKeys + key);
          items.push_back(x);
          if ((seen & (1u << key)) == 0) {
            seen |= 1u << key;
            cloud_row.push_back(ix.node_rank[o] * kKeys + key);
            cloud_items.push_back(c);
          }
        }
      }
    }
    key_projects_ = BuildRows(clouds * kKeys, row, std::move(items));
    key_clouds_ = BuildRows(orgs * kKeys, cloud_row, std::move(cloud_items));
  }

  // (after principal, after node) pairs: where a principal whose grants
  // are the same in both states may still decide differently.
  void BuildExtras() {
    const Snapshot& a = *a_.s;
    const Snapshot& b = *b_.s;
    const QueryIndex& ix = *a_.ix;
    const uint32_t num_a = static_cast<uint32_t>(a.principals.size());
    auto creator_a = [&](uint32_t w) {
      const uint32_t c = a.node_creator[w];
      return c < num_a ? c : kNone;
    };
    principal_b2a_.assign(b.principals.size(), kNone);
    for (uint32_t p = 0; p < num_a; ++p) {
      const uint32_t q =
          ObjectById(b, a.principal_ids.Get(p), ObjectKind::kPrincipal);
      if (q != kNone) principal_b2a_[q] = p;
    }
    auto creator_b = [&](uint32_t w) {
      const uint32_t c = b.node_creator[w];
      return c < b.principals.size() ? principal_b2a_[c] : kNone;
    };
    for (uint32_t n = 0; n < a.nodes.size(); ++n) {
      const uint32_t m = node_a2b_[n];
      if (m == kNone) continue;
      const Node& node = a.nodes[n];
      if (node.kind == NodeKind::kProject &&
          (node.project_flags & 3) != (b.nodes[m].project_flags & 3)) {
        // Project-level decisions need a cloud grant or org ownership.
        for (const MemberEntry& e :
             ix.cloud_members.entries[node.path[kCloudLevel]]) {
          extras_.push_back({e.principal, n});
        }
        for (uint32_t p : ix.bypass_holders[node.path[kOrgLevel]]) {
          extras_.push_back({p, n});
        }
        for (uint32_t w : ix.workloads_of_project[n]) {
          const uint32_t c = creator_a(w);
          if (c != kNone && node_a2b_[w] != kNone) extras_.push_back({c, w});
        }
      } else if (node.kind == NodeKind::kWorkload) {
        const uint32_t ca = creator_a(n);
        const uint32_t cb = creator_b(m);
        if (ca != cb) {
          if (ca != kNone) extras_.push_back({ca, n});
          if (cb != kNone) extras_.push_back({cb, n});
        }
      }
    }
    std::sort(extras_.begin(), extras_.end());
    extras_.erase(std::unique(extras_.begin(), extras_.end()), extras_.end());
  }

  // ---- Per principal ----

  void Principal(uint32_t pb, uint32_t pa) {
    const Snapshot& a = *a_.s;
    const Snapshot& b = *b_.s;
    id_ = pa != kNone ? a.principal_ids.Get(pa) : b.principal_ids.Get(pb);
    email_ =
        pa != kNone ? a.principal_emails.Get(pa) : b.principal_emails.Get(pb);
    // A side whose Check denies the principal everything (absent, deleted,
    // invited, a service account on the console) allows nothing.
    pb_ = pb != kNone && !DeniedEverything(b.Principal(pb), options_.channel)
              ? pb
              : kNone;
    pa_ = pa != kNone && !DeniedEverything(a.Principal(pa), options_.channel)
              ? pa
              : kNone;
    if (pb_ == kNone && pa_ == kNone) return;
    entries_.clear();
    pool_.clear();
    if (same_vocabulary_ && pb_ != kNone && pa_ != kNone && SameHolder()) {
      ++unchanged_;
      auto range = std::equal_range(extras_.begin(), extras_.end(),
                                    std::make_pair(pa_, 0u),
                                    [](const std::pair<uint32_t, uint32_t>& x,
                                       const std::pair<uint32_t, uint32_t>& y) {
                                      return x.first < y.first;
                                    });
      for (auto it = range.first; it != range.second; ++it) {
        const uint32_t d = Compare(it->second, kProjectLevel);
        if (d != kNone) Emit(it->second, d);
      }
    } else {
      ++compared_;
      CollectScopes(pb, pa);
      const uint32_t oa = pa_ != kNone ? a.Principal(pa_).org : kNone;
      const uint32_t ob =
          pb_ != kNone ? node_b2a_[b.Principal(pb_).org] : kNone;
      if (oa != kNone && node_a2b_[oa] != kNone) Org(oa);
      if (ob != kNone && ob != oa) Org(ob);
    }
    Flush();
  }

  // The live grants of a span, by scope and role, are the same.
  bool SameLive(GrantSpan sb, GrantSpan sa) const {
    const Snapshot& a = *a_.s;
    const Snapshot& b = *b_.s;
    uint32_t i = sb.begin, j = sa.begin;
    for (;;) {
      while (i < sb.end && b.GrantExpires(i) <= now_) ++i;
      while (j < sa.end && a.GrantExpires(j) <= now_) ++j;
      if (i == sb.end || j == sa.end) return i == sb.end && j == sa.end;
      const GrantRec& gb = b.grants[i];
      const GrantRec& ga = a.grants[j];
      if (gb.role != ga.role || node_b2a_[gb.scope] != ga.scope) return false;
      ++i;
      ++j;
    }
  }

  // The principal's record, own live grants and groups' are the same
  // (groups in the same order, each with the same live grants).
  bool SameHolder() {
    const Snapshot& a = *a_.s;
    const Snapshot& b = *b_.s;
    const PrincipalRec& rb = b.Principal(pb_);
    const PrincipalRec& ra = a.Principal(pa_);
    if (rb.kind != ra.kind || rb.state != ra.state ||
        node_a2b_[ra.org] != rb.org || rb.org == kNone) {
      return false;
    }
    if (!SameLive(rb.grants, ra.grants)) return false;
    const uint32_t n = ra.groups_end - ra.groups_begin;
    if (rb.groups_end - rb.groups_begin != n) return false;
    const uint32_t num_a = static_cast<uint32_t>(a.principals.size());
    const uint32_t num_b = static_cast<uint32_t>(b.principals.size());
    for (uint32_t i = 0; i < n; ++i) {
      const GrantSpan sa = a.principal_groups[ra.groups_begin + i];
      const GrantSpan sb = b.principal_groups[rb.groups_begin + i];
      if (sa.begin == sa.end || sb.begin == sb.end) {
        if (!SameLive(sb, sa)) return false;
        continue;
      }
      const uint32_t ga = a.SubjectOfGrant(sa.begin) - num_a;
      const uint32_t gb = b.SubjectOfGrant(sb.begin) - num_b;
      if (ga >= group_a2b_.size() || group_a2b_[ga] != gb) return false;
      int8_t& same = group_same_[ga];
      if (same == 0) same = SameLive(sb, sa) ? 1 : -1;
      if (same < 0) return false;
    }
    return true;
  }

  // The clouds (T), projects (H) the principal holds a grant at, and the
  // workloads it created, in either state (live or not), as matched after
  // nodes, sorted.
  void CollectScopes(uint32_t pb, uint32_t pa) {
    clouds_.clear();
    projects_.clear();
    created_.clear();
    auto visit = [&](const Side& x, uint32_t p, bool before) {
      const Snapshot& s = *x.s;
      auto map = [&](uint32_t n) {
        return before ? node_b2a_[n] : node_a2b_[n] != kNone ? n : kNone;
      };
      auto span = [&](GrantSpan sp) {
        for (uint32_t i = sp.begin; i < sp.end; ++i) {
          const GrantRec& g = s.grants[i];
          if (g.level == kOrgLevel) continue;
          const uint32_t n = map(g.scope);
          if (n == kNone) continue;
          (g.level == kCloudLevel ? clouds_ : projects_).push_back(n);
        }
      };
      const PrincipalRec& rec = s.Principal(p);
      span(rec.grants);
      for (uint32_t g = rec.groups_begin; g < rec.groups_end; ++g) {
        span(s.principal_groups[g]);
      }
      AddCreated(x, p, before);
    };
    if (pb_ != kNone) visit(b_, pb_, true);
    if (pa_ != kNone) visit(a_, pa_, false);
    // Its workloads of a side where Check denies it everything still decide
    // on their own in the other side (as their project's, for it is no
    // longer their creator there).
    if (pb_ == kNone && pb != kNone) AddCreated(b_, pb, true);
    if (pa_ == kNone && pa != kNone) AddCreated(a_, pa, false);
    for (auto* v : {&clouds_, &projects_, &created_}) {
      std::sort(v->begin(), v->end());
      v->erase(std::unique(v->begin(), v->end()), v->end());
    }
  }
  void AddCreated(const Side& x, uint32_t p, bool before) {
    for (uint32_t w : x.ix->created_by[p]) {
      const uint32_t n = before                  ? node_b2a_[w]
                         : node_a2b_[w] != kNone ? w
                                                 : kNone;
      if (n != kNone) created_.push_back(n);
    }
  }
  bool HoldsCloud(uint32_t c) const {
    return std::binary_search(clouds_.begin(), clouds_.end(), c);
  }
  bool HoldsProject(uint32_t x) const {
    return std::binary_search(projects_.begin(), projects_.end(), x);
  }

  absl::Span<const uint32_t> KeyProjects(uint32_t cloud, int key) const {
    return key_projects_[size_t{a_.ix->node_rank[cloud]} * kKeys + key];
  }

  // The first project of `cloud` with `key` the principal holds nothing
  // at, or kNone.
  uint32_t FirstUnheld(uint32_t cloud, int key) const {
    for (uint32_t x : KeyProjects(cloud, key)) {
      if (!HoldsProject(x)) return x;
    }
    return kNone;
  }

  // Everything the principal may reach in organization `org` (matched).
  void Org(uint32_t org) {
    const Snapshot& a = *a_.s;
    const QueryIndex& ix = *a_.ix;
    if (const uint32_t d = Compare(org, kOrgLevel); d != kNone) Emit(org, d);

    // Clouds: those it holds a grant at one by one, the others as one.
    uint32_t generic = kNone;
    for (uint32_t c : ix.clouds_of_org[org]) {
      if (node_a2b_[c] == kNone) continue;
      if (HoldsCloud(c)) {
        if (const uint32_t d = Compare(c, kCloudLevel); d != kNone) Emit(c, d);
      } else if (generic == kNone) {
        generic = c;
      }
    }
    if (generic != kNone) {
      if (const uint32_t d = Compare(generic, kCloudLevel); d != kNone) {
        for (uint32_t c : ix.clouds_of_org[org]) {
          if (node_a2b_[c] != kNone && !HoldsCloud(c)) Emit(c, d);
        }
      }
    }

    // Projects it holds nothing at, by class: in each cloud it holds a
    // grant at, and in all the others together.
    for (uint32_t c : clouds_) {
      if (a.nodes[c].path[kOrgLevel] != org) continue;
      for (int key = 0; key < kKeys; ++key) {
        const uint32_t rep = FirstUnheld(c, key);
        if (rep == kNone) continue;
        const uint32_t d = Compare(rep, kProjectLevel);
        if (d == kNone) continue;
        for (uint32_t x : KeyProjects(c, key)) {
          if (!HoldsProject(x)) Emit(x, d);
        }
      }
    }
    const size_t org_row = size_t{ix.node_rank[org]} * kKeys;
    for (int key = 0; key < kKeys; ++key) {
      uint32_t rep = kNone;
      for (uint32_t c : key_clouds_[org_row + key]) {
        if (HoldsCloud(c)) continue;
        rep = FirstUnheld(c, key);
        if (rep != kNone) break;
      }
      if (rep == kNone) continue;
      const uint32_t d = Compare(rep, kProjectLevel);
      if (d == kNone) continue;
      for (uint32_t c : key_clouds_[org_row + key]) {
        if (HoldsCloud(c)) continue;
        for (uint32_t x : KeyProjects(c, key)) {
          if (!HoldsProject(x)) Emit(x, d);
        }
      }
    }

    // Projects it holds a grant at, and workloads it created.
    for (uint32_t x : projects_) {
      if (a.nodes[x].path[kOrgLevel] != org) continue;
      if (const uint32_t d = Compare(x, kProjectLevel); d != kNone) Emit(x, d);
    }
    for (uint32_t w : created_) {
      if (a.nodes[w].path[kOrgLevel] != org) continue;
      if (const uint32_t d = Compare(w, kProjectLevel); d != kNone) Emit(w, d);
    }
  }

  // Compares the principal's permissions of `level` on after node `n`
  // (matched) in both states. Returns the offset of the difference in
  // pool_, or kNone if none (in no-new-access mode: if nothing is gained).
  uint32_t Compare(uint32_t n, int level) {
    const uint32_t m = node_a2b_[n];
    if (pb_ != kNone) {
      PermissionBits(*b_.s, pb_, m, context_, b_.revision, level,
                     bits_b_.data(), nullptr);
    } else {
      std::fill(bits_b_.begin(), bits_b_.end(), 0);
    }
    if (pa_ != kNone) {
      PermissionBits(*a_.s, pa_, n, context_, a_.revision, level,
                     bits_a_.data(), nullptr);
    } else {
      std::fill(bits_a_.begin(), bits_a_.end(), 0);
    }
    // map_a_: before's bits as after's permissions; map_b_: the reverse.
    if (same_permissions_) {
      map_a_ = bits_b_;
      map_b_ = bits_a_;
    } else {
      Translate(bits_b_, perm_b2a_, &map_a_);
      Translate(bits_a_, perm_a2b_, &map_b_);
    }
    uint64_t any_gained = 0, any_lost = 0;
    for (size_t w = 0; w < words_a_; ++w) any_gained |= bits_a_[w] & ~map_a_[w];
    for (size_t w = 0; w < words_b_; ++w) any_lost |= bits_b_[w] & ~map_b_[w];
    if (any_gained == 0 && (any_lost == 0 || options_.only_new_access)) {
      return kNone;
    }
    const uint32_t at = static_cast<uint32_t>(pool_.size());
    for (size_t w = 0; w < words_a_; ++w) {
      pool_.push_back(bits_a_[w] & ~map_a_[w]);
    }
    for (size_t w = 0; w < words_b_; ++w) {
      pool_.push_back(bits_b_[w] & ~map_b_[w]);
    }
    return at;
  }

  static void Translate(const std::vector<uint64_t>& from,
                        const std::vector<uint32_t>& map,
                        std::vector<uint64_t>* to) {
    std::fill(to->begin(), to->end(), 0);
    for (size_t w = 0; w < from.size(); ++w) {
      for (uint64_t x = from[w]; x != 0; x &= x - 1) {
        const uint32_t k = map[w * 64 + __builtin_ctzll(x)];
        if (k != kNone) (*to)[k >> 6] |= uint64_t{1} << (k & 63);
      }
    }
  }

  void Emit(uint32_t n, uint32_t bits) {
    const Snapshot& a = *a_.s;
    const QueryIndex& ix = *a_.ix;
    const Node& node = a.nodes[n];
    auto key = [&](uint32_t m) { return m == kNone ? 0 : ix.node_rank[m] + 1; };
    Entry e;
    e.node = n;
    e.bits = bits;
    e.org = ix.node_rank[node.path[kOrgLevel]];
    e.cloud = node.kind == NodeKind::kOrg ? 0 : key(node.path[kCloudLevel]);
    e.project =
        node.kind == NodeKind::kProject || node.kind == NodeKind::kWorkload
            ? key(node.path[kProjectLevel])
            : 0;
    e.leaf = node.kind == NodeKind::kWorkload ? key(n) : 0;
    entries_.push_back(e);
  }

  // Writes the current principal's changes, in tree order, and the
  // witnesses of new access among them.
  void Flush() {
    if (entries_.empty()) return;
    const Snapshot& a = *a_.s;
    const Snapshot& b = *b_.s;
    // Each node appears once (classes, held scopes and created workloads
    // are disjoint), except the extras of a principal with the same grants,
    // which are unique pairs.
    std::sort(entries_.begin(), entries_.end(),
              [](const Entry& x, const Entry& y) {
                return std::tie(x.org, x.cloud, x.project, x.leaf) <
                       std::tie(y.org, y.cloud, y.project, y.leaf);
              });
    summary_.set_principals(summary_.principals() + 1);
    for (const Entry& e : entries_) {
      const absl::Span<const uint64_t> gained(pool_.data() + e.bits, words_a_);
      const absl::Span<const uint64_t> lost(pool_.data() + e.bits + words_a_,
                                            words_b_);
      const int num_gained = Popcount(gained);
      const absl::string_view resource = a.node_ids.Get(e.node);
      if (!options_.only_new_access) {
        v1::AccessChange* c = out_->add_changes();
        c->set_principal_id(std::string(id_));
        c->set_principal_email(std::string(email_));
        c->set_resource_id(std::string(resource));
        c->set_resource_kind(std::string(KindName(a.nodes[e.node].kind)));
        for (size_t w = 0; w < gained.size(); ++w) {
          for (uint64_t x = gained[w]; x != 0; x &= x - 1) {
            c->add_gained(std::string(a.permission_names.Get(
                static_cast<uint32_t>(w * 64 + __builtin_ctzll(x)))));
          }
        }
        for (size_t w = 0; w < lost.size(); ++w) {
          for (uint64_t x = lost[w]; x != 0; x &= x - 1) {
            c->add_lost(std::string(b.permission_names.Get(
                static_cast<uint32_t>(w * 64 + __builtin_ctzll(x)))));
          }
        }
        summary_.set_changes(summary_.changes() + 1);
        summary_.set_gained(summary_.gained() + num_gained);
        summary_.set_lost(summary_.lost() + Popcount(lost));
      }
      if (num_gained == 0) continue;
      new_access_ = true;
      for (size_t w = 0; w < gained.size(); ++w) {
        for (uint64_t x = gained[w]; x != 0; x &= x - 1) {
          if (static_cast<size_t>(out_->witnesses_size()) >= max_witnesses_) {
            break;
          }
          const uint32_t k = static_cast<uint32_t>(w * 64 + __builtin_ctzll(x));
          const Decision d = Evaluate(a, pa_, k, e.node, context_, a_.revision);
          if (!d.allowed()) {
            // The diff and Check disagree: fail closed rather than report.
            error_ = absl::InternalError(absl::StrCat(
                "diff: ", id_, " gains ", a.permission_names.Get(k), " on ",
                resource, " but Check denies it (", ReasonName(d.reason), ")"));
            done_ = true;
            return;
          }
          v1::AccessWitness* wit = out_->add_witnesses();
          wit->set_principal_id(std::string(id_));
          wit->set_permission(std::string(a.permission_names.Get(k)));
          wit->set_resource_id(std::string(resource));
          wit->set_reason(std::string(ReasonName(d.reason)));
          wit->set_grant_id(std::string(d.grant_id));
        }
      }
      if (options_.only_new_access &&
          static_cast<size_t>(out_->witnesses_size()) >= max_witnesses_) {
        done_ = true;  // answered: `after` grants something new
        return;
      }
    }
  }

  // Access to an organization, cloud or project of `after` only (added,
  // or moved): `before` gave none on it, so whatever anyone may do there is
  // new access, and the gate fails closed on a new project (its owners
  // alone hold new permissions). Such access is not listed in `changes`
  // (every principal with access to each new scope would be), but it makes
  // `new_access` true, with witnesses: for each added scope in tree order,
  // the first principal (by id) allowed something there, and that
  // permission. A workload, compute config or image decides as its
  // project, cloud or organization, except that an added workload's
  // creator may hold own-workload permissions on it beyond its project's:
  // those are new access too (witnessed in the same tree order).
  void AddedScopes() {
    const Snapshot& a = *a_.s;
    const QueryIndex& ix = *a_.ix;
    std::vector<uint32_t> added;
    for (uint32_t n = 0; n < a.nodes.size(); ++n) {
      const NodeKind kind = a.nodes[n].kind;
      if (node_a2b_[n] == kNone &&
          (kind == NodeKind::kOrg || kind == NodeKind::kCloud ||
           kind == NodeKind::kProject || kind == NodeKind::kWorkload)) {
        added.push_back(n);
      }
    }
    if (added.empty()) return;
    // Tree order, as the changes (Emit): organization, cloud, project,
    // workload, each by id.
    auto place = [&](uint32_t n) {
      const Node& node = a.nodes[n];
      auto key = [&](uint32_t m) {
        return m == kNone ? 0 : ix.node_rank[m] + 1;
      };
      const bool in_project =
          node.kind == NodeKind::kProject || node.kind == NodeKind::kWorkload;
      return std::make_tuple(
          ix.node_rank[node.path[kOrgLevel]],
          node.kind == NodeKind::kOrg ? 0 : key(node.path[kCloudLevel]),
          in_project ? key(node.path[kProjectLevel]) : 0,
          node.kind == NodeKind::kWorkload ? key(n) : 0);
    };
    std::sort(added.begin(), added.end(),
              [&](uint32_t x, uint32_t y) { return place(x) < place(y); });
    const std::vector<uint32_t> order = ByRank(a_);
    for (uint32_t n : added) {
      if (new_access_ &&
          static_cast<size_t>(out_->witnesses_size()) >= max_witnesses_) {
        return;
      }
      const Node& node = a.nodes[n];
      if (node.kind == NodeKind::kWorkload) {
        AddedWorkload(n);
        if (!error_.ok()) return;
        continue;
      }
      const int level = node.kind == NodeKind::kOrg     ? kOrgLevel
                        : node.kind == NodeKind::kCloud ? kCloudLevel
                                                        : kProjectLevel;
      for (uint32_t p : order) {
        const PrincipalRec& rec = a.Principal(p);
        if (rec.org != node.path[kOrgLevel] ||
            DeniedEverything(rec, options_.channel)) {
          continue;
        }
        std::fill(bits_a_.begin(), bits_a_.end(), 0);
        PermissionBits(a, p, n, context_, a_.revision, level, bits_a_.data(),
                       nullptr);
        uint32_t k = kNone;
        for (size_t w = 0; w < words_a_ && k == kNone; ++w) {
          if (bits_a_[w] != 0) {
            k = static_cast<uint32_t>(w * 64 + __builtin_ctzll(bits_a_[w]));
          }
        }
        if (k == kNone) continue;
        new_access_ = true;
        if (max_witnesses_ == 0) return;
        const Decision d = Evaluate(a, p, k, n, context_, a_.revision);
        if (!d.allowed()) {
          error_ = absl::InternalError(absl::StrCat(
              "diff: ", a.principal_ids.Get(p), " holds ",
              a.permission_names.Get(k), " on the new ", KindName(node.kind),
              " ", a.node_ids.Get(n), " but Check denies it (",
              ReasonName(d.reason), ")"));
          return;
        }
        AddWitness(p, k, n, d);
        break;
      }
    }
  }

  // An added workload: what its creator may do on it beyond what it may do
  // on its project (own-workload permissions) is new access.
  void AddedWorkload(uint32_t w) {
    const Snapshot& a = *a_.s;
    const uint32_t c = a.node_creator[w];
    if (c >= a.principals.size() ||
        DeniedEverything(a.Principal(c), options_.channel)) {
      return;
    }
    std::fill(bits_a_.begin(), bits_a_.end(), 0);
    std::fill(map_a_.begin(), map_a_.end(), 0);
    PermissionBits(a, c, w, context_, a_.revision, kProjectLevel,
                   bits_a_.data(), nullptr);
    PermissionBits(a, c, a.nodes[w].path[kProjectLevel], context_, a_.revision,
                   kProjectLevel, map_a_.data(), nullptr);
    uint32_t k = kNone;
    for (size_t i = 0; i < words_a_ && k == kNone; ++i) {
      const uint64_t own = bits_a_[i] & ~map_a_[i];
      if (own != 0) k = static_cast<uint32_t>(i * 64 + __builtin_ctzll(own));
    }
    if (k == kNone) return;
    new_access_ = true;
    if (max_witnesses_ == 0) return;
    const Decision d = Evaluate(a, c, k, w, context_, a_.revision);
    if (!d.allowed()) {
      error_ = absl::InternalError(absl::StrCat(
          "diff: ", a.principal_ids.Get(c), " holds ",
          a.permission_names.Get(k), " on the new workload ", a.node_ids.Get(w),
          " but Check denies it (", ReasonName(d.reason), ")"));
      return;
    }
    AddWitness(c, k, w, d);
  }

  void AddWitness(uint32_t p, uint32_t k, uint32_t n, const Decision& d) {
    const Snapshot& a = *a_.s;
    v1::AccessWitness* wit = out_->add_witnesses();
    wit->set_principal_id(std::string(a.principal_ids.Get(p)));
    wit->set_permission(std::string(a.permission_names.Get(k)));
    wit->set_resource_id(std::string(a.node_ids.Get(n)));
    wit->set_reason(std::string(ReasonName(d.reason)));
    wit->set_grant_id(std::string(d.grant_id));
  }

  const DiffOptions& options_;
  v1::PolicyDiff* out_;
  Side b_, a_;
  int64_t now_ = 0;
  RequestContext context_;
  size_t max_witnesses_ = 0;

  bool same_vocabulary_ = false;
  bool same_permissions_ = false;
  std::vector<uint32_t> perm_a2b_, perm_b2a_;
  std::vector<uint32_t> node_a2b_, node_b2a_;
  std::vector<uint32_t> group_a2b_;
  std::vector<int8_t> group_same_;  // 0 unknown, 1 same, -1 different
  std::vector<uint32_t> principal_b2a_;
  Rows<uint32_t> key_projects_;  // by cloud rank * kKeys + key
  Rows<uint32_t> key_clouds_;    // by org rank * kKeys + key
  std::vector<std::pair<uint32_t, uint32_t>> extras_;

  size_t words_a_ = 1, words_b_ = 1;
  std::vector<uint64_t> bits_a_, bits_b_, map_a_, map_b_;

  // The current principal.
  uint32_t pb_ = kNone, pa_ = kNone;
  absl::string_view id_, email_;
  std::vector<uint32_t> clouds_, projects_, created_;
  std::vector<Entry> entries_;
  std::vector<uint64_t> pool_;

  v1::PolicyDiff::Summary summary_;
  bool new_access_ = false;
  bool done_ = false;
  absl::Status error_;
  uint64_t compared_ = 0, unchanged_ = 0;
};

}  // namespace
}  // namespace internal

absl::StatusOr<v1::PolicyDiff> DiffPolicies(const Lookup& before,
                                            const Lookup& after,
                                            const DiffOptions& options) {
  v1::PolicyDiff diff;
  internal::Differ differ(before, after, options, &diff);
  if (absl::Status st = differ.Run(); !st.ok()) return st;
  return diff;
}

}  // namespace arbiter
