// Principals, groups and group closures.

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "src/compiler/compiler_impl.h"
#include "src/internal/names.h"

namespace arbiter {
namespace internal {

void Compiler::BuildPrincipals() {
  SnapshotTables& s = *out_;
  principal_of_.assign(st_.principals_size(), kNone);
  s.principals.reserve(st_.principals_size());
  principal_input_.reserve(st_.principals_size());
  // (org node, lower-cased email) -> PolicySet index, for uniqueness among
  // principals that are not deleted: a re-invited user is a new principal
  // with the old email, and the deleted one may stay in the state.
  absl::flat_hash_map<ChildKey, int, OrgEmailHash, OrgEmailEq> emails;
  emails.reserve(st_.principals_size());
  std::string lower;  // reused: no allocation per principal
  size_t id_bytes = 0, email_bytes = 0;
  for (const v1::Principal& p : st_.principals()) {
    id_bytes += p.id().size();
    email_bytes += p.email().size();
  }
  s.principal_ids.Reserve(st_.principals_size(), id_bytes);
  s.principal_emails.Reserve(st_.principals_size(), email_bytes);

  for (int i = 0; i < st_.principals_size(); ++i) {
    const v1::Principal& p = st_.principals(i);
    int org = Resolve(FieldPath{Kind::kPrincipal, i, "org_id"}, p.org_id(),
                      Kind::kOrg);
    if (!ids_.contains(p.id()) || org < 0 || node_of_[0][org] == kNone)
      continue;
    if (p.kind() == v1::PRINCIPAL_KIND_UNSPECIFIED ||
        !v1::PrincipalKind_IsValid(p.kind())) {
      diag_.Add(Field(Kind::kPrincipal, i, "kind"),
                "missing or unknown principal kind (USER or SERVICE_ACCOUNT)");
      continue;
    }
    if (!v1::PrincipalState_IsValid(p.state())) {
      diag_.Add(Field(Kind::kPrincipal, i, "state"), "unknown principal state");
      continue;
    }
    std::string problem = CheckEmail(p.email(), opt_.max_name_length);
    if (!problem.empty()) {
      diag_.Add(Field(Kind::kPrincipal, i, "email"), problem);
      continue;
    }
    if (!p.name().empty()) {
      problem = CheckName(p.name(), opt_.max_name_length);
      if (!problem.empty()) {
        diag_.Add(Field(Kind::kPrincipal, i, "name"), problem);
        continue;
      }
    }
    const uint32_t org_node = node_of_[0][org];
    auto [it, inserted] =
        p.state() == v1::PRINCIPAL_STATE_DELETED
            ? std::make_pair(emails.end(), true)
            : emails.emplace(ChildKey{org_node, p.email()}, i);
    if (!inserted) {
      diag_.Add(Field(Kind::kPrincipal, i, "email"),
                absl::StrCat("duplicate email ", Quote(p.email()), " in ",
                             DescribeNode(org_node), " (also ",
                             Path(Kind::kPrincipal, it->second),
                             "; emails compare case-insensitively; only "
                             "deleted principals may share one)"));
      continue;
    }
    PrincipalRec rec{};
    rec.org = org_node;
    rec.kind = static_cast<uint8_t>(p.kind());
    rec.state =
        static_cast<uint8_t>(p.state() == v1::PRINCIPAL_STATE_UNSPECIFIED
                                 ? v1::PRINCIPAL_STATE_ACTIVE
                                 : p.state());
    principal_of_[i] = s.principals.size();
    principal_input_.push_back(i);
    s.principals.push_back(rec);
    s.principal_ids.Add(p.id());
    lower.assign(p.email());
    absl::AsciiStrToLower(&lower);
    s.principal_emails.Add(lower);
  }
}

void Compiler::BuildGroups() {
  SnapshotTables& s = *out_;
  // Group indices follow group ids (bytewise): the subject order of
  // docs/semantics.md.
  group_of_.assign(st_.groups_size(), kNone);
  for (int i = 0; i < st_.groups_size(); ++i) {
    const v1::Group& g = st_.groups(i);
    int org =
        Resolve(FieldPath{Kind::kGroup, i, "org_id"}, g.org_id(), Kind::kOrg);
    if (!ids_.contains(g.id()) || org < 0 || node_of_[0][org] == kNone)
      continue;
    if (!g.name().empty()) {
      std::string problem = CheckName(g.name(), opt_.max_name_length);
      if (!problem.empty()) {
        diag_.Add(Field(Kind::kGroup, i, "name"), problem);
        continue;
      }
    }
    group_input_.push_back(i);
  }
  std::sort(group_input_.begin(), group_input_.end(), [&](int a, int b) {
    return st_.groups(a).id() < st_.groups(b).id();
  });
  group_org_.resize(group_input_.size());
  size_t id_bytes = 0;
  for (uint32_t g = 0; g < group_input_.size(); ++g) {
    group_of_[group_input_[g]] = g;
    group_org_[g] =
        node_of_[0][ids_.at(st_.groups(group_input_[g]).org_id()).index];
    id_bytes += st_.groups(group_input_[g]).id().size();
  }
  s.group_ids.Reserve(group_input_.size(), id_bytes);
  for (int input : group_input_) s.group_ids.Add(st_.groups(input).id());

  // Membership edges (child subject, parent group), then a CSR of parents.
  const uint32_t num_principals = s.principals.size();
  const uint32_t num_subjects = num_principals + group_input_.size();
  std::vector<std::pair<uint32_t, uint32_t>> edges;
  for (uint32_t g = 0; g < group_input_.size(); ++g) {
    const int i = group_input_[g];
    const v1::Group& group = st_.groups(i);
    for (int j = 0; j < group.member_ids_size(); ++j) {
      const std::string path =
          Field(Kind::kGroup, i, absl::StrCat("member_ids[", j, "]"));
      const std::string& id = group.member_ids(j);
      auto it = ids_.find(id);
      if (it == ids_.end()) {
        diag_.Add(path, absl::StrCat("unknown principal or group ", Quote(id)));
        continue;
      }
      uint32_t child;
      if (it->second.kind == Kind::kPrincipal) {
        child = principal_of_[it->second.index];
      } else if (it->second.kind == Kind::kGroup) {
        uint32_t h = group_of_[it->second.index];
        child = h == kNone ? kNone : num_principals + h;
        if (h == g) {
          diag_.Add(path,
                    absl::StrCat("group ", Quote(id), " contains itself"));
          continue;
        }
      } else {
        diag_.Add(path,
                  absl::StrCat(Quote(id), " is a ", KindName(it->second.kind),
                               ", not a principal or group"));
        continue;
      }
      if (child == kNone) continue;  // reported on the member itself
      if (SubjectOrg(child) != group_org_[g]) {
        diag_.Add(path, absl::StrCat(DescribeSubject(child),
                                     " belongs to another organization"));
        continue;
      }
      edges.emplace_back(child, g);
    }
  }
  std::sort(edges.begin(), edges.end());
  edges.erase(std::unique(edges.begin(), edges.end()), edges.end());
  s.parents_begin.assign(num_subjects + 1, 0);
  for (const auto& e : edges) ++s.parents_begin[e.first + 1];
  for (uint32_t i = 0; i < num_subjects; ++i)
    s.parents_begin[i + 1] += s.parents_begin[i];
  s.parents.resize(edges.size());
  for (size_t i = 0; i < edges.size(); ++i) s.parents[i] = edges[i].second;
  // The reverse: each group's direct members, ascending.
  const uint32_t num_groups = group_input_.size();
  s.group_members_begin.assign(num_groups + 1, 0);
  for (const auto& e : edges) ++s.group_members_begin[e.second + 1];
  for (uint32_t g = 0; g < num_groups; ++g)
    s.group_members_begin[g + 1] += s.group_members_begin[g];
  s.group_members.resize(edges.size());
  std::vector<uint32_t> next(s.group_members_begin.begin(),
                             s.group_members_begin.end() - 1);
  for (const auto& e : edges) s.group_members[next[e.second]++] = e.first;
}

bool Compiler::ChargeClosure(
    const uint32_t* parents_begin, const uint32_t* parents_end,
    const std::vector<std::vector<uint32_t>>& ancestors, size_t* work) {
  for (const uint32_t* it = parents_begin; it != parents_end; ++it) {
    *work += 1 + ancestors[*it].size();
  }
  if (*work <= opt_.max_membership_closure) return true;
  diag_.AddStatus(absl::InvalidArgumentError(absl::StrCat(
      "groups: nested group memberships expand to more than ",
      opt_.max_membership_closure,
      " transitive memberships (EngineOptions::max_membership_closure)")));
  return false;
}

std::pair<const uint32_t*, const uint32_t*> Compiler::ParentsOf(
    uint32_t subject) const {
  const SnapshotTables& s = *out_;
  return std::make_pair(s.parents.data() + s.parents_begin[subject],
                        s.parents.data() + s.parents_begin[subject + 1]);
}

void Compiler::ComputeGroupClosures() {
  const uint32_t num_groups = group_input_.size();
  std::vector<std::vector<uint32_t>> ancestors(num_groups);
  // Transitive memberships gathered so far, before duplicates are removed:
  // the work and memory of this function, bounded by
  // EngineOptions::max_membership_closure (SECURITY.md, "Cost model").
  size_t work = 0;
  ComputeGroupAncestors(&ancestors, &work);
  if (!diag_.ok()) return;
  ComputeSubjectClosures(ancestors, &work);
}

void Compiler::ComputeGroupAncestors(
    std::vector<std::vector<uint32_t>>* ancestors_out, size_t* work) {
  const SnapshotTables& s = *out_;
  const uint32_t num_principals = s.principals.size();
  const uint32_t num_groups = group_input_.size();
  std::vector<std::vector<uint32_t>>& ancestors = *ancestors_out;

  // Iterative depth-first search over "is contained in" edges, so a 10,000
  // level chain cannot overflow the stack. A group is finished after all of
  // its parents, which gives each group its depth and ancestor set.
  enum : uint8_t { kWhite, kGrey, kBlack };
  std::vector<uint8_t> color(num_groups, kWhite);
  std::vector<uint32_t> depth(num_groups, 0);
  std::vector<bool> too_deep(num_groups, false);
  std::vector<std::pair<uint32_t, uint32_t>> stack;  // (group, next parent)
  bool cycle_found = false, depth_reported = false;

  for (uint32_t root = 0; root < num_groups && !cycle_found; ++root) {
    if (color[root] != kWhite) continue;
    stack.emplace_back(root, 0);
    color[root] = kGrey;
    while (!stack.empty() && !cycle_found) {
      auto& [g, next] = stack.back();
      auto [pb, pe] = ParentsOf(num_principals + g);
      if (pb + next < pe) {
        uint32_t parent = pb[next++];
        if (color[parent] == kGrey) {
          ReportGroupCycle(stack, parent);
          cycle_found = true;
        } else if (color[parent] == kWhite) {
          color[parent] = kGrey;
          stack.emplace_back(parent, 0);
        }
        continue;
      }
      // All parents finished.
      uint32_t d = 1;
      bool deep = false;
      for (const uint32_t* it = pb; it != pe; ++it) {
        d = std::max(d, depth[*it] + 1);
        deep |= too_deep[*it];
      }
      depth[g] = d;
      if (!deep && d > opt_.max_group_depth) {
        deep = true;
        if (!depth_reported) {
          diag_.Add(
              Path(Kind::kGroup, group_input_[g]),
              absl::StrCat("group ", Quote(s.group_ids.Get(g)),
                           " is nested more than ", opt_.max_group_depth,
                           " levels deep (EngineOptions::max_group_depth)"));
          depth_reported = true;
        }
      }
      too_deep[g] = deep;
      if (!deep && !ChargeClosure(pb, pe, ancestors, work)) {
        cycle_found = true;  // stop: the budget is spent
      } else if (!deep) {
        std::vector<uint32_t>& anc = ancestors[g];
        for (const uint32_t* it = pb; it != pe; ++it) {
          anc.push_back(*it);
          anc.insert(anc.end(), ancestors[*it].begin(), ancestors[*it].end());
        }
        std::sort(anc.begin(), anc.end());
        anc.erase(std::unique(anc.begin(), anc.end()), anc.end());
      }
      color[g] = kBlack;
      stack.pop_back();
    }
  }
}

void Compiler::ReportGroupCycle(
    const std::vector<std::pair<uint32_t, uint32_t>>& stack, uint32_t parent) {
  const SnapshotTables& s = *out_;
  // The stack from `parent` to its top is the cycle.
  std::vector<std::string> names;
  bool in_cycle = false;
  for (const auto& frame : stack) {
    in_cycle |= frame.first == parent;
    if (in_cycle) names.push_back(std::string(s.group_ids.Get(frame.first)));
  }
  names.push_back(std::string(s.group_ids.Get(parent)));
  std::reverse(names.begin(), names.end());
  diag_.Add(Field(Kind::kGroup, group_input_[parent], "member_ids"),
            absl::StrCat("group cycle: ", absl::StrJoin(names, " contains ")));
}

void Compiler::ComputeSubjectClosures(
    const std::vector<std::vector<uint32_t>>& ancestors, size_t* work) {
  const uint32_t num_principals = out_->principals.size();
  const uint32_t num_groups = group_input_.size();
  // Closure of every subject: principals take the union of their direct
  // groups and those groups' ancestors; groups take their ancestors.
  closure_begin_.assign(num_principals + num_groups + 1, 0);
  closure_.clear();
  std::vector<uint32_t> scratch;
  for (uint32_t p = 0; p < num_principals; ++p) {
    scratch.clear();
    auto [pb, pe] = ParentsOf(p);
    if (!ChargeClosure(pb, pe, ancestors, work)) return;
    for (const uint32_t* it = pb; it != pe; ++it) {
      scratch.push_back(*it);
      scratch.insert(scratch.end(), ancestors[*it].begin(),
                     ancestors[*it].end());
    }
    std::sort(scratch.begin(), scratch.end());
    scratch.erase(std::unique(scratch.begin(), scratch.end()), scratch.end());
    if (scratch.size() > opt_.max_groups_per_principal) {
      diag_.Add(
          Path(Kind::kPrincipal, principal_input_[p]),
          absl::StrCat(DescribeSubject(p), " belongs to ", scratch.size(),
                       " groups, more than ", opt_.max_groups_per_principal,
                       " (EngineOptions::max_groups_per_principal)"));
      if (diag_.full()) return;
    }
    closure_.insert(closure_.end(), scratch.begin(), scratch.end());
    closure_begin_[p + 1] = closure_.size();
  }
  for (uint32_t g = 0; g < num_groups; ++g) {
    closure_.insert(closure_.end(), ancestors[g].begin(), ancestors[g].end());
    closure_begin_[num_principals + g + 1] = closure_.size();
  }
}

}  // namespace internal
}  // namespace arbiter
